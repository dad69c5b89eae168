// ClientDataset over a sample source and a list of sample indices (a client's train or dev split, the test set).
import type { Rng } from '../random.js';
import { collate } from './collate.js';
import type { Batch, ClientDataset, Sample, SampleModality } from './types.js';

/** Where samples come from: the simulator or a loaded real dataset. Index i is global (0..size-1). */
export interface SampleSource {
  readonly size: number;
  readonly numClasses: number;
  readonly multiLabel: boolean;
  /** Per modality: the longest length a sample has (the registry's maxLen or the config override). */
  readonly maxLens: readonly number[];
  readonly dims: readonly number[];
  /** Class index of sample i (single-label sets). */
  label(i: number): number;
  /** Multi-hot label of sample i (multi-label sets), length numClasses. */
  multiHot(i: number): Uint8Array;
  /** The features of sample i, one entry per modality ([length, dim] row-major). Treat as read-only. */
  features(i: number): SampleModality[];
  /**
   * Told, before features are read, which samples the partition holds out as dev: for sources normalised per
   * group as FedMultimodal's pickles are (a training speaker's dev clips apart from its training clips).
   */
  useDevSplit?(dev: Int32Array): void;
}

export interface IndexedDatasetOptions {
  id: number;
  name: string;
  source: SampleSource;
  indices: Int32Array;
  /** Replacement class labels aligned with indices (label noise); null keeps the source's. */
  labels?: Int32Array | null;
  /** Per modality: true when missing for this client. */
  missing?: readonly boolean[];
  /** Keep generated samples after first use (training clients); pools (dev, test) regenerate instead. */
  cache?: boolean;
}

export class IndexedDataset implements ClientDataset {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly numClasses: number;
  readonly multiLabel: boolean;
  readonly labelHistogram: Int32Array;
  readonly missing: readonly boolean[];
  /** Global sample indices, in client order. */
  readonly indices: Int32Array;
  private readonly source: SampleSource;
  private readonly labels: Int32Array | null;
  private readonly cache: (Sample | undefined)[] | null;

  constructor(o: IndexedDatasetOptions) {
    this.id = o.id;
    this.name = o.name;
    this.source = o.source;
    this.indices = o.indices;
    this.size = o.indices.length;
    this.numClasses = o.source.numClasses;
    this.multiLabel = o.source.multiLabel;
    this.labels = o.labels ?? null;
    if (this.labels && this.labels.length !== this.size) throw new Error(`${o.name}: ${this.labels.length} labels for ${this.size} samples`);
    this.missing = o.missing ?? o.source.maxLens.map(() => false);
    this.cache = o.cache ? new Array(this.size) : null;
    const hist = new Int32Array(this.numClasses);
    for (let k = 0; k < this.size; k++) {
      if (this.multiLabel) {
        const y = o.source.multiHot(o.indices[k]);
        for (let c = 0; c < this.numClasses; c++) hist[c] += y[c];
      } else hist[this.labelAt(k)]++;
    }
    this.labelHistogram = hist;
  }

  /** Class label of the k-th sample of this dataset (after any label corruption). */
  labelAt(k: number): number {
    return this.labels ? this.labels[k] : this.source.label(this.indices[k]);
  }

  sample(k: number): Sample {
    if (!(k >= 0 && k < this.size && Number.isInteger(k))) throw new Error(`${this.name}: sample index ${k} out of range [0, ${this.size})`);
    const cached = this.cache?.[k];
    if (cached) return cached;
    const i = this.indices[k];
    const feats = this.source.features(i);
    const modalities = feats.map((f, m) => (this.missing[m] ? { data: new Float32Array(0), length: 0, dim: f.dim } : f));
    const s: Sample = { modalities, label: this.multiLabel ? this.source.multiHot(i) : this.labelAt(k) };
    if (this.cache) this.cache[k] = s;
    return s;
  }

  batches(batchSize: number, rng?: Rng): Iterable<Batch> {
    this.checkBatchSize(batchSize);
    return this.batchesOf(batchSize, 0, this.size, rng ? rng.permutation(this.size) : null);
  }

  batchRange(batchSize: number, from: number, to: number): Iterable<Batch> {
    this.checkBatchSize(batchSize);
    const count = Math.ceil(this.size / batchSize);
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= count)) {
      throw new Error(`${this.name}: batch range [${from}, ${to}) outside the ${count} batches of size ${batchSize}`);
    }
    return this.batchesOf(batchSize, from * batchSize, Math.min(this.size, to * batchSize), null);
  }

  private checkBatchSize(batchSize: number): void {
    if (!(batchSize >= 1 && Number.isInteger(batchSize))) throw new Error(`${this.name}: batch size must be a positive integer, got ${batchSize}`);
  }

  private *batchesOf(batchSize: number, first: number, last: number, order: Int32Array | null): Iterable<Batch> {
    for (let start = first; start < last; start += batchSize) {
      const end = Math.min(last, start + batchSize);
      const samples: Sample[] = [];
      for (let k = start; k < end; k++) samples.push(this.sample(order ? order[k] : k));
      yield collate(samples, this.source.maxLens);
    }
  }
}
