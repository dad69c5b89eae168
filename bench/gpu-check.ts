// The device check (bench/gpu-check.sh runs it): probes the GPU; runs the batched path's parity cases
// (bench/gpu-batched-parity.ts) and every per-call kernel's parity case on the gpu backend in the mode it got
// (WebGPU on a GPU machine); then measures the batched path — client updates/s of the UCI-HAR model for C in
// {1, 16, 64, 256, 1024} against the CPU path on every core (src/bench/gpu-round.ts, what `fedmm bench --only
// gpu-round` prints) within a time budget — and, through the per-call Kernels interface (host↔device copies on
// every call), gemm GFLOP/s, one GRU-classifier training step and the weighted accumulation of client updates,
// against the CPU baseline in the same run: the native addon where it loads, else the TypeScript reference.
// Exit status 1 if any parity case fails.
import { setKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { jsKernels } from '../src/backend/js/index.js';
import { nativeKernels } from '../src/backend/native.js';
import { nativeAggregateOps, referenceAggregateOps, type AggregateOps } from '../src/aggregate/ops.js';
import { gemmThroughput, randomArray, type GemmShape } from '../src/bench/measure.js';
import { Rng } from '../src/random.js';
import { createGpuKernels, probeGpu, type GpuKernels } from '../kernels/index.js';
import { gruTrainStep, meanMs } from './common.js';
import { runParity } from './gpu-parity.js';
import { runBatchedParity } from './gpu-batched-parity.js';
import { gpuRoundProfile } from '../src/bench/gpu-round.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { resolveRunConfig } from '../src/runtime/config.js';
import { loadBuiltins } from '../src/runtime/plugins.js';

/** Time the batched round measurement may take (larger C values past it are skipped, and say so). */
const GPU_ROUND_BUDGET_MS = 120_000;

/** Mean latency in ms of `fn` over at least 3 runs and 300 ms. */
const measure = (fn: () => void): Promise<number> => meanMs(fn, 300, 3, 1);

const GEMM_SHAPES: (GemmShape & { label: string })[] = [
  { label: '64² · 64²', M: 64, N: 64, K: 64, transB: false },
  { label: '512² · 512²', M: 512, N: 512, K: 512, transB: false },
  { label: '1024² · 1024²', M: 1024, N: 1024, K: 1024, transB: false },
  { label: '2048² · 2048²', M: 2048, N: 2048, K: 2048, transB: false },
  { label: 'GRU input [16·128, 128]·[128, 384]ᵀ', M: 16 * 128, N: 384, K: 128, transB: true },
];

async function gemmGflops(k: Kernels, s: GemmShape): Promise<number> {
  return (await gemmThroughput(k, s, new Rng(1), measure)).gflops;
}

/** ms per training step of the GRU classifier (packed lengths) on `k`. */
async function gruStepMs(k: Kernels): Promise<number> {
  const previous = setKernels(k);
  try {
    return await meanMs(gruTrainStep(new Rng(2), true), 1000, 3, 1);
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
  const [acc64, out64] = [new Float64Array(P), new Float64Array(P)];
  const w64 = Float64Array.from(weights);
  const cpuMs = await measure(() => {
    ops.foldGroup(acc64, out64, updates, w64, clients);
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

  const b0 = performance.now();
  const batched = runBatchedParity('auto');
  for (const r of batched) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.detail}  batched: ${r.name}`);
  const batchedFailed = batched.filter((r) => !r.ok).length;
  console.log(`batched parity: ${batched.length - batchedFailed}/${batched.length} cases within tolerance (${((performance.now() - b0) / 1000).toFixed(1)} s incl. kernel compiles)`);

  await loadBuiltins();
  const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', scale: 1, seed: 0 });
  const config = resolveRunConfig({ dataset: 'uci-har', task: task.spec, algorithm: 'fedavg', workers: 0 });
  const round = await gpuRoundProfile(task, {
    epochs: config.localEpochs, batchSize: config.batchSize, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, gradClip: config.gradClip,
  }, null, (line) => console.log(line), GPU_ROUND_BUDGET_MS);
  console.table(round.figures.map((f) => ({
    C: f.C, chunk: f.chunk, 'updates/s': +f.updatesPerSecond.toFixed(1), 'vs CPU': +(f.updatesPerSecond / round.cpu.updatesPerSecond).toFixed(2),
    'prepare ms': +f.prepareMs.toFixed(0), 'device train ms': +f.trainMs.toFixed(0), 'fold ms': +f.foldMs.toFixed(0), 'transfer ms': +f.transferMs.toFixed(0),
  })));
  console.log(`gpu-round: CPU path ${round.cpu.updatesPerSecond.toFixed(1)} updates/s on ${round.cpu.workers} workers (${round.cpu.kernels}); fixed cost per chunk ${round.fixedMsPerChunk.toFixed(0)} ms (${round.mode})`);

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
  console.log(`gpu-check: done in ${((performance.now() - started) / 1000).toFixed(1)} s; ${batchedFailed} batched and ${failed.length} per-call parity failure(s)`);
  gpu.close();
  if (failed.length + batchedFailed > 0) process.exitCode = 1;
}

await main();
