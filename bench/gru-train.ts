// One training step (forward + backward + SGD with momentum) of a GRU classifier — GRU 40 → 64 over a batch
// of 32 × 50 steps, linear head to 10 classes, cross-entropy — on fedmm's native and TypeScript backends,
// side by side with TensorFlow.js on its WebAssembly backend (same model sizes, batch and optimizer, same run).
// All sequences use the full 50 steps here (tfjs has no packed sequences); a second fedmm row uses random
// lengths 1..50, the packed case. tfjs's GRU supports only reset_after = false (reset gate before the
// recurrent matmul): the same matmul sizes and gate count as PyTorch's form.
import { backendInfo, kernels, useBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/backend/kernels.js';
import { addonBuilt } from '../src/backend/native.js';
import { Rng } from '../src/random.js';
import { GRU_SIZES, gruTrainStep, meanMs } from './common.js';
import { loadTfjs } from './tfjs.js';

const { B, T, I, H, C } = GRU_SIZES;

async function fedmmStepMs(backend: BackendName, packed: boolean): Promise<number> {
  const previous = kernels().name;
  useBackend(backend);
  try {
    return await meanMs(gruTrainStep(new Rng(7), packed), backend === 'js' ? 3000 : 1500, 5, 2);
  } finally {
    useBackend(previous);
  }
}

/** The tfjs wasm build in use, e.g. 'SIMD, 1 thread' (set by tfjsStepMs). */
let tfjsFlavour = '';

/** ms per step on tfjs-backend-wasm (one thread), or a reason it could not run. */
async function tfjsStepMs(): Promise<number | string> {
  const loaded = await loadTfjs();
  if (typeof loaded === 'string') return loaded;
  const { tf } = loaded;
  tfjsFlavour = loaded.flavour;
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
  return meanMs(step, 3000, 5, 2);
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
