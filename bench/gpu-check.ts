// The device check (bench/gpu-check.sh runs it): probes the GPU, runs every parity case on the gpu backend
// in the mode it got (WebGPU on a GPU machine), then measures against the CPU baseline in the same run —
// the native addon where it loads, else the TypeScript reference:
//   gemm GFLOP/s, one GRU-classifier training step, and the weighted accumulation of client updates.
// Every gpu figure goes through the Kernels interface, so it includes the host↔device copies the interface
// forces. Exit status 1 if any parity case fails.
import { Bench } from 'tinybench';
import { setKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { jsKernels } from '../src/backend/js/index.js';
import { nativeKernels } from '../src/backend/native.js';
import { nativeAggregateOps, referenceAggregateOps, type AggregateOps } from '../src/aggregate/ops.js';
import * as F from '../src/nn/functional.js';
import { GRU } from '../src/nn/gru.js';
import { Linear } from '../src/nn/linear.js';
import { Module } from '../src/nn/module.js';
import { SGD } from '../src/optim/sgd.js';
import { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { createGpuKernels, probeGpu, type GpuKernels } from '../kernels/index.js';
import { runParity } from './gpu-parity.js';

/** Mean latency in ms of `fn` over at least `iterations` runs and `timeMs`. */
async function measure(fn: () => void, timeMs = 300, iterations = 3): Promise<number> {
  const bench = new Bench({ time: timeMs, iterations, warmupIterations: 1 });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench: task ended in state ${r.state}`);
  return r.latency.mean;
}

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

const GEMM_SHAPES = [
  { label: '64² · 64²', M: 64, N: 64, K: 64, transB: false },
  { label: '512² · 512²', M: 512, N: 512, K: 512, transB: false },
  { label: '1024² · 1024²', M: 1024, N: 1024, K: 1024, transB: false },
  { label: '2048² · 2048²', M: 2048, N: 2048, K: 2048, transB: false },
  { label: 'GRU input [16·128, 128]·[128, 384]ᵀ', M: 16 * 128, N: 384, K: 128, transB: true },
];

async function gemmGflops(k: Kernels, s: (typeof GEMM_SHAPES)[number]): Promise<number> {
  const rng = new Rng(1);
  const a = randomArray(s.M * s.K, rng);
  const b = randomArray(s.K * s.N, rng);
  const c = new Float32Array(s.M * s.N);
  const ms = await measure(() => k.gemm(false, s.transB, s.M, s.N, s.K, 1, a, b, 0, c));
  return (2 * s.M * s.N * s.K) / (ms * 1e6);
}

/** A GRU over [B, T, I] and a linear head on the last hidden state (the engine benchmark's model). */
class GruClassifier extends Module {
  readonly gru: GRU;
  readonly head: Linear;
  constructor(inputSize: number, hidden: number, classes: number, rng: Rng) {
    super();
    this.gru = this.registerModule('gru', new GRU(inputSize, hidden, { batchFirst: true, rng }));
    this.head = this.registerModule('head', new Linear(hidden, classes, { rng }));
  }
  forward(x: Tensor, lengths: Int32Array): Tensor {
    const [, hN] = this.gru.forward(x, lengths);
    return this.head.forward(hN.reshape([x.shape[0], this.gru.hiddenSize]));
  }
}

/** ms per training step on `k`: batch 32, 50 steps, 40 features, hidden 64, 10 classes, SGD with momentum. */
async function gruStepMs(k: Kernels): Promise<number> {
  const previous = setKernels(k);
  try {
    const B = 32, T = 50, I = 40, H = 64, C = 10;
    const rng = new Rng(2);
    const model = new GruClassifier(I, H, C, rng);
    model.flatten();
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const x = Tensor.randn([B, T, I], { rng });
    const lengths = Int32Array.from({ length: B }, () => 1 + rng.int(T));
    const y = Int32Array.from({ length: B }, () => rng.int(C));
    return await measure(() => {
      opt.zeroGrad();
      F.crossEntropy(model.forward(x, lengths), y).backward();
      opt.step();
    }, 1000, 3);
  } finally {
    setKernels(previous);
  }
}

/** GB/s of reading `clients` updates of P floats into one weighted sum, on the gpu and on the baseline. */
async function accumulateGBps(gpu: GpuKernels, ops: AggregateOps, clients: number, P: number): Promise<[number, number]> {
  const rng = new Rng(3);
  const updates = Array.from({ length: clients }, () => randomArray(P, rng));
  const weights = Array.from({ length: clients }, () => rng.uniform(0, 1));
  const acc = new Float32Array(P);
  const bytes = clients * P * 4;
  const gpuMs = await measure(() => gpu.weightedAccumulate(updates, weights, 0, acc));
  const acc64 = new Float64Array(P);
  const w64 = Float64Array.from(weights);
  const cpuMs = await measure(() => {
    acc64.fill(0);
    ops.fold(acc64, updates, w64, clients);
  });
  return [bytes / (gpuMs * 1e6), bytes / (cpuMs * 1e6)];
}

function baseline(): { kernels: Kernels; ops: AggregateOps; label: string } {
  try {
    const k = nativeKernels();
    return { kernels: k, ops: nativeAggregateOps(), label: `native ${k.variant}` };
  } catch (e) {
    return { kernels: jsKernels, ops: referenceAggregateOps, label: `TypeScript reference (native: ${(e as Error).message})` };
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const probe = probeGpu();
  console.log(`probe: ${probe.available ? 'GPU available' : 'no GPU'} — ${probe.summary}`);
  for (const a of probe.attempts) console.log(`  ${a.ok ? 'ok  ' : 'fail'} ${a.detail}`);

  const gpu = createGpuKernels('auto');
  console.log(`gpu backend: variant ${gpu.variant}${gpu.adapter ? ` on ${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`.trimEnd() : ''}`);

  const t0 = performance.now();
  const parity = runParity(gpu);
  const failed = parity.filter((r) => !r.ok);
  for (const r of parity) {
    console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.worst.toExponential(2)} of tol, max|Δ| ${r.maxAbs.toExponential(2)}  ${r.name}`);
  }
  console.log(`parity: ${parity.length - failed.length}/${parity.length} cases within tolerance on ${gpu.variant} (${((performance.now() - t0) / 1000).toFixed(1)} s incl. kernel compiles)`);
  const compiles = gpu.compiles();
  const total = compiles.reduce((s, c) => s + c.firstCallMs, 0);
  console.log(`kernel compiles: ${compiles.length}, first calls ${total.toFixed(0)} ms in all; slowest: ${[...compiles]
    .sort((a, b) => b.firstCallMs - a.firstCallMs).slice(0, 3).map((c) => `${c.kernel} ${c.firstCallMs.toFixed(0)} ms`).join(', ')}`);

  const base = baseline();
  console.log(`baseline: ${base.label}`);
  const rows: Record<string, string | number>[] = [];
  // gpu.js's cpu fallback runs the kernels as plain JavaScript: the large shapes would take minutes there.
  const shapes = gpu.mode === 'cpu' ? GEMM_SHAPES.filter((s) => s.M * s.N * s.K <= 512 ** 3) : GEMM_SHAPES;
  for (const s of shapes) {
    const g = await gemmGflops(gpu, s);
    const b = await gemmGflops(base.kernels, s);
    rows.push({ gemm: s.label, 'gpu GFLOP/s': +g.toFixed(2), 'baseline GFLOP/s': +b.toFixed(2), ratio: +(g / b).toFixed(2) });
  }
  console.table(rows);

  const gpuStep = await gruStepMs(gpu);
  const baseStep = await gruStepMs(base.kernels);
  console.table([{ 'GRU train step (B32 T50 I40 H64 C10, SGD)': 'ms', gpu: +gpuStep.toFixed(1), baseline: +baseStep.toFixed(1),
    'gpu speedup': +(baseStep / gpuStep).toFixed(2) }]);

  const accRows: Record<string, string | number>[] = [];
  for (const [clients, P] of [[10, 100_000], [100, 100_000]]) {
    const [g, b] = await accumulateGBps(gpu, base.ops, clients, P);
    accRows.push({ accumulate: `${clients} clients × ${P} params`, 'gpu GB/s': +g.toFixed(2), 'baseline GB/s': +b.toFixed(2), ratio: +(g / b).toFixed(2) });
  }
  console.table(accRows);
  console.log(`gpu-check: done in ${((performance.now() - started) / 1000).toFixed(1)} s; ${failed.length} parity failure(s)`);
  gpu.close();
  if (failed.length > 0) process.exitCode = 1;
}

await main();
