// Local training of one client, as FedMultimodal: for each epoch, for each shuffled mini-batch:
//   grads = ∂loss/∂w  →  clip to global L2 norm gradClip  →  strategy term (FedProx, SCAFFOLD)  →
//   PyTorch SGD step (weight decay, momentum; a fresh momentum buffer per client and round).
import { kernels } from '../backend/index.js';
import { clipGradBuffers } from '../optim/clip.js';
import type { Rng } from '../random.js';
import type { ClientContext, ClientHooks, LocalTrainConfig } from './strategy.js';
import type { SizedBatch, TaskData, TrainableModel } from './task.js';

export interface LocalResult {
  /** SGD steps taken (K). */
  readonly steps: number;
  /** Sample-weighted mean training loss over the pass. */
  readonly loss: number;
  readonly numSamples: number;
}

/**
 * PyTorch's clip_grad_norm_ over one flat buffer: if ‖g‖₂ > maxNorm, g ← g · maxNorm/(‖g‖₂ + 1e-6).
 * Returns the norm before clipping. maxNorm 0 only measures.
 */
export function clipGradNorm(grad: Float32Array, maxNorm: number): number {
  return clipGradBuffers([grad], maxNorm > 0 ? maxNorm : Infinity);
}

/** Checks local-training settings; throws a one-line error. */
export function validateLocalConfig(c: LocalTrainConfig): void {
  const fail = (what: string, v: unknown) => {
    throw new Error(`local training: ${what}, got ${String(v)}`);
  };
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) fail('epochs must be an integer ≥ 1', c.epochs);
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 1)) fail('batchSize must be an integer ≥ 1', c.batchSize);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) fail('lr must be > 0', c.lr);
  if (!(c.momentum >= 0 && c.momentum < 1)) fail('momentum must be in [0, 1)', c.momentum);
  if (!(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) fail('weightDecay must be ≥ 0', c.weightDecay);
  if (!(c.gradClip >= 0 && Number.isFinite(c.gradClip))) fail('gradClip must be ≥ 0 (0 disables)', c.gradClip);
}

/**
 * Trains `model` on `data` starting from ctx.global (copied into model.params); the local weights are left
 * in model.params. `momentum` is scratch of length P. `rng` drives shuffling and dropout.
 */
export function trainLocal<B extends SizedBatch>(model: TrainableModel<B>, data: TaskData<B>, ctx: ClientContext, hooks: ClientHooks,
  rng: Rng, momentum: Float32Array): LocalResult {
  const { local } = ctx;
  const params = model.params;
  const grads = model.grads;
  params.set(ctx.global);
  const classScale = hooks.classScale ? hooks.classScale(ctx) : null;
  const shuffle = rng.fork('shuffle');
  const forward = { classScale, rng: rng.fork('dropout') };
  const sgd = kernels().sgdStep;
  let steps = 0;
  let lossSum = 0;
  let seen = 0;
  for (let epoch = 0; epoch < local.epochs; epoch++) {
    for (const batch of data.batches(local.batchSize, shuffle)) {
      const size = batch.size;
      const loss = model.lossAndGrad(batch, forward);
      lossSum += loss * size;
      seen += size;
      clipGradNorm(grads, local.gradClip);
      hooks.adjustGradient?.(grads, params, ctx);
      sgd(params, grads, local.momentum > 0 ? momentum : null, {
        lr: local.lr,
        momentum: local.momentum,
        dampening: 0,
        nesterov: false,
        weightDecay: local.weightDecay,
        hasMomentumBuffer: steps > 0,
      });
      steps++;
    }
  }
  return { steps, loss: seen > 0 ? lossSum / seen : 0, numSamples: data.size };
}
