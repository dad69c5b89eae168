// The ten FedMultimodal datasets: shapes, classes, partitions, protocols, metrics and the published
// hyper-parameters, all from the benchmark reference (../shared/reference/fedmultimodal.md).
import type { ModalitySpec } from './types.js';

export const DATASET_IDS = [
  'meld',
  'crema-d',
  'ucf101',
  'mit10',
  'mit51',
  'uci-har',
  'ku-har',
  'ptb-xl',
  'hateful-memes',
  'crisis-mmd',
] as const;
export type DatasetId = (typeof DATASET_IDS)[number];

/** natural: one client per speaker/subject/site; dirichlet: per-class Dir(α) shards;
 *  natural+dirichlet: each subject split into Dir(α) shards (UCI-HAR). */
export type PartitionKind = 'natural' | 'dirichlet' | 'natural+dirichlet';
export type MetricName = 'accuracy' | 'top5' | 'macro-f1' | 'uar' | 'auc' | 'multilabel-macro-f1';

/** Published local-training and server hyper-parameters (attention fusion, d_hid 128). */
export interface HyperParams {
  readonly localLr: number;
  readonly clientRate: number;
  readonly rounds: number;
  readonly serverLr: number;
  readonly mu: number;
  readonly batchSize: number;
  readonly localEpochs: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly gradClip: number;
}

export interface DatasetSpec {
  readonly id: DatasetId;
  readonly name: string;
  readonly task: string;
  /** Modality A then modality B: the order of Sample.modalities and Batch.modalities. */
  readonly modalities: readonly [ModalitySpec, ModalitySpec];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly multiLabel: boolean;
  /** Training clients in the benchmark. */
  readonly numClients: number;
  readonly partition: PartitionKind;
  /** What a natural client is: 'speaker', 'subject', 'site'; null for pure Dirichlet sets. */
  readonly clientKey: 'speaker' | 'subject' | 'site' | null;
  /**
   * Fewest training samples a client keeps: the Dirichlet resampling floor, and for natural partitions the
   * original's filter (PTB-XL skips sites with < 10 training records; KU-HAR and CREMA-D keep every subject or
   speaker; MELD's reader already keeps only speakers with > 10 utterances, as the original).
   */
  readonly minClientSize: number;
  /** Shards per subject for natural+dirichlet partitions. */
  readonly shardsPerClient: number;
  /** Headline metric, then the others reported. */
  readonly metric: MetricName;
  readonly metrics: readonly MetricName[];
  readonly loss: 'nll' | 'bce';
  /** Total samples in the benchmark, and the held-out test part of it. */
  readonly samples: { readonly total: number; readonly test: number };
  readonly protocol: {
    /** Number of folds/splits selectable with DataConfig.fold (1 when the set has one official split). */
    readonly folds: number;
    /** How results are repeated: over data folds or over seeds. */
    readonly repeats: 'folds' | 'seeds';
    readonly repeatCount: number;
    readonly description: string;
  };
  readonly hyper: HyperParams;
  /** Remarks where fedmm departs from the original code or the sources disagree. */
  readonly notes: readonly string[];
}

const FBANK = 'Kaldi fbank, 80 mel bins, Hamming window, 16 kHz';
const MOBILENET = 'MobileNetV2 (ImageNet) penultimate layer';
const MOBILEBERT = 'MobileBERT last hidden state per token';

const audio = (maxLen: number): ModalitySpec => ({ name: 'audio', dim: 80, maxLen, encoder: 'conv-gru', description: FBANK });
const video = (maxLen: number, what = '1 fps'): ModalitySpec => ({ name: 'video', dim: 1280, maxLen, encoder: 'gru', description: `${MOBILENET}, per frame (${what})` });
const text = (maxLen: number): ModalitySpec => ({ name: 'text', dim: 512, maxLen, encoder: 'gru', description: MOBILEBERT });
const image: ModalitySpec = { name: 'image', dim: 1280, maxLen: 1, encoder: 'mlp', description: `${MOBILENET}, one vector` };

const COMMON = { localEpochs: 1, momentum: 0.9, weightDecay: 1e-5, gradClip: 10 } as const;
const hyper = (localLr: number, clientRate: number, rounds: number, serverLr: number, mu: number, batchSize = 16): HyperParams => ({
  localLr,
  clientRate,
  rounds,
  serverLr,
  mu,
  batchSize,
  ...COMMON,
});
const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);

const TEXT_LEN_NOTE = 'text max length is not given by the reference; fedmm uses the stated value (overridable with DataConfig.maxLen)';

export const DATASETS: Readonly<Record<DatasetId, DatasetSpec>> = {
  meld: {
    id: 'meld',
    name: 'MELD',
    task: 'emotion recognition',
    modalities: [{ ...audio(1000), description: `${FBANK}, z-normalised per speaker` }, text(128)],
    numClasses: 4,
    classNames: ['neutral', 'joy', 'sadness', 'anger'],
    multiLabel: false,
    numClients: 86,
    partition: 'natural',
    clientKey: 'speaker',
    minClientSize: 5,
    shardsPerClient: 1,
    metric: 'uar',
    metrics: ['uar', 'accuracy', 'macro-f1'],
    loss: 'nll',
    samples: { total: 9718, test: 1846 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 5, description: 'official train/dev/test; 5 seeds' },
    hyper: hyper(0.01, 0.1, 200, 0.002, 0.01),
    notes: [TEXT_LEN_NOTE, 'test count is the official test share (19%) of the 9,718 samples'],
  },
  'crema-d': {
    id: 'crema-d',
    name: 'CREMA-D',
    task: 'emotion recognition',
    modalities: [audio(600), video(10)],
    numClasses: 4,
    classNames: ['neutral', 'happy', 'sad', 'angry'],
    multiLabel: false,
    numClients: 72,
    partition: 'natural',
    clientKey: 'speaker',
    minClientSize: 1,
    shardsPerClient: 1,
    metric: 'uar',
    metrics: ['uar', 'accuracy', 'macro-f1'],
    loss: 'nll',
    samples: { total: 4798, test: 960 },
    protocol: { folds: 5, repeats: 'folds', repeatCount: 5, description: '5 speaker folds (~72 train speakers per fold)' },
    hyper: hyper(0.05, 0.1, 200, 0.025, 0.01),
    notes: ['91 speakers; the test fold holds a fifth of them, so a fold has 72 or 73 training clients'],
  },
  ucf101: {
    id: 'ucf101',
    name: 'UCF101',
    task: 'action recognition',
    modalities: [audio(500), video(10)],
    numClasses: 51,
    classNames: numbered('action-', 51),
    multiLabel: false,
    numClients: 100,
    partition: 'dirichlet',
    clientKey: null,
    minClientSize: 5,
    shardsPerClient: 1,
    metric: 'accuracy',
    metrics: ['accuracy', 'top5', 'macro-f1'],
    loss: 'nll',
    samples: { total: 6837, test: 1953 },
    protocol: { folds: 3, repeats: 'folds', repeatCount: 3, description: '3 official splits (test = 7 of the 25 groups each)' },
    hyper: hyper(0.05, 0.1, 200, 0.01, 0.01),
    notes: ['51 classes: those with audio'],
  },
  mit10: {
    id: 'mit10',
    name: 'Moments in Time (10)',
    task: 'action recognition',
    modalities: [audio(150), video(8, '8 frames')],
    numClasses: 10,
    classNames: numbered('moment-', 10),
    multiLabel: false,
    numClients: 200,
    partition: 'dirichlet',
    clientKey: null,
    minClientSize: 5,
    shardsPerClient: 1,
    metric: 'accuracy',
    metrics: ['accuracy', 'top5', 'macro-f1'],
    loss: 'nll',
    samples: { total: 41600, test: 1000 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 5, description: 'official val = test; 5 seeds' },
    hyper: hyper(0.05, 0.05, 300, 0.025, 0.01),
    notes: ['test = the official validation videos, 100 per class'],
  },
  mit51: {
    id: 'mit51',
    name: 'Moments in Time (51)',
    task: 'action recognition',
    modalities: [audio(150), video(8, '8 frames')],
    numClasses: 51,
    classNames: numbered('moment-', 51),
    multiLabel: false,
    numClients: 1000,
    partition: 'dirichlet',
    clientKey: null,
    minClientSize: 5,
    shardsPerClient: 1,
    metric: 'accuracy',
    metrics: ['accuracy', 'top5', 'macro-f1'],
    loss: 'nll',
    samples: { total: 157600, test: 5100 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 5, description: 'official val = test; 5 seeds' },
    hyper: hyper(0.05, 0.05, 300, 0.025, 0.01),
    notes: ['test = the official validation videos, 100 per class'],
  },
  'uci-har': {
    id: 'uci-har',
    name: 'UCI-HAR',
    task: 'human activity recognition',
    modalities: [
      { name: 'acc', dim: 3, maxLen: 128, encoder: 'conv-gru', description: 'body_acc x/y/z, 50 Hz, z-normalised per window' },
      { name: 'gyro', dim: 3, maxLen: 128, encoder: 'conv-gru', description: 'body_gyro x/y/z, 50 Hz, z-normalised per window' },
    ],
    numClasses: 6,
    classNames: ['WALKING', 'WALKING_UPSTAIRS', 'WALKING_DOWNSTAIRS', 'SITTING', 'STANDING', 'LAYING'],
    multiLabel: false,
    numClients: 105,
    partition: 'natural+dirichlet',
    clientKey: 'subject',
    minClientSize: 5,
    shardsPerClient: 5,
    metric: 'macro-f1',
    metrics: ['macro-f1', 'accuracy'],
    loss: 'nll',
    samples: { total: 10299, test: 2947 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 5, description: 'official test subjects; 20% of each train subject as dev (1,462); 5 seeds' },
    hyper: hyper(0.05, 0.1, 200, 0.025, 0.01),
    notes: ['the third-party count 8,979 belongs to KU-HAR (swapped); the official release has 7,352 + 2,947 windows'],
  },
  'ku-har': {
    id: 'ku-har',
    name: 'KU-HAR',
    task: 'human activity recognition',
    modalities: [
      { name: 'acc', dim: 3, maxLen: 64, encoder: 'conv-gru', description: 'accelerometer x/y/z, every 2nd of 128 samples, z-normalised per window' },
      { name: 'gyro', dim: 3, maxLen: 64, encoder: 'conv-gru', description: 'gyroscope x/y/z, every 2nd of 128 samples, z-normalised per window' },
    ],
    numClasses: 8,
    classNames: ['Stand', 'Sit', 'Walk', 'Lay', 'Jump', 'Run', 'Stair-up', 'Stair-down'],
    multiLabel: false,
    numClients: 65,
    partition: 'natural',
    clientKey: 'subject',
    minClientSize: 1,
    shardsPerClient: 1,
    metric: 'macro-f1',
    metrics: ['macro-f1', 'accuracy'],
    loss: 'nll',
    samples: { total: 8979, test: 1796 },
    protocol: { folds: 5, repeats: 'folds', repeatCount: 5, description: '5 subject folds' },
    hyper: hyper(0.05, 0.1, 200, 0.025, 0.01),
    notes: [
      '8 classes as in the code (its README says 18)',
      'sample count 8,979: the third-party summary swaps the two HAR sets (UCI-HAR has 10,299)',
      '82 subjects; a fold holds out a fifth of them, leaving 65 or 66 training clients',
    ],
  },
  'ptb-xl': {
    id: 'ptb-xl',
    name: 'PTB-XL',
    task: 'ECG classification (multi-label)',
    modalities: [
      { name: 'ecg-limb', dim: 6, maxLen: 1000, encoder: 'conv-gru', description: 'leads I, II, III, aVR, aVL, aVF at 100 Hz' },
      { name: 'ecg-chest', dim: 6, maxLen: 1000, encoder: 'conv-gru', description: 'leads V1-V6 at 100 Hz' },
    ],
    numClasses: 5,
    classNames: ['NORM', 'MI', 'STTC', 'CD', 'HYP'],
    multiLabel: true,
    numClients: 33,
    partition: 'natural',
    clientKey: 'site',
    minClientSize: 10,
    shardsPerClient: 1,
    metric: 'multilabel-macro-f1',
    metrics: ['multilabel-macro-f1'],
    loss: 'bce',
    samples: { total: 21700, test: 2170 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 1, description: 'strat_fold 1-8 train, 9 dev, 10 test' },
    hyper: hyper(0.05, 0.25, 200, 0.01, 0.01, 64),
    notes: ['dev is strat_fold 9 (each site keeps its own fold-9 records as its dev split), not 20%'],
  },
  'hateful-memes': {
    id: 'hateful-memes',
    name: 'Hateful Memes',
    task: 'hateful meme detection',
    modalities: [image, text(64)],
    numClasses: 2,
    classNames: ['not-hateful', 'hateful'],
    multiLabel: false,
    numClients: 40,
    partition: 'dirichlet',
    clientKey: null,
    minClientSize: 1,
    shardsPerClient: 1,
    metric: 'auc',
    metrics: ['auc', 'accuracy', 'macro-f1'],
    loss: 'nll',
    samples: { total: 10000, test: 1000 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 1, description: 'train / dev_seen / test_seen' },
    hyper: hyper(0.05, 0.25, 200, 0.005, 0.1),
    notes: [TEXT_LEN_NOTE, 'AUC from scores (the original computes it from hard argmax)'],
  },
  'crisis-mmd': {
    id: 'crisis-mmd',
    name: 'CrisisMMD',
    task: 'crisis information (humanitarian)',
    modalities: [image, text(128)],
    numClasses: 8,
    classNames: [
      'affected_individuals',
      'infrastructure_and_utility_damage',
      'injured_or_dead_people',
      'missing_or_found_people',
      'not_humanitarian',
      'other_relevant_information',
      'rescue_volunteering_or_donation_effort',
      'vehicle_damage',
    ],
    multiLabel: false,
    numClients: 100,
    partition: 'dirichlet',
    clientKey: null,
    minClientSize: 1,
    shardsPerClient: 1,
    metric: 'macro-f1',
    metrics: ['macro-f1', 'accuracy'],
    loss: 'nll',
    samples: { total: 18100, test: 2237 },
    protocol: { folds: 1, repeats: 'seeds', repeatCount: 1, description: 'official splits' },
    hyper: hyper(0.05, 0.1, 200, 0.004, 0.01),
    notes: [TEXT_LEN_NOTE, 'test is the official test split (the original reads it from val)'],
  },
};

/** The registry entry for an id; a clear error for an unknown one. */
export function getDataset(id: string): DatasetSpec {
  if (!(DATASET_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown dataset '${id}'; known: ${DATASET_IDS.join(', ')}`);
  }
  return DATASETS[id as DatasetId];
}

export function listDatasets(): DatasetSpec[] {
  return DATASET_IDS.map((id) => DATASETS[id]);
}

/** The registry as a plain-text table (for `fedmm datasets`). */
export function formatDatasetTable(specs: readonly DatasetSpec[] = listDatasets()): string {
  const header = ['id', 'task', 'modalities', 'classes', 'clients', 'partition', 'metric'];
  const rows = specs.map((s) => [
    s.id,
    s.task,
    s.modalities.map((m) => `${m.name} ${m.maxLen}x${m.dim}`).join(' + '),
    `${s.numClasses}${s.multiLabel ? ' (multi-label)' : ''}`,
    String(s.numClients),
    s.partition,
    s.metric,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
