// The FedMultimodal task: a dataset from the src/data registry (simulated, or the real UCI-HAR files),
// partitioned and corrupted as the benchmark does, trained with the dataset's FedMultimodal classifier
// from src/models. Loss: cross-entropy (NLL on log-softmax), or BCE-with-logits for multi-label PTB-XL.
// Metrics: every metric the registry lists for the dataset; the headline one selects the best dev round.
import { manualSeed } from '../random.js';
import { noGrad, Tensor } from '../tensor/index.js';
import { Arena, withArena } from '../tensor/arena.js';
import { binaryCrossEntropyWithLogits, crossEntropy } from '../nn/losses.js';
import { linear } from '../nn/functional.js';
import { createFederatedDataset } from '../data/federated.js';
import { numpyClientChoice } from '../data/numpy-partition.js';
import { getDataset, type DatasetSpec, type MetricName } from '../data/registry.js';
import { accuracy, argmax, binaryAucFromScores, macroF1, multiLabelMacroF1, topKAccuracy, uar } from '../data/metrics.js';
import type { Batch, ClientDataset, DataConfig, DataSource, FederatedDataset } from '../data/types.js';
import { createModel } from '../models/factory.js';
import { batchSteps, modelFlops, type LayerFlops } from '../models/flops.js';
import type { MultimodalClassifier, Fusion } from '../models/multimodal.js';
import type { Rng } from '../random.js';
import { registerTask, type EvalPart, type ForwardOptions, type Metrics, type Task, type TaskData, type TaskSpec, type TrainableModel } from './task.js';

export interface FedMultimodalSpec extends TaskSpec {
  readonly kind: 'fedmultimodal';
  readonly dataset: string;
  /** Dirichlet α of the partition (null: the registry default, 5.0). */
  readonly dirichletAlpha?: number | null;
  readonly missingModality?: number;
  readonly missingLabel?: number;
  readonly labelNoise?: number;
  readonly fusion?: Fusion;
  /** Partition / corruption seed. */
  readonly seed?: number;
  /** Seed of the simulated data itself. */
  readonly dataSeed?: number;
  /** Fraction of the simulated dataset (tests, benchmarks). */
  readonly scale?: number;
  readonly maxLen?: Readonly<Record<string, number>>;
  readonly fold?: number;
  readonly clients?: number;
  /** N training clients, each a resample of one of the partition's clients (src/data/population.ts). */
  readonly population?: number;
  readonly source?: DataSource;
  /** GRU hidden size (128 in every published run). */
  readonly dHid?: number;
  /** Evaluation batch size (default 256: evaluation is forward-only, so a large batch costs little memory
   *  and keeps the layers' products GEMM-shaped; the original evaluates at 64). */
  readonly evalBatchSize?: number;
  /** 'numpy': the paper's exact UCI-HAR shards (numpy's legacy generator); default 'fedmm'. */
  readonly partitionRng?: 'fedmm' | 'numpy';
  /** Indices of the modalities the model reads (one index: a unimodal baseline); default all. */
  readonly modalities?: readonly number[];
}

/** Windows per evaluation batch unless the spec says otherwise. */
export const DEFAULT_EVAL_BATCH_SIZE = 256;

const KNOWN = ['kind', 'dataset', 'dirichletAlpha', 'missingModality', 'missingLabel', 'labelNoise', 'fusion', 'seed', 'dataSeed', 'scale',
  'maxLen', 'fold', 'clients', 'population', 'source', 'dHid', 'evalBatchSize', 'partitionRng', 'modalities'];

class ModuleModel implements TrainableModel<Batch> {
  readonly params: Float32Array;
  readonly grads: Float32Array;

  constructor(readonly module: MultimodalClassifier, private readonly spec: DatasetSpec) {
    const flat = module.flatten();
    if (!(flat.params instanceof Float32Array) || !(flat.grads instanceof Float32Array)) throw new Error('fedmultimodal: model must be float32');
    this.params = flat.params;
    this.grads = flat.grads;
  }

  /** Logits; with a class scale (FedRS): s_c·(h·w_c), plus b_c only for unscaled classes. */
  private logits(batch: Batch, classScale: Float32Array | null): Tensor {
    if (!classScale) return this.module.forward(batch);
    const head = this.module.lastLayer;
    const C = classScale.length;
    const keep = new Float32Array(C);
    for (let c = 0; c < C; c++) keep[c] = classScale[c] === 1 ? 1 : 0;
    const z = linear(this.module.features(batch), head.weight, null).mul(new Tensor(classScale, [C]));
    return head.bias ? z.add(head.bias.mul(new Tensor(keep, [C]))) : z;
  }

  /** One step arena per batch size: the step's activations, saved tensors and gradients reuse its block. */
  private readonly arenas = new Map<number, Arena>();

  lossAndGrad(batch: Batch, options: ForwardOptions): number {
    this.module.train();
    manualSeed(options.rng.nextU32());
    this.module.zeroGrad();
    let arena = this.arenas.get(batch.size);
    if (!arena) this.arenas.set(batch.size, (arena = new Arena()));
    // Nothing of the step outlives it: the gradients are summed into the module's flat buffer.
    return withArena(arena, () => {
      const z = this.logits(batch, options.classScale);
      const loss = this.spec.loss === 'bce'
        ? binaryCrossEntropyWithLogits(z, batch.labels as Float32Array)
        : crossEntropy(z, batch.labels as Int32Array);
      loss.backward();
      return loss.item();
    });
  }

  /** The evaluation forward's arena: its activations reuse one block from batch to batch. */
  private readonly predictArena = new Arena();

  /**
   * Forward only: eval mode (no dropout) and no autograd graph, so the kernels keep nothing for a backward
   * pass, with every activation taken from one arena (no allocation once warm). Returns the logits' own copy.
   */
  predict(batch: Batch): Float32Array {
    this.module.eval();
    return withArena(this.predictArena, () => noGrad(() => this.module.forward(batch)).data.slice() as Float32Array);
  }
}

function metric(name: MetricName, labels: Int32Array | Float32Array, scores: Float32Array, n: number, C: number): number {
  switch (name) {
    case 'accuracy':
      return accuracy(labels, argmax(scores, n));
    case 'top5':
      return topKAccuracy(labels, scores, 5);
    case 'macro-f1':
      return macroF1(labels, argmax(scores, n), C);
    case 'uar':
      return uar(labels, argmax(scores, n), C);
    case 'auc':
      return binaryAucFromScores(labels, scores);
    case 'multilabel-macro-f1':
      return multiLabelMacroF1(labels, scores, C, 0.5, true);
  }
}

export class FedMultimodalTask implements Task<Batch> {
  readonly spec: FedMultimodalSpec;
  readonly data: FederatedDataset;
  readonly dataset: DatasetSpec;
  readonly numClients: number;
  readonly numClasses: number;
  readonly numParams: number;
  readonly headlineMetric: string;
  private readonly active: Set<number>;
  private readonly pools = new Map<'dev' | 'test', ClientDataset>();
  /** Each split's evaluation batches, collated once on first use (the splits never change during a run). */
  private readonly evalBatchCache = new Map<'dev' | 'test', (Batch | undefined)[]>();

  constructor(raw: TaskSpec) {
    for (const k of Object.keys(raw)) if (!KNOWN.includes(k)) throw new Error(`fedmultimodal task: unknown option '${k}'`);
    const spec = raw as FedMultimodalSpec;
    if (typeof spec.dataset !== 'string') throw new Error(`fedmultimodal task: dataset must be a dataset id, got ${String(spec.dataset)}`);
    this.dataset = getDataset(spec.dataset);
    if (spec.fusion !== undefined && spec.fusion !== 'attention' && spec.fusion !== 'concat') throw new Error(`fedmultimodal task: fusion must be 'attention' or 'concat', got ${String(spec.fusion)}`);
    if (spec.evalBatchSize !== undefined && !(Number.isInteger(spec.evalBatchSize) && spec.evalBatchSize >= 1)) throw new Error(`fedmultimodal task: evalBatchSize must be a positive integer, got ${spec.evalBatchSize}`);
    this.spec = spec;
    const config: DataConfig = {
      seed: spec.seed, dataSeed: spec.dataSeed, alpha: spec.dirichletAlpha ?? undefined, scale: spec.scale, maxLen: spec.maxLen,
      fold: spec.fold, clients: spec.clients, population: spec.population, missingModality: spec.missingModality, missingLabel: spec.missingLabel,
      labelNoise: spec.labelNoise, source: spec.source, partitionRng: spec.partitionRng,
    };
    this.data = createFederatedDataset(spec.dataset, config);
    this.numClients = this.data.numClients;
    this.numClasses = this.dataset.numClasses;
    this.headlineMetric = this.dataset.metric;
    this.active = new Set(this.data.activeClients);
    this.numParams = this.createModule().flatten().params.length;
  }

  /** The task's classifier module (the model createModel wraps), its initial weights drawn from `rng`. */
  createModule(rng?: Rng): MultimodalClassifier {
    return createModel(this.dataset, { fusion: this.spec.fusion ?? 'attention', dHid: this.spec.dHid ?? 128, modalities: this.spec.modalities, rng });
  }

  createModel(rng: Rng): TrainableModel<Batch> {
    return new ModuleModel(this.createModule(rng), this.dataset);
  }

  /** The model's forward FLOPs per sample of `batch`'s shapes, layer by layer (src/models/flops.ts). */
  forwardFlops(batch: Batch): LayerFlops[] {
    const module = this.createModule();
    return modelFlops(module, batchSteps(module, batch));
  }

  isActive(clientId: number): boolean {
    return this.active.has(clientId);
  }

  /** Under partitionRng 'numpy', the original server's schedule: np.random.seed(round), then
   *  np.random.choice(N, int(rate·N), replace=False) over its clients sorted by id, mapped to fedmm's ids. */
  scheduleClients(round: number, clientRate: number): Int32Array | null {
    if (this.spec.partitionRng !== 'numpy') return null;
    const order = this.data.originalOrder;
    const k = Math.max(1, Math.floor(clientRate * this.numClients));
    return Int32Array.from(numpyClientChoice(round, this.numClients, k), (i) => order[i]).sort();
  }

  clientData(clientId: number): TaskData<Batch> {
    return this.data.client(clientId);
  }

  private pool(split: 'dev' | 'test'): ClientDataset {
    let p = this.pools.get(split);
    if (!p) {
      p = split === 'dev' ? this.data.dev() : this.data.test();
      this.pools.set(split, p);
    }
    return p;
  }

  private get evalBatchSize(): number {
    return this.spec.evalBatchSize ?? DEFAULT_EVAL_BATCH_SIZE;
  }

  /** Evaluation batch i of `split` (collated on first use, then kept). */
  private evalBatch(split: 'dev' | 'test', i: number): Batch {
    let cache = this.evalBatchCache.get(split);
    if (!cache) this.evalBatchCache.set(split, (cache = new Array<Batch | undefined>(this.evalBatches(split))));
    let batch = cache[i];
    if (!batch) {
      for (const b of this.pool(split).batchRange(this.evalBatchSize, i, i + 1)) batch = b;
      cache[i] = batch;
    }
    return batch!;
  }

  evaluate(model: TrainableModel<Batch>, split: 'dev' | 'test'): Metrics {
    return this.scoreEval(split, [this.predictBatches(model, split, 0, this.evalBatches(split))]);
  }

  evalBatches(split: 'dev' | 'test'): number {
    return Math.ceil(this.pool(split).size / this.evalBatchSize);
  }

  predictBatches(model: TrainableModel<Batch>, split: 'dev' | 'test', from: number, to: number): EvalPart {
    const data = this.pool(split);
    const bs = this.evalBatchSize;
    data.batchRange(bs, from, to); // checks the range, naming the split (lazy: collates nothing)
    const C = this.numClasses;
    const multi = this.dataset.multiLabel;
    const n = Math.min(data.size, to * bs) - Math.min(data.size, from * bs);
    const scores = new Float32Array(n * C);
    const labels = multi ? new Float32Array(n * C) : new Int32Array(n);
    const batchLosses = new Float64Array(to - from);
    let at = 0;
    let j = 0;
    for (let i = from; i < to; i++) {
      const batch = this.evalBatch(split, i);
      const z = model.predict(batch);
      scores.set(z, at * C);
      labels.set(batch.labels, multi ? at * C : at);
      batchLosses[j++] = noGrad(() => {
        const zt = new Tensor(z, [batch.size, C]);
        return multi ? binaryCrossEntropyWithLogits(zt, batch.labels as Float32Array) : crossEntropy(zt, batch.labels as Int32Array);
      }).item() * batch.size;
      at += batch.size;
    }
    return { scores, labels, batchLosses };
  }

  scoreEval(split: 'dev' | 'test', parts: readonly EvalPart[]): Metrics {
    const size = this.pool(split).size;
    const C = this.numClasses;
    const multi = this.dataset.multiLabel;
    const scores = new Float32Array(size * C);
    const labels = multi ? new Float32Array(size * C) : new Int32Array(size);
    let at = 0;
    let lossSum = 0;
    for (const part of parts) {
      scores.set(part.scores, at * C);
      labels.set(part.labels, multi ? at * C : at);
      at += part.scores.length / C;
      for (const l of part.batchLosses) lossSum += l;
    }
    if (at !== size) throw new Error(`fedmultimodal task: evaluation parts cover ${at} of ${size} ${split} samples`);
    const out: Metrics = { loss: lossSum / size };
    for (const m of this.dataset.metrics) out[m] = metric(m, labels, scores, size, C);
    return out;
  }
}

registerTask('fedmultimodal', (spec) => new FedMultimodalTask(spec));
