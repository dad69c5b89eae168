// The task abstraction: what a federated job trains. A Task names a model factory, each training
// client's data, the pooled dev and test data, the loss (inside the model's lossAndGrad) and the metrics.
//
// A task is rebuilt from a plain, JSON-serialisable TaskSpec in every worker thread (data is generated or
// read there from the spec, the seed and the client id), so nothing but ids crosses the thread boundary.
import type { Rng } from '../random.js';

/** Serialisable description of a task: `kind` picks the factory, the rest are its options. */
export interface TaskSpec {
  readonly kind: string;
  readonly [option: string]: unknown;
}

/** Every batch type knows its number of samples. */
export interface SizedBatch {
  readonly size: number;
}

/** Options of one local training pass that reach the model (FedRS's restricted softmax). */
export interface ForwardOptions {
  /**
   * Per-class logit scale, length C, or null. FedRS: 1 for classes the client holds, α for the others;
   * a scaled class's logit is s_c · (w_c · h) with its bias dropped.
   */
  readonly classScale: Float32Array | null;
  /** Generator for stochastic layers (dropout) during this step. */
  readonly rng: Rng;
}

/**
 * A model instance as federated training sees it: one flat parameter buffer and one flat gradient buffer
 * (same length P, same layout), a training step and a prediction.
 */
export interface TrainableModel<B extends SizedBatch = SizedBatch> {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  /** Overwrites `grads` with ∂(mean loss over the batch)/∂params; returns that mean loss. Train mode. */
  lossAndGrad(batch: B, options: ForwardOptions): number;
  /** Logits [batch size, C] row-major, eval mode (no dropout). */
  predict(batch: B): Float32Array;
}

/** One party's samples. */
export interface TaskData<B extends SizedBatch = SizedBatch> {
  readonly size: number;
  /** Per class: how many samples carry it (length C). */
  readonly labelHistogram: Int32Array;
  /** Mini-batches over every sample: shuffled by `rng` (last partial batch kept), in order without one. */
  batches(batchSize: number, rng?: Rng): Iterable<B>;
}

/** Metric name → value. Every metric is "higher is better" except names ending in "loss". */
export type Metrics = Record<string, number>;

/** A model's outputs on a run of consecutive evaluation batches (what the metrics are computed from). */
export interface EvalPart {
  /** Logits [samples, C] row-major. */
  readonly scores: Float32Array;
  /** Labels: class indices [samples], or multi-hot [samples, C]. */
  readonly labels: Int32Array | Float32Array;
  /** Per batch: the batch's summed loss (kept per batch so totals add up in one fixed order). */
  readonly batchLosses: Float64Array;
}

export interface Task<B extends SizedBatch = SizedBatch> {
  readonly spec: TaskSpec;
  /** Training clients: ids 0..numClients-1. */
  readonly numClients: number;
  readonly numClasses: number;
  /** Parameters of the model, P. */
  readonly numParams: number;
  /** The metric that selects the best dev round (higher is better). */
  readonly headlineMetric: string;
  /** A fresh model with its initial weights drawn from `rng`. */
  createModel(rng: Rng): TrainableModel<B>;
  /** False for a client that cannot train (FedMultimodal: missing both modalities, or no labeled sample); a
   *  sampled inactive client is skipped, not counted as a failure. Absent: every client is active. */
  isActive?(clientId: number): boolean;
  /** The clients of a round when the task prescribes them (FedMultimodal's own schedule under
   *  partitionRng 'numpy'), ascending; null or absent: the runtime draws them. */
  scheduleClients?(round: number, clientRate: number): Int32Array | null;
  /** A training client's data (generated or loaded lazily, deterministic in the spec and the id). */
  clientData(clientId: number): TaskData<B>;
  /** Metrics of `model` on the pooled dev or test set. */
  evaluate(model: TrainableModel<B>, split: 'dev' | 'test'): Metrics;
  /**
   * Optional evaluation in parts, which lets the runtime spread it over its workers: the split's number of
   * evaluation batches (fixed boundaries, whatever the number of workers), the outputs on batches
   * [from, to), and the metrics from every batch's outputs in batch order. Together they must give exactly
   * what `evaluate` gives.
   */
  evalBatches?(split: 'dev' | 'test'): number;
  predictBatches?(model: TrainableModel<B>, split: 'dev' | 'test', from: number, to: number): EvalPart;
  scoreEval?(split: 'dev' | 'test', parts: readonly EvalPart[]): Metrics;
}

export type TaskFactory = (spec: TaskSpec) => Task | Promise<Task>;

const factories = new Map<string, TaskFactory>();

/** Makes a task kind available to createTask (in the thread that calls it: workers import the same modules). */
export function registerTask(kind: string, factory: TaskFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`registerTask: invalid kind '${kind}' (lowercase letters, digits, '-')`);
  factories.set(kind, factory);
}

export function taskKinds(): string[] {
  return [...factories.keys()].sort();
}

/** Builds the task a spec describes; a clear error for an unknown kind. */
export async function createTask(spec: TaskSpec): Promise<Task> {
  if (spec === null || typeof spec !== 'object' || typeof spec.kind !== 'string') {
    throw new Error(`task: spec must be an object with a string 'kind'`);
  }
  const factory = factories.get(spec.kind);
  if (!factory) throw new Error(`task: unknown kind '${spec.kind}'; known: ${taskKinds().join(', ') || '(none)'}`);
  return factory(spec);
}
