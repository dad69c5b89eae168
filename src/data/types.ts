// The data format every other layer builds on: samples, batches, client datasets, federated datasets.
//
// Layout conventions (all row-major, batch-first, like PyTorch's batch_first=True):
//   one sample's modality:   Float32Array [len, dim]           (len ≤ maxLen; len = 0 when the modality is missing)
//   one batch's modality:    Float32Array [B, T, D]            (zero-padded past each row's valid length)
//   labels:                  Int32Array [B] class indices, or Float32Array [B, C] of 0/1 for multi-label sets
import type { Rng } from '../random.js';

/** Which encoder FedMultimodal puts on a modality: Conv1d stack + GRU, GRU on the raw sequence, or an MLP. */
export type EncoderKind = 'conv-gru' | 'gru' | 'mlp';

/** One input modality of a dataset, as fed to the model. */
export interface ModalitySpec {
  /** Short name: 'audio', 'video', 'text', 'image', 'acc', 'gyro', 'ecg-limb', 'ecg-chest'. */
  readonly name: string;
  /** Feature dimension D of one time step. */
  readonly dim: number;
  /** Longest sequence the dataset feeds (longer inputs are truncated to it). */
  readonly maxLen: number;
  readonly encoder: EncoderKind;
  /** What the features are (e.g. "Kaldi fbank, 80 mel bins"). */
  readonly description: string;
}

/** One modality of one sample: `data` is [length, dim] row-major; `length` may be 0 (missing modality). */
export interface SampleModality {
  readonly data: Float32Array;
  readonly length: number;
  readonly dim: number;
}

/**
 * One sample. `modalities` follows the registry's modality order. `label` is a class index for
 * single-label sets, or a Uint8Array of C zeros/ones for multi-label sets (PTB-XL).
 */
export interface Sample {
  readonly modalities: readonly SampleModality[];
  readonly label: number | Uint8Array;
}

/** One modality of a batch: data [B, T, D] zero-padded, lengths [B] valid steps (0 = missing). */
export interface BatchModality {
  readonly data: Float32Array;
  readonly lengths: Int32Array;
  readonly T: number;
  readonly D: number;
}

/**
 * A collated mini-batch. `modalities` is in the registry's modality order. `labels` is Int32Array [B]
 * (class indices) for single-label sets, Float32Array [B, C] (0/1) for multi-label sets.
 */
export interface Batch {
  readonly modalities: readonly BatchModality[];
  readonly labels: Int32Array | Float32Array;
  readonly size: number;
}

/**
 * The samples one party holds (a training client, a client's dev split, the test set).
 * Samples are produced on demand; a training client's samples are materialised once on first use.
 */
export interface ClientDataset {
  /** Client index (0..numClients-1); -1 for the pooled dev set, -2 for the test set, -3 for the centralized set. */
  readonly id: number;
  /** Human-readable name, e.g. "speaker-012", "subject-07/shard-2", "test". */
  readonly name: string;
  /** Number of samples. */
  readonly size: number;
  readonly numClasses: number;
  readonly multiLabel: boolean;
  /** Per class: number of samples with that label (multi-label: number of positives). Length C. */
  readonly labelHistogram: Int32Array;
  /** Per modality: true when this client lacks it (every sample has length 0 for it). */
  readonly missing: readonly boolean[];
  /** The i-th sample, 0 ≤ i < size. */
  sample(i: number): Sample;
  /**
   * Mini-batches over all samples. With an rng: shuffled by it, the last partial batch kept (PyTorch
   * DataLoader shuffle=True, drop_last=False). Without: in order (for evaluation).
   */
  batches(batchSize: number, rng?: Rng): Iterable<Batch>;
  /**
   * In-order mini-batches number `from` to `to − 1`, where batch j holds samples [j·batchSize, (j+1)·batchSize):
   * a slice of the unshuffled `batches(batchSize)`, batch for batch (lets evaluation be split across threads).
   */
  batchRange(batchSize: number, from: number, to: number): Iterable<Batch>;
}

/**
 * Where a dataset's samples come from: the simulator (default), a prepared dataset folder (manifest.json +
 * safetensors: src/data/prepared.ts), or a dataset's own raw files (UCI-HAR, KU-HAR, PTB-XL, audio WAVs).
 */
export type DataSource =
  | { readonly kind: 'simulated' }
  | { readonly kind: RealSourceKind; readonly path: string };

/** The kinds of real data: a prepared folder, or a dataset's raw files. */
export type RealSourceKind = 'prepared' | 'uci-har' | 'ku-har' | 'ptb-xl' | 'audio';

/**
 * Everything that defines a federated dataset besides its id. Plain JSON: a worker thread re-creates any
 * client's data from (dataset id, this config, client id) with createFederatedDataset(id, config).client(k).
 */
export interface DataConfig {
  /** Seed of the partition, the dev splits and the corruptions (default 0). */
  readonly seed?: number;
  /** Seed of the simulated data itself: the "world" stays fixed while seed varies (default 0). */
  readonly dataSeed?: number;
  /** Dirichlet concentration α for Dirichlet partitions (default 5.0; the benchmark uses 5.0 and 0.1). */
  readonly alpha?: number;
  /** Fraction of the true sample count to simulate, for tests (default 1). Natural groups and Dirichlet
   *  client counts shrink with it. Simulated data only. */
  readonly scale?: number;
  /** Per modality name: a shorter (or longer) maximum sequence length than the registry's. */
  readonly maxLen?: Readonly<Record<string, number>>;
  /** Fold / official split to use (0-based, < protocol.folds; default 0). */
  readonly fold?: number;
  /** Number of Dirichlet clients instead of the registry's (scaled) count. */
  readonly clients?: number;
  /** N training clients, each a resample of one of the partition's clients (population.ts); absent: the partition's own. */
  readonly population?: number;
  /** Missing modality rate p: per training client, each modality missing with probability p. */
  readonly missingModality?: number;
  /** Missing label rate p: per training sample, dropped with probability p. */
  readonly missingLabel?: number;
  /** Erroneous label rate p: per training client transition matrix with diagonal 1 − p. */
  readonly labelNoise?: number;
  readonly source?: DataSource;
  /** UCI-HAR only: 'numpy' replays the original partition code with numpy's legacy MT19937 (seed 8), giving
   *  the paper's exact shards and dev split on the real data; 'fedmm' (default) draws from Rng with `seed`. */
  readonly partitionRng?: 'fedmm' | 'numpy';
}

/** A DataConfig with every default filled in; itself a valid DataConfig (pass it to a worker as is). */
export interface ResolvedDataConfig extends DataConfig {
  readonly seed: number;
  readonly dataSeed: number;
  readonly alpha: number;
  readonly scale: number;
  /** Every modality's maximum length, by name. */
  readonly maxLen: Readonly<Record<string, number>>;
  readonly fold: number;
  readonly missingModality: number;
  readonly missingLabel: number;
  readonly labelNoise: number;
  readonly source: DataSource;
  readonly partitionRng: 'fedmm' | 'numpy';
}

/** Per-client row of a partition summary. */
export interface ClientSummary {
  readonly id: number;
  readonly name: string;
  readonly train: number;
  readonly dev: number;
  readonly labelHistogram: Int32Array;
  readonly missing: readonly boolean[];
  readonly active: boolean;
}

/**
 * A dataset split over clients. Cheap to create: only the label table and the partition are built;
 * a client's samples are generated (or sliced from loaded data) when that client is first used.
 */
export interface FederatedDataset {
  readonly spec: import('./registry.js').DatasetSpec;
  readonly config: ResolvedDataConfig;
  /** Number of training clients (ids 0..numClients-1). */
  readonly numClients: number;
  /** Clients that train: not missing both modalities and holding at least one labeled sample. */
  readonly activeClients: readonly number[];
  /** Client k's training data, with the configured corruptions applied. */
  client(k: number): ClientDataset;
  /** Client k's dev split (clean). */
  clientDev(k: number): ClientDataset;
  /** All clients' training samples together, clean (no corruptions): the centralized baseline. */
  centralized(): ClientDataset;
  /** All clients' dev splits together (clean): model selection. */
  dev(): ClientDataset;
  /** The held-out test set (clean). */
  test(): ClientDataset;
  /** Samples and label histogram per client (after corruption), no features generated. */
  summary(): ClientSummary[];
  /** fedmm client ids in the order FedMultimodal lists its clients (their ids sorted as strings): the
   *  original's client index i is fedmm client originalOrder[i]. */
  readonly originalOrder: Int32Array;
}
