// Engine benchmarks: GEMM throughput at the FedMultimodal shapes on the active backend against the
// TypeScript reference, and one training step (forward + backward + SGD) of a GRU classifier.
import { backendInfo, kernels, referenceKernels, setKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { gemmThroughput, type GemmShape } from '../src/bench/measure.js';
import { Rng } from '../src/random.js';
import { gruTrainStep, meanMs } from './common.js';

const GEMM_SHAPES: (GemmShape & { label: string })[] = [
  { label: '64² · 64²', M: 64, N: 64, K: 64, transB: false },
  { label: '512² · 512²', M: 512, N: 512, K: 512, transB: false },
  { label: 'GRU input [16·128, 128]·[128, 384]ᵀ', M: 16 * 128, N: 384, K: 128, transB: true },
  { label: 'conv im2col [16·64, 32·5]·[32·5, 64]', M: 16 * 64, N: 64, K: 32 * 5, transB: false },
];

async function gemmGflops(k: Kernels, s: GemmShape): Promise<number> {
  return (await gemmThroughput(k, s, new Rng(1), (fn) => meanMs(fn, 400, 5, 2))).gflops;
}

/** ms per training step of the GRU classifier (packed lengths) on the active kernels. */
async function gruStepMs(): Promise<number> {
  return meanMs(gruTrainStep(new Rng(2), true), 1000, 5, 2);
}

export async function run(): Promise<void> {
  const active = kernels();
  const reference = referenceKernels();
  const info = backendInfo();
  console.log(`engine: active backend ${info.name} (${info.variant}) vs TypeScript reference`);
  const rows: Record<string, string | number>[] = [];
  for (const s of GEMM_SHAPES) {
    const ref = await gemmGflops(reference, s);
    const act = active === reference ? ref : await gemmGflops(active, s);
    rows.push({ matmul: s.label, 'reference GFLOP/s': +ref.toFixed(2), 'active GFLOP/s': +act.toFixed(2), ratio: +(act / ref).toFixed(2) });
  }
  console.table(rows);
  const activeMs = await gruStepMs();
  let referenceMs = activeMs;
  if (active !== reference) {
    setKernels(reference);
    try {
      referenceMs = await gruStepMs();
    } finally {
      setKernels(active);
    }
  }
  console.table([{
    'GRU train step (B32 T50 I40 H64 C10, SGD)': 'ms',
    reference: +referenceMs.toFixed(1), active: +activeMs.toFixed(1), speedup: +(referenceMs / activeMs).toFixed(2),
  }]);
}
