// Parity of the batched device path (kernels/batched-*.ts) with the CPU path, on tiny UCI-HAR models: every
// client of a chunk must end where src/fl/local.ts's trainLocal takes it on the TypeScript reference kernels (same
// batches, shuffles and dropout masks), and the device fold must equal the float64 fold of the same updates.
// Shared by the vitest suite (test/gpu-batched.test.ts, gpu.js's cpu fallback) and the device check
// (bench/gpu-check.ts, the real GPU), so both run exactly the same cases.
//
// Tolerance: max |batched − cpu| ≤ 1e-4 · (the largest |Δ| of the CPU update) + 1e-7 per client: float32 sums
// in another order, over a few SGD steps. Cases cover hidden sizes 3–5, inputs of 8, 16 and 24 steps (1, 2 and
// 3 GRU steps), one and two modalities, C = 1…3 with different sample and batch counts (partial last batches,
// clients idle in the tail steps), FedProx, two epochs, no momentum and no clipping, FedRS's class scales.
import { BatchedTrainer, type ChunkClient, type ChunkResult } from '../kernels/batched-model.js';
import type { ModeRequest } from '../kernels/device-host.js';
import { setKernels } from '../src/backend/index.js';
import { jsKernels } from '../src/backend/js/index.js';
import type { Batch } from '../src/data/types.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { trainLocal } from '../src/fl/local.js';
import { fedProx } from '../src/fl/strategies/fedprox.js';
import { fedRS } from '../src/fl/strategies/fedrs.js';
import type { ClientContext, LocalTrainConfig } from '../src/fl/strategy.js';
import type { TaskData } from '../src/fl/task.js';
import { Rng } from '../src/random.js';

export const REL_TOL = 1e-4;

export interface BatchedCase {
  readonly name: string;
  readonly dHid: number;
  /** Input steps per modality. */
  readonly steps: number;
  readonly modalities?: number[];
  /** Samples per client (capped at the client's size). */
  readonly sizes: number[];
  readonly local: LocalTrainConfig;
  /** FedProx's μ (0: FedAvg). */
  readonly mu: number;
  /** FedRS's α (absent: plain logits). */
  readonly alpha?: number;
}

export interface BatchedParityResult {
  readonly name: string;
  /** max over clients of max|batched − cpu| / (REL_TOL · max|Δ_cpu| + 1e-7); ≤ 1 passes. */
  readonly worst: number;
  /** Steps and losses agree (steps exactly, losses to 1e-4 relative), and the CPU update moved the weights. */
  readonly ok: boolean;
  readonly detail: string;
}

const LOCAL: LocalTrainConfig = { epochs: 1, batchSize: 4, lr: 0.05, momentum: 0.9, weightDecay: 1e-4, gradClip: 1 };

export const BATCHED_CASES: readonly BatchedCase[] = [
  { name: 'C = 1, hidden 4, 16 steps (2 GRU steps)', dHid: 4, steps: 16, sizes: [6], local: LOCAL, mu: 0 },
  { name: 'C = 3 with 9, 4 and 1 samples (3, 1, 1 batches), hidden 3, 8 steps (1 GRU step)', dHid: 3, steps: 8, sizes: [9, 4, 1], local: LOCAL, mu: 0 },
  { name: 'C = 2, hidden 5, 24 steps (3 GRU steps), one modality', dHid: 5, steps: 24, modalities: [1], sizes: [5, 8], local: LOCAL, mu: 0 },
  { name: 'C = 2, FedProx μ 0.5, two epochs, no momentum, no clipping', dHid: 4, steps: 16, sizes: [5, 3], local: { ...LOCAL, epochs: 2, momentum: 0, gradClip: 0 }, mu: 0.5 },
  { name: 'C = 3, FedRS α 0.3 (clients missing classes)', dHid: 4, steps: 16, sizes: [7, 3, 2], local: LOCAL, mu: 0, alpha: 0.3 },
];

export function tinyTask(c: Pick<BatchedCase, 'dHid' | 'steps' | 'modalities'>): FedMultimodalTask {
  return new FedMultimodalTask({
    kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.02, seed: 3, dHid: c.dHid,
    maxLen: { acc: c.steps, gyro: c.steps }, ...(c.modalities ? { modalities: c.modalities } : {}),
  });
}

/** A client's data cut to its first n samples (different sample and batch counts per client), batched like a ClientDataset. */
export function firstSamples(data: TaskData<Batch>, n: number): TaskData<Batch> {
  const size = Math.min(n, data.size);
  const singles = [...data.batches(1)].slice(0, size);
  return {
    size,
    labelHistogram: data.labelHistogram,
    batches(batchSize: number, rng?: Rng): Iterable<Batch> {
      const order = rng ? rng.permutation(size) : null;
      const out: Batch[] = [];
      for (let s = 0; s < size; s += batchSize) {
        const picked: Batch[] = [];
        for (let k = s; k < Math.min(size, s + batchSize); k++) picked.push(singles[order ? order[k] : k]);
        out.push(join(picked));
      }
      return out;
    },
  };
}

/** Single-sample batches joined into one (the same steps per modality). */
function join(bs: Batch[]): Batch {
  return {
    size: bs.length,
    labels: Int32Array.from(bs.flatMap((b) => [...(b.labels as Int32Array)])),
    modalities: bs[0].modalities.map((m, i) => {
      const data = new Float32Array(bs.length * m.T * m.D);
      bs.forEach((b, k) => data.set(b.modalities[i].data, k * m.T * m.D));
      return { T: m.T, D: m.D, data, lengths: Int32Array.from(bs.map((b) => b.modalities[i].lengths[0])) };
    }),
  };
}

export interface CaseRun {
  readonly res: ChunkResult;
  readonly cpu: { params: Float32Array; loss: number; steps: number }[];
  readonly global: Float32Array;
  readonly clients: ChunkClient[];
}

/** One case on both paths: the chunk on `trainer`'s mode, each client through trainLocal on the reference kernels. */
export function runBatchedCase(c: BatchedCase, mode: ModeRequest): CaseRun {
  const task = tinyTask(c);
  const trainer = new BatchedTrainer(task.createModule(), mode);
  const global = task.createModel(new Rng(7)).params.slice();
  const ids = task.data.activeClients.slice(0, c.sizes.length);
  const { local } = c;
  const params: Record<string, number> = c.alpha !== undefined ? { alpha: c.alpha } : { mu: c.mu };
  const hooks = c.alpha !== undefined ? fedRS.client : c.mu > 0 ? fedProx.client : {};
  const contextOf = (clientId: number, data: TaskData<Batch>): ClientContext => ({
    round: 2, clientId, numClasses: task.numClasses, labelHistogram: data.labelHistogram, global, broadcast: {}, state: null, local, params,
  });
  const clients: ChunkClient[] = ids.map((id, i) => {
    const data = firstSamples(task.data.client(id), c.sizes[i]);
    return { clientId: id, data, weight: 1 + i, classScale: hooks.classScale?.(contextOf(id, data)) ?? null };
  });
  const res = trainer.train(trainer.plan(clients[0].data), clients, {
    seed: 5, round: 2, epochs: local.epochs, batchSize: local.batchSize, global, returnWeights: true,
    local: { lr: local.lr, momentum: local.momentum, weightDecay: local.weightDecay, gradClip: local.gradClip, mu: c.mu },
  });
  const previous = setKernels(jsKernels);
  try {
    const cpu = clients.map((cl) => {
      const model = task.createModel(new Rng(99));
      const r = trainLocal(model, cl.data, contextOf(cl.clientId, cl.data), hooks, new Rng(5).fork(`local/2/${cl.clientId}`), new Float32Array(global.length));
      return { params: model.params.slice(), loss: r.loss, steps: r.steps };
    });
    return { res, cpu, global, clients };
  } finally {
    setKernels(previous);
  }
}

/** Every case on `mode`, plus the device fold against the float64 fold of the same client weights. */
export function runBatchedParity(mode: ModeRequest, cases: readonly BatchedCase[] = BATCHED_CASES): BatchedParityResult[] {
  const out: BatchedParityResult[] = [];
  for (const c of cases) {
    const { res, cpu, global, clients } = runBatchedCase(c, mode);
    const P = global.length;
    let worst = 0;
    let moved = true;
    let agree = true;
    cpu.forEach((want, i) => {
      let maxDelta = 0;
      let maxErr = 0;
      for (let k = 0; k < P; k++) {
        maxDelta = Math.max(maxDelta, Math.abs(want.params[k] - global[k]));
        maxErr = Math.max(maxErr, Math.abs(res.weights![i * P + k] - want.params[k]));
      }
      moved &&= maxDelta > 1e-4;
      worst = Math.max(worst, maxErr / (REL_TOL * maxDelta + 1e-7));
      agree &&= res.clients[i].steps === want.steps && Math.abs(res.clients[i].loss - want.loss) <= 1e-4 * Math.abs(want.loss);
    });
    // The device fold against the float64 fold of the client weights the device returned.
    const fold = new Float64Array(P);
    clients.forEach((cl, i) => {
      for (let k = 0; k < P; k++) fold[k] += cl.weight * (res.weights![i * P + k] - global[k]);
    });
    let scale = 0;
    let foldErr = 0;
    for (let k = 0; k < P; k++) {
      scale = Math.max(scale, Math.abs(fold[k]));
      foldErr = Math.max(foldErr, Math.abs(res.folded[k] - fold[k]));
    }
    const foldWorst = foldErr / (1e-5 * scale + 1e-7);
    const weightsOk = res.weightSum === clients.reduce((s, cl) => s + cl.weight, 0);
    out.push({
      name: c.name, worst: Math.max(worst, foldWorst), ok: worst <= 1 && foldWorst <= 1 && moved && agree && weightsOk,
      detail: `weights ${worst.toExponential(2)} of tol, fold ${foldWorst.toExponential(2)} of tol${moved ? '' : ', CPU update did not move'}${agree ? '' : ', steps or loss differ'}${weightsOk ? '' : ', fold weight differs'}`,
    });
  }
  return out;
}
