// One training step (forward + backward + SGD with momentum) of a GRU classifier — GRU 40 → 64 over a batch
// of 32 × 50 steps, linear head to 10 classes, cross-entropy — on fedmm's native and TypeScript backends,
// side by side with TensorFlow.js on its WebAssembly backend (same model sizes, batch and optimizer, same run).
// All sequences use the full 50 steps here (tfjs has no packed sequences); a second fedmm row uses random
// lengths 1..50, the packed case. tfjs's GRU supports only reset_after = false (reset gate before the
// recurrent matmul): the same matmul sizes and gate count as PyTorch's form.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';
import { backendInfo, kernels, useBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/backend/kernels.js';
import { addonBuilt } from '../src/backend/native.js';
import * as F from '../src/nn/functional.js';
import { GRU } from '../src/nn/gru.js';
import { Linear } from '../src/nn/linear.js';
import { Module } from '../src/nn/module.js';
import { SGD } from '../src/optim/sgd.js';
import { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const B = 32, T = 50, I = 40, H = 64, C = 10;

async function meanMs(fn: () => unknown | Promise<unknown>, timeMs: number, iterations: number): Promise<number> {
  const bench = new Bench({ time: timeMs, iterations, warmupIterations: 2 });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench: task ended in state ${r.state}`);
  return r.latency.mean;
}

class GruClassifier extends Module {
  readonly gru: GRU;
  readonly head: Linear;
  constructor(rng: Rng) {
    super();
    this.gru = this.registerModule('gru', new GRU(I, H, { batchFirst: true, rng }));
    this.head = this.registerModule('head', new Linear(H, C, { rng }));
  }
  forward(x: Tensor, lengths: Int32Array | null): Tensor {
    const [, hN] = this.gru.forward(x, lengths);
    return this.head.forward(hN.reshape([B, H]));
  }
}

async function fedmmStepMs(backend: BackendName, packed: boolean): Promise<number> {
  const previous = kernels().name;
  useBackend(backend);
  try {
    const rng = new Rng(7);
    const model = new GruClassifier(rng);
    model.flatten();
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const x = Tensor.randn([B, T, I], { rng });
    const lengths = packed ? Int32Array.from({ length: B }, () => 1 + rng.int(T)) : null;
    const y = Int32Array.from({ length: B }, () => rng.int(C));
    return await meanMs(() => {
      opt.zeroGrad();
      F.crossEntropy(model.forward(x, lengths), y).backward();
      opt.step();
    }, backend === 'js' ? 3000 : 1500, 5);
  } finally {
    useBackend(previous);
  }
}

/** The tfjs wasm build in use, e.g. 'SIMD, 1 thread' (set by tfjsStepMs). */
let tfjsFlavour = '';

/** ms per step on tfjs-backend-wasm (one thread), or a reason it could not run. */
async function tfjsStepMs(): Promise<number | string> {
  let tf: typeof import('@tensorflow/tfjs');
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return `tfjs not installed (${(e as Error).message.split('\n')[0]})`;
  }
  const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(join(wasmDir, '/'));
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) return 'tfjs wasm backend failed to initialise';
  await tf.ready();
  if (tf.getBackend() !== 'wasm') return `tfjs runs on '${tf.getBackend()}', not wasm`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  tfjsFlavour = `${simd ? 'SIMD' : 'no SIMD'}, ${wasm.getThreadsCount()} thread(s)`;
  const model = tf.sequential();
  model.add(tf.layers.gru({ units: H, inputShape: [T, I] }));
  model.add(tf.layers.dense({ units: C }));
  const opt = tf.train.momentum(0.05, 0.9);
  const x = tf.randomNormal([B, T, I], 0, 1, 'float32', 7);
  const labels = tf.tensor1d(Int32Array.from({ length: B }, (_, i) => (i * 7) % C), 'int32');
  const y = tf.oneHot(labels, C);
  const step = (): void => {
    tf.tidy(() => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar);
    });
  };
  const ms = await meanMs(step, 3000, 5);
  return ms;
}

export async function run(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  const nativeOk = addonBuilt();
  const nativeMs = nativeOk ? await fedmmStepMs('native', false) : NaN;
  const isa = nativeOk ? (useBackend('native'), backendInfo().variant) : 'not built';
  const jsMs = await fedmmStepMs('js', false);
  const tf = await tfjsStepMs();
  const tfMs = typeof tf === 'number' ? tf : NaN;
  const row = (name: string, ms: number): Record<string, string | number> => ({
    'GRU classifier train step (B32 T50 I40 H64 C10)': name,
    'ms/step': +ms.toFixed(2),
    'speed-up vs tfjs-wasm': Number.isNaN(tfMs) ? '—' : +(tfMs / ms).toFixed(2),
    'speed-up vs fedmm js': +(jsMs / ms).toFixed(2),
  });
  if (nativeOk) rows.push(row(`fedmm native (${isa})`, nativeMs));
  rows.push(row('fedmm js (TypeScript)', jsMs));
  if (typeof tf === 'number') rows.push(row(`tfjs 4.22 wasm (${tfjsFlavour})`, tfMs));
  else console.log(`gru-train: ${tf}`);
  if (nativeOk) rows.push(row('fedmm native, packed lengths 1..50', await fedmmStepMs('native', true)));
  console.table(rows);
}
