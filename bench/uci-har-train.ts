// The real UCI-HAR model's training cost: one train step (forward, backward, SGD, batch 16) and one client
// update (FedAvg local epoch over a client of the paper's shards, ≈ 56 windows = 4 steps), on the active
// backend, side by side with the same run's GEMM peak (512³ SGEMM) so that the distance to the FLOP limit is
// a ratio measured in the same period on the same (shared) core. Each is timed twice: wall latency (tinybench)
// and process CPU time per call (steadier when other jobs share the cores).
//
// Data: FEDMM_UCI_HAR (default ../shared/data/uci-har from the repository root). Run:
//   npm run build && node dist/bench/run.js uci-har-train
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { backendInfo, kernels } from '../src/backend/index.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { trainLocal } from '../src/fl/local.js';
import type { ClientContext } from '../src/fl/strategy.js';
import { Rng } from '../src/random.js';
import { meanMs } from './common.js';

/** Multiply-adds ×2 of one forward pass of the UCI-HAR attention model per sample (T = 128, 2 modalities). */
function forwardFlopsPerSample(): number {
  const T = 128;
  let flops = 0;
  for (let m = 0; m < 2; m++) {
    let L = T;
    let cin = 3;
    for (const cout of [32, 64, 128]) {
      flops += 2 * cout * cin * 5 * L;
      L = Math.floor(L / 2);
      cin = cout;
    }
    const H = 128;
    flops += 2 * L * (3 * H * cin + 3 * H * H); // GRU over 16 steps
  }
  const steps = 2 * Math.floor(T / 8);
  flops += 2 * steps * (128 * 512 + 512 * 6); // attention scoring MLP
  flops += 2 * 6 * steps * 128; // weighted sum
  flops += 2 * (768 * 64 + 64 * 6); // head
  return flops;
}

/** Training ≈ 3× the forward (forward + input gradient + weight gradient). */
export function trainFlops(samples: number): number {
  return 3 * forwardFlopsPerSample() * samples;
}

export async function run(): Promise<void> {
  const dir = resolve(process.env.FEDMM_UCI_HAR ?? '../shared/data/uci-har');
  if (!existsSync(dir)) throw new Error(`uci-har-train: no UCI-HAR data at ${dir} (set FEDMM_UCI_HAR)`);
  const task = new FedMultimodalTask({
    kind: 'fedmultimodal', dataset: 'uci-har', source: { kind: 'uci-har', path: dir }, partitionRng: 'numpy',
  });
  // The client whose training split is closest to 56 windows (the paper's shards average ≈ 56 at α 5.0).
  let clientId = task.data.activeClients[0];
  for (const c of task.data.activeClients) {
    if (Math.abs(task.clientData(c).size - 56) < Math.abs(task.clientData(clientId).size - 56)) clientId = c;
  }
  const data = task.clientData(clientId);
  const model = task.createModel(new Rng(3));
  const global = model.params.slice();
  const momentum = new Float32Array(model.params.length);
  const batch = data.batches(16)[Symbol.iterator]().next().value;
  if (!batch || batch.size !== 16) throw new Error('uci-har-train: the chosen client has fewer than 16 samples');
  const sgd = kernels().sgdStep;
  const rng = new Rng(4);
  const step = () => {
    model.lossAndGrad(batch, { classScale: null, rng });
    sgd(model.params, model.grads, momentum, { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-5, hasMomentumBuffer: true });
  };
  const ctx: ClientContext = {
    round: 0, clientId, numClasses: task.numClasses, labelHistogram: data.labelHistogram, global, broadcast: {}, state: null,
    local: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 1e-5, gradClip: 10 }, params: {},
  };
  let updates = 0;
  const update = () => trainLocal(model, data, ctx, {}, new Rng(1000 + updates++), momentum);

  /** Process CPU ms (user + system) per call of fn over n calls. */
  const cpuMs = (fn: () => unknown, n: number): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / n;
  };
  const repeats = Number(process.env.FEDMM_BENCH_REPEATS ?? 3);
  const info = backendInfo();
  console.log(`uci-har-train: backend ${info.name} (${info.variant}), client ${clientId} with ${data.size} windows (${Math.ceil(data.size / 16)} steps), P = ${model.params.length}`);
  const rows: Record<string, string | number>[] = [];
  const gemmA = new Float32Array(512 * 512).fill(0.5);
  const gemmC = new Float32Array(512 * 512);
  const gemm = () => kernels().gemm(false, false, 512, 512, 512, 1, gemmA, gemmA, 0, gemmC);
  const gemmFlops = 2 * 512 ** 3;
  for (let r = 0; r < repeats; r++) {
    // The same run's GEMM peak, wall and CPU, gives the FLOP limit each figure is compared with.
    const peakWall = gemmFlops / ((await meanMs(gemm, 300, 5, 2)) * 1e6);
    const peakCpu = gemmFlops / (cpuMs(gemm, 20) * 1e6);
    const stepMs = await meanMs(step, 1500, 10, 3);
    const stepCpu = cpuMs(step, 20);
    const updateMs = await meanMs(update, 1500, 5, 1);
    const updateCpu = cpuMs(update, 10);
    const limit = (samples: number, gflops: number) => trainFlops(samples) / (gflops * 1e6);
    rows.push({
      repeat: r + 1, 'SGEMM GFLOP/s wall': +peakWall.toFixed(1), 'SGEMM GFLOP/s CPU': +peakCpu.toFixed(1),
      'step ms': +stepMs.toFixed(2), 'step / limit': +(stepMs / limit(16, peakWall)).toFixed(2),
      'step CPU ms': +stepCpu.toFixed(2), 'step CPU / limit': +(stepCpu / limit(16, peakCpu)).toFixed(2),
      'update ms': +updateMs.toFixed(1), 'update / limit': +(updateMs / limit(data.size, peakWall)).toFixed(2),
      'update CPU ms': +updateCpu.toFixed(1), 'update CPU / limit': +(updateCpu / limit(data.size, peakCpu)).toFixed(2),
    });
  }
  console.table(rows);
  console.log(`train FLOP: ${(trainFlops(16) / 1e9).toFixed(3)} G per step of 16, ${(trainFlops(data.size) / 1e9).toFixed(3)} G per update`);
}
