// Pieces the benchmark modules share: the tinybench timer and the GRU-classifier training step that engine,
// gru-train and gpu-check measure.
import { Bench } from 'tinybench';
import * as F from '../src/nn/functional.js';
import { GRU } from '../src/nn/gru.js';
import { Linear } from '../src/nn/linear.js';
import { Module } from '../src/nn/module.js';
import { SGD } from '../src/optim/sgd.js';
import type { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor/tensor.js';

/** Mean latency in ms of `fn` (tinybench) over at least `iterations` runs and `timeMs`, after `warmupIterations`. */
export async function meanMs(fn: () => unknown, timeMs: number, iterations: number, warmupIterations: number): Promise<number> {
  const bench = new Bench({ time: timeMs, iterations, warmupIterations });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench: task ended in state ${r.state}`);
  return r.latency.mean;
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
  forward(x: Tensor, lengths: Int32Array | null): Tensor {
    const [, hN] = this.gru.forward(x, lengths);
    return this.head.forward(hN.reshape([x.shape[0], this.gru.hiddenSize]));
  }
}

/** The GRU benchmark's sizes: batch 32, 50 steps, 40 features, hidden 64, 10 classes. */
export const GRU_SIZES = { B: 32, T: 50, I: 40, H: 64, C: 10 } as const;

/**
 * One training step (forward, cross-entropy, backward, SGD lr 0.05 with momentum 0.9 on the flat buffers) of a
 * GruClassifier of GRU_SIZES on fixed random data from `rng`: lengths 1..T when `packed`, else all T steps.
 */
export function gruTrainStep(rng: Rng, packed: boolean): () => void {
  const { B, T, I, H, C } = GRU_SIZES;
  const model = new GruClassifier(I, H, C, rng);
  model.flatten();
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = Tensor.randn([B, T, I], { rng });
  const lengths = packed ? Int32Array.from({ length: B }, () => 1 + rng.int(T)) : null;
  const y = Int32Array.from({ length: B }, () => rng.int(C));
  return () => {
    opt.zeroGrad();
    F.crossEntropy(model.forward(x, lengths), y).backward();
    opt.step();
  };
}
