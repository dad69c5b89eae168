// Engine benchmarks: GEMM throughput at the FedMultimodal shapes on the active backend against the
// TypeScript reference, and one training step (forward + backward + SGD) of a GRU classifier.
import { Bench } from 'tinybench';
import { backendInfo, kernels, referenceKernels, setKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import * as F from '../src/nn/functional.js';
import { GRU } from '../src/nn/gru.js';
import { Linear } from '../src/nn/linear.js';
import { Module } from '../src/nn/module.js';
import { SGD } from '../src/optim/sgd.js';
import { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor/tensor.js';

interface GemmShape {
  label: string;
  M: number;
  N: number;
  K: number;
  transB: boolean;
}

const GEMM_SHAPES: GemmShape[] = [
  { label: '64² · 64²', M: 64, N: 64, K: 64, transB: false },
  { label: '512² · 512²', M: 512, N: 512, K: 512, transB: false },
  { label: 'GRU input [16·128, 128]·[128, 384]ᵀ', M: 16 * 128, N: 384, K: 128, transB: true },
  { label: 'conv im2col [16·64, 32·5]·[32·5, 64]', M: 16 * 64, N: 64, K: 32 * 5, transB: false },
];

/** Mean latency in ms of `fn` over at least `iterations` runs and `timeMs`. */
async function measure(fn: () => void, timeMs = 400, iterations = 5): Promise<number> {
  const bench = new Bench({ time: timeMs, iterations, warmupIterations: 2 });
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

async function gemmGflops(k: Kernels, s: GemmShape): Promise<number> {
  const rng = new Rng(1);
  const a = randomArray(s.M * s.K, rng);
  const b = randomArray(s.K * s.N, rng);
  const c = new Float32Array(s.M * s.N);
  const ms = await measure(() => k.gemm(false, s.transB, s.M, s.N, s.K, 1, a, b, 0, c));
  return (2 * s.M * s.N * s.K) / (ms * 1e6);
}

/** The benchmark model: a GRU over [B, T, I] and a linear head on the last hidden state. */
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

/** ms per training step: batch 32, 50 steps, 40 features, hidden 64, 10 classes, SGD on the flat buffers. */
async function gruStepMs(): Promise<number> {
  const B = 32, T = 50, I = 40, H = 64, C = 10;
  const rng = new Rng(2);
  const model = new GruClassifier(I, H, C, rng);
  model.flatten();
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = Tensor.randn([B, T, I], { rng });
  const lengths = Int32Array.from({ length: B }, () => 1 + rng.int(T));
  const y = Int32Array.from({ length: B }, () => rng.int(C));
  return measure(() => {
    opt.zeroGrad();
    F.crossEntropy(model.forward(x, lengths), y).backward();
    opt.step();
  }, 1000, 5);
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
