// Linear → activation (→ dropout) as one differentiable op over the linearForward/linearBackward kernels.
import type { Activation } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import type { Rng } from '../../random.js';
import { addGrad, allocKernelOutput, makeOutput, resultDtype, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';
import { dataIn } from './dtype.js';
import { checkDropoutProbability, dropoutMask } from './dropout.js';

/** Dropout applied inside a fused op: probability p drawn from rng (only in training mode). */
export interface FusedDropout {
  p: number;
  training: boolean;
  rng: Rng;
}

/**
 * y[..., out] = dropout(act(x[..., in] · w[out, in]ᵀ + b[out])) — PyTorch's Linear, then ReLU or Tanh, then
 * Dropout, as one kernel call each way.
 */
export function linearAct(x: Tensor, w: Tensor, b: Tensor | null, act: Activation, drop: FusedDropout | null = null): Tensor {
  if (w.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${shapeString(w.shape)}`);
  const [N, K] = w.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== K) {
    throw new Error(`linear: input ${shapeString(x.shape)} does not end in ${K} features (weight ${shapeString(w.shape)})`);
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== N)) throw new Error(`linear: bias of shape ${shapeString(b.shape)}, expected [${N}]`);
  if (drop) checkDropoutProbability(drop.p);
  const M = x.size / K;
  const inputs = b ? [x, w, b] : [x, w];
  const dtype = resultDtype(...inputs);
  const xd = dataIn(x, dtype);
  const wd = dataIn(w, dtype);
  const bd = b ? dataIn(b, dtype) : null;
  const mask = drop && drop.training && drop.p > 0 ? dropoutMask(dtype, M * N, drop.p, drop.rng) : null;
  const y = allocKernelOutput(dtype, M * N);
  const out = mask ? allocKernelOutput(dtype, M * N) : y;
  const k = kernels();
  k.linearForward(xd, wd, bd, act, mask, y, out, M, N, K);
  return makeOutput(out, [...x.shape.slice(0, -1), N], inputs, (g) => {
    const gx = x.requiresGrad ? allocKernelOutput(dtype, x.size) : null;
    const gw = w.requiresGrad ? allocKernelOutput(dtype, w.size) : null;
    const gb = b?.requiresGrad ? allocKernelOutput(dtype, N) : null;
    k.linearBackward(xd, wd, y, act, mask, g, gx, gw, gb, M, N, K);
    if (gx) addGrad(x, gx, true);
    if (gw) addGrad(w, gw, true);
    if (gb && b) addGrad(b, gb, true);
  });
}
