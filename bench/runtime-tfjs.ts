// The federated runtime against a peer baseline, in the same run: the same FedAvg workload (UCI-HAR model,
// attention fusion, d_hid 128; 10 clients per round drawn from fedmm's simulated UCI-HAR clients; 1 local
// epoch of SGD, lr 0.05, momentum 0.9, weight decay 1e-5, gradient clipping at L2 norm 10, batch 16;
// sample-weighted averaging; no evaluation) run by fedmm's runtime (Piscina workers, and workers: 0 on the
// main thread) and sequentially by TensorFlow.js on its WebAssembly backend (one thread), on the same
// clients' data in the same batches. Figure: client updates per second over the rounds after the first.
//
// The TF.js model is built from tf.layers and matches fedmm's layer for layer: per modality, 3 × [Conv1d
// k5 pad 2 (im2col + matMul: the wasm backend cannot train tf.layers.conv1d, see conv1dLayer) → ReLU →
// MaxPool(2) → Dropout 0.1] (3 → 32 → 64 → 128 channels, 128 → 16 steps) → GRU 128 → 128 (sigmoid gates;
// tfjs supports only reset_after = false: the reset gate multiplies h before the recurrent matmul and there
// is one bias per gate instead of PyTorch's two, i.e. 3·128 fewer parameters per GRU, same matmul sizes);
// both modalities' steps concatenated [B, 32, 128]; fuse-base attention S = W2·tanh(W1·H) (128 → 512 → 6),
// softmax over time, A·H flattened to 6·128; Linear 768 → 64 → ReLU → Dropout → Linear 64 → 6; softmax
// cross-entropy. All UCI-HAR windows are 128 steps, so fedmm's masks and packed lengths change nothing
// here and the TF.js model needs none. Also reported: process CPU ms per update (all threads), which the
// shared machine's load disturbs less than wall time.
import { loadavg } from 'node:os';
import type * as TF from '@tensorflow/tfjs';
import { backendInfo } from '../src/backend/index.js';
import { createFederatedDataset } from '../src/data/federated.js';
import type { Batch, DataConfig } from '../src/data/types.js';
import { Rng } from '../src/random.js';
import { runFederated, sampleClients, type RoundRecord } from '../src/runtime/scheduler.js';
import { loadTfjs } from './tfjs.js';

const DATA: DataConfig = { seed: 0 };
const TASK = { kind: 'fedmultimodal', dataset: 'uci-har', seed: 0 };
/** 0.1 of UCI-HAR's 105 clients: 10 per round (the published client rate). */
const CLIENT_RATE = 0.1;
const SEED = 1;
const LOCAL = { batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 1e-5, gradClip: 10 };
const T = 128, D = 3, C = 6, D_HID = 128, HEADS = 6;

interface SideResult {
  /** Updates, wall ms and process CPU ms (all threads) of each round. */
  rounds: { updates: number; ms: number; cpuMs: number; trainLoss: number }[];
}

/** CPU ms used by this process (every thread) since an earlier reading. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Updates/s and CPU ms/update over the rounds after the first (all rounds when there is only one). */
function steadyRate(r: SideResult): { rate: number; cpuPerUpdate: number; measured: number } {
  const rounds = r.rounds.length > 1 ? r.rounds.slice(1) : r.rounds;
  const updates = rounds.reduce((a, x) => a + x.updates, 0);
  const ms = rounds.reduce((a, x) => a + x.ms, 0);
  const cpu = rounds.reduce((a, x) => a + x.cpuMs, 0);
  return { rate: (1000 * updates) / ms, cpuPerUpdate: cpu / updates, measured: rounds.length };
}

async function fedmm(rounds: number, workers: number): Promise<SideResult & { numParams: number }> {
  const out: SideResult['rounds'] = [];
  let cpu = process.cpuUsage();
  const onRound = (h: RoundRecord): void => {
    out.push({ updates: h.accepted, ms: h.phases.round, cpuMs: cpuMsSince(cpu), trainLoss: h.trainLoss });
    cpu = process.cpuUsage();
  };
  const r = await runFederated({
    task: TASK, algorithm: 'fedavg', rounds, clientRate: CLIENT_RATE, workers, evalEvery: 0, seed: SEED,
    localEpochs: 1, ...LOCAL,
  }, { onRound });
  return { numParams: r.weights.length, rounds: out };
}

const KERNEL = 5;

/**
 * A Conv1d layer (kernel 5, padding 2, stride 1) + ReLU as im2col and one matmul:
 * x[B, T, Cin] → pad time by 2 → 5 shifted [B, T, Cin] slices concatenated → [B·T, 5·Cin] · W[5·Cin, Cout] + b
 * → ReLU → [B, T, Cout]. tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter kernel, so tf.layers.conv1d
 * cannot be trained on it; pad, slice, concat and matMul all have wasm kernels and gradients. Initialised as
 * PyTorch's Conv1d: U(±1/√(Cin·5)) for weight and bias.
 */
function conv1dLayer(tf: typeof TF, cin: number, cout: number): TF.layers.Layer {
  class Conv1dIm2col extends tf.layers.Layer {
    static readonly className = 'Conv1dIm2col';
    private kernel: TF.LayerVariable | null = null;
    private bias: TF.LayerVariable | null = null;
    override build(): void {
      const bound = 1 / Math.sqrt(cin * KERNEL);
      const init = () => tf.initializers.randomUniform({ minval: -bound, maxval: bound });
      this.kernel = this.addWeight('kernel', [KERNEL * cin, cout], 'float32', init());
      this.bias = this.addWeight('bias', [cout], 'float32', init());
      this.built = true;
    }
    override computeOutputShape(shape: TF.Shape): TF.Shape {
      return [shape[0], shape[1], cout];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as TF.Tensor3D; // [B, T, Cin]
        const [B, steps] = x.shape;
        const half = (KERNEL - 1) / 2;
        const padded = tf.pad(x, [[0, 0], [half, half], [0, 0]]);
        const cols = tf.concat(Array.from({ length: KERNEL }, (_, j) => tf.slice(padded, [0, j, 0], [B, steps, cin])), 2);
        const y = tf.add(tf.matMul(tf.reshape(cols, [B * steps, KERNEL * cin]), this.kernel!.read()), this.bias!.read());
        return tf.reshape(tf.relu(y), [B, steps, cout]);
      });
    }
  }
  return new Conv1dIm2col({});
}

/** The UCI-HAR classifier in tf.layers: inputs acc, gyro [B, 128, 3] → logits [B, 6]. */
function tfjsModel(tf: typeof TF): TF.LayersModel {
  type S = TF.SymbolicTensor;
  const encoder = (name: string): { input: S; h: S } => {
    const input = tf.input({ shape: [T, D], name });
    let x: S = input;
    let cin = D;
    for (const filters of [32, 64, 128]) {
      x = conv1dLayer(tf, cin, filters).apply(x) as S;
      cin = filters;
      x = tf.layers.maxPooling1d({ poolSize: 2, strides: 2 }).apply(x) as S;
      x = tf.layers.dropout({ rate: 0.1 }).apply(x) as S;
    }
    const h = tf.layers.gru({ units: D_HID, returnSequences: true, recurrentActivation: 'sigmoid' }).apply(x) as S;
    return { input, h };
  };
  const acc = encoder('acc');
  const gyro = encoder('gyro');
  const h = tf.layers.concatenate({ axis: 1 }).apply([acc.h, gyro.h]) as S; // [B, 32, 128]
  const hidden = tf.layers.dense({ units: 512, activation: 'tanh' }).apply(h) as S; // [B, 32, 512]
  const scores = tf.layers.dense({ units: HEADS }).apply(hidden) as S; // [B, 32, 6]
  const perHead = tf.layers.permute({ dims: [2, 1] }).apply(scores) as S; // [B, 6, 32]
  const weights = tf.layers.softmax({ axis: -1 }).apply(perHead) as S; // softmax over time
  const fused = tf.layers.dot({ axes: [2, 1] }).apply([weights, h]) as S; // A·H: [B, 6, 128]
  let z = tf.layers.flatten().apply(fused) as S; // [B, 768]
  z = tf.layers.dense({ units: 64, activation: 'relu' }).apply(z) as S;
  z = tf.layers.dropout({ rate: 0.1 }).apply(z) as S;
  z = tf.layers.dense({ units: C }).apply(z) as S;
  return tf.model({ inputs: [acc.input, gyro.input], outputs: z });
}

/**
 * FedAvg with TF.js, one client after another: load the global weights, 1 local epoch in fedmm's batches
 * (same shuffle stream as fedmm's runtime), read the local weights back and fold n·(local − global) into a
 * float64 sum; the server adds Σ nᵢΔᵢ / Σ nᵢ to the global weights.
 */
function tfjsFedAvg(tf: typeof TF, rounds: number): SideResult & { numParams: number } {
  const model = tfjsModel(tf);
  const vars = model.trainableWeights.map((w) => w.read() as TF.Variable);
  const sizes = vars.map((v) => v.size);
  const P = sizes.reduce((a, b) => a + b, 0);
  const global = new Float32Array(P);
  let at = 0;
  for (const v of vars) {
    global.set(v.dataSync() as Float32Array, at);
    at += v.size;
  }
  const data = createFederatedDataset('uci-har', DATA);
  const sum = new Float64Array(P);
  const local = new Float32Array(P);

  // PyTorch SGD on the TF.js variables: clip_grad_norm_ over all parameters, g ← g + wd·w, momentum buffer
  // b ← g on a client's first step and b ← μ·b + g after, w ← w − lr·b (tf.train.momentum keeps the same
  // buffer but leaks a scalar per instance on dispose, and a fresh buffer per client needs a fresh instance).
  const buffers = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const step = (batch: Batch, first: boolean): number => tf.tidy(() => {
    const x = batch.modalities.map((m) => tf.tensor3d(m.data, [batch.size, m.T, m.D]));
    const y = tf.oneHot(tf.tensor1d(batch.labels as Int32Array, 'int32'), C);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as TF.Tensor) as TF.Scalar, vars);
    const norm = tf.sqrt(tf.addN(vars.map((v) => tf.sum(tf.square(grads[v.name])))));
    const coef = tf.minimum(1, tf.div(LOCAL.gradClip, tf.add(norm, 1e-6)));
    vars.forEach((v, i) => {
      const g = tf.add(tf.mul(grads[v.name], coef), tf.mul(v, LOCAL.weightDecay));
      buffers[i].assign(first ? g : tf.add(tf.mul(buffers[i], LOCAL.momentum), g));
      v.assign(tf.sub(v, tf.mul(buffers[i], LOCAL.lr)));
    });
    return value.dataSync()[0];
  });

  const out: SideResult['rounds'] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const cpu = process.cpuUsage();
    const ids = sampleClients(round, data.numClients, CLIENT_RATE).filter((k) => data.activeClients.includes(k));
    sum.fill(0);
    let total = 0;
    let lossSum = 0;
    for (const id of ids) {
      const client = data.client(id);
      at = 0;
      for (const v of vars) {
        tf.tidy(() => v.assign(tf.tensor(global.subarray(at, at + v.size), v.shape)));
        at += v.size;
      }
      const shuffle = new Rng(SEED).fork(`local/${round}/${id}`).fork('shuffle');
      let first = true;
      for (const batch of client.batches(LOCAL.batchSize, shuffle)) {
        lossSum += step(batch, first) * batch.size;
        first = false;
      }
      at = 0;
      for (const v of vars) {
        local.set(v.dataSync() as Float32Array, at);
        at += v.size;
      }
      const n = client.size;
      for (let i = 0; i < P; i++) sum[i] += n * (local[i] - global[i]);
      total += n;
    }
    for (let i = 0; i < P; i++) global[i] += sum[i] / total;
    out.push({ updates: ids.length, ms: performance.now() - t0, cpuMs: cpuMsSince(cpu), trainLoss: lossSum / total });
  }
  model.dispose();
  tf.dispose(buffers);
  return { numParams: P, rounds: out };
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.FEDMM_BENCH_ROUNDS ?? 3);
  const workers = Number(process.env.FEDMM_BENCH_WORKERS ?? 2);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`runtime-tfjs: FEDMM_BENCH_ROUNDS must be an integer ≥ 1, got ${process.env.FEDMM_BENCH_ROUNDS}`);
  const load0 = loadavg()[0];
  const tfjs = await loadTfjs();
  const pool = await fedmm(rounds, workers);
  const inProcess = await fedmm(rounds, 0);
  const peer = typeof tfjs === 'string' ? null : tfjsFedAvg(tfjs.tf, rounds);
  if (typeof tfjs === 'string') console.log(`runtime-tfjs: ${tfjs}`);
  const load1 = loadavg()[0];

  const peerRate = peer ? steadyRate(peer) : null;
  const oneThread = steadyRate(inProcess);
  const row = (name: string, r: SideResult): Record<string, string | number> => {
    const { rate, cpuPerUpdate, measured } = steadyRate(r);
    return {
      'FedAvg, UCI-HAR, 10 clients/round': name,
      rounds: measured + (r.rounds.length > 1 ? ' (+1 warm-up)' : ' (cold)'),
      'updates/s': +rate.toFixed(3),
      'vs tfjs-wasm': peerRate ? +(rate / peerRate.rate).toFixed(2) : '—',
      'vs fedmm 1 thread': +(rate / oneThread.rate).toFixed(2),
      'CPU ms/update': +cpuPerUpdate.toFixed(0),
      'CPU vs tfjs-wasm': peerRate ? +(peerRate.cpuPerUpdate / cpuPerUpdate).toFixed(2) : '—',
      'train loss by round': r.rounds.map((x) => x.trainLoss.toFixed(3)).join(' '),
    };
  };
  const rows = [row(`fedmm runtime, ${workers} workers (${backendInfo().name} ${backendInfo().variant})`, pool), row('fedmm runtime, workers: 0 (main thread)', inProcess)];
  if (peer && typeof tfjs !== 'string') rows.push(row(`tfjs 4.22 wasm (${tfjs.flavour}), sequential`, peer));
  console.log(`P: fedmm ${pool.numParams.toLocaleString('en-US')} (PyTorch GRU), tfjs ${peer ? peer.numParams.toLocaleString('en-US') : '—'} (reset_after=false GRU: 2 × 3·${D_HID} fewer biases)`);
  console.log(`load average (1 min) before / after: ${load0.toFixed(2)} / ${load1.toFixed(2)}`);
  console.table(rows);
}
