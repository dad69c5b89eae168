// The options of `fedmm run` (also the keys of a grid cell) and the RunPlan they resolve to: every setting
// of an experiment filled from the flags, else from the dataset's published hyper-parameters.
//
// FedMultimodal's own spellings (--fed_alg, --learning_rate, --missing_modailty_rate …) are aliases; its
// switches --en_att / --en_missing_modality / --en_missing_label / --en_label_nosiy enable a setting with
// the original's default when no rate is given.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { aggregatorNames, checkAggregatorSpec, type AggregatorSpec } from '../aggregate/index.js';
import { DATASET_IDS, getDataset, type DatasetId, type DatasetSpec } from '../data/registry.js';
import { parseDpConfig, parseSecAggConfig } from '../privacy/settings.js';
import { ATTACK_KINDS, DEFAULT_CLIENT_TIMEOUT_MS, MAX_ROUNDS, MAX_ROUNDS_REASON, MAX_SEED, MAX_SEED_REASON, type AttackKind, type AttackSpec } from '../runtime/config.js';
import { compressionName, parseCompression } from '../runtime/compression.js';
import { MAX_POPULATION } from '../data/population.js';
import { parseIntegerList, UsageError, VERBOSE_OPTION, type OptionSpec, type ParsedArgs } from './args.js';

export const ALGORITHMS = ['fedavg', 'fedprox', 'fedrs', 'fedopt', 'scaffold'] as const;
export const SERVER_OPTIMIZERS = ['sgdm', 'adam', 'yogi', 'adagrad'] as const;
export const BACKENDS = ['auto', 'js', 'native', 'gpu'] as const;
const AGGREGATORS = aggregatorNames();
export type Algorithm = (typeof ALGORITHMS)[number];
export type ServerOptimizer = (typeof SERVER_OPTIMIZERS)[number];
export type BackendChoice = (typeof BACKENDS)[number];

/** FedMultimodal's --fed_alg values and its dataset spellings, mapped to fedmm's. */
const ALGORITHM_ALIASES: Record<string, Algorithm> = { fed_avg: 'fedavg', fed_prox: 'fedprox', fed_rs: 'fedrs', fed_opt: 'fedopt' };
const DATASET_ALIASES: Record<string, DatasetId> = { 'crema_d': 'crema-d', hateful_memes: 'hateful-memes', crisis_mmd: 'crisis-mmd', 'ku_har': 'ku-har', 'uci_har': 'uci-har', ptb_xl: 'ptb-xl', 'ptb-xl': 'ptb-xl' };

const rate = { kind: 'number', min: 0, max: 1, openMax: true, value: 'RATE' } as const;

/** The experiment options shared by `run` and grid cells. */
export const EXPERIMENT_OPTIONS: readonly OptionSpec[] = [
  { name: 'dataset', kind: 'string', value: 'ID', help: `dataset: ${DATASET_IDS.join(', ')}` },
  { name: 'data-dir', kind: 'string', value: 'DIR', aliases: ['data_dir'], help: 'real data folder: a prepared dataset (manifest.json; any dataset) or the raw files (docs/datasets.md); default: simulated data' },
  { name: 'alg', kind: 'string', value: 'NAME', aliases: ['fed_alg'], help: 'algorithm: fedavg, fedprox, fedrs, fedopt, scaffold (default fedavg)' },
  { name: 'server-opt', kind: 'string', value: 'NAME', choices: SERVER_OPTIMIZERS, help: 'FedOpt server optimizer (default sgdm, as FedMultimodal)' },
  { name: 'fusion', kind: 'string', value: 'KIND', choices: ['attention', 'concat'], help: 'multimodal fusion (default attention)' },
  { name: 'en_att', kind: 'flag', help: 'FedMultimodal switch: attention fusion (the default here)' },
  { name: 'att_name', kind: 'string', value: 'NAME', choices: ['fuse_base'], help: "FedMultimodal attention name; only 'fuse_base' (attention fusion) exists" },
  { name: 'modality', kind: 'string', value: 'NAME', help: "train on one modality only (unimodal baseline), e.g. acc; 'multimodal' = both (default)" },
  { name: 'rounds', kind: 'integer', min: 1, max: MAX_ROUNDS, maxReason: MAX_ROUNDS_REASON, value: 'N', aliases: ['num_epochs'], help: 'federated rounds (default: published)' },
  { name: 'client-rate', kind: 'number', min: 0, max: 1, openMin: true, value: 'RATE', aliases: ['sample_rate'], help: 'share of clients per round (default: published)' },
  { name: 'clients', kind: 'integer', min: 1, max: MAX_POPULATION, value: 'N', help: "simulate N training clients, each a resample of one of the dataset's own clients (client k: of client k mod B; docs/datasets.md) — for populations larger than the dataset's" },
  { name: 'clients-per-round', kind: 'integer', min: 1, value: 'K', help: 'K clients per round out of --clients N (instead of --client-rate)' },
  { name: 'local-epochs', kind: 'integer', min: 1, value: 'N', aliases: ['local_epochs'], help: 'local epochs per round (default 1)' },
  { name: 'batch-size', kind: 'integer', min: 1, value: 'N', aliases: ['batch_size'], help: 'local batch size (default: published)' },
  { name: 'lr', kind: 'number', min: 0, openMin: true, value: 'LR', aliases: ['learning_rate'], help: 'local learning rate (default: published)' },
  { name: 'server-lr', kind: 'number', min: 0, openMin: true, value: 'LR', aliases: ['global_learning_rate'], help: 'server learning rate (default: published for fedopt, 1 otherwise)' },
  { name: 'mu', kind: 'number', min: 0, value: 'MU', help: 'FedProx proximal weight (default: published)' },
  { name: 'fedrs-alpha', kind: 'number', min: 0, max: 1, value: 'A', help: 'FedRS scale of absent-class logits (default 0.9)' },
  { name: 'hid-size', kind: 'integer', min: 1, value: 'N', aliases: ['hid_size'], help: 'GRU hidden size d_hid (default 128, as every published run)' },
  { name: 'seed', kind: 'integer', min: 0, max: MAX_SEED, maxReason: MAX_SEED_REASON, value: 'N', help: 'training seed (default 0)' },
  { name: 'seeds', kind: 'string', value: 'LIST', help: "several training seeds, e.g. '1,2,3' or '1-5' (one run each; mean ± std)" },
  { name: 'folds', kind: 'string', value: 'LIST', help: "data folds, 1-based, e.g. '1-5' or 'all' (datasets with folds)" },
  { name: 'partition-seed', kind: 'integer', min: 0, max: MAX_SEED, maxReason: MAX_SEED_REASON, value: 'N', help: 'seed of the partition, dev split and corruptions (default 0; fixed across --seeds)' },
  { name: 'alpha', kind: 'number', min: 0, openMin: true, value: 'A', help: 'Dirichlet concentration of the partition (default 5.0; the paper uses 5.0 and 0.1)' },
  { name: 'partition-rng', kind: 'string', value: 'NAME', choices: ['fedmm', 'numpy'], help: "'numpy': FedMultimodal's partition code replayed with numpy's generator (seed 8) — the paper's exact shards and dev splits (uci-har, and any dataset read from its raw files) — and its client schedule (np.random.seed(round)); default fedmm" },
  { name: 'missing-modality', ...rate, aliases: ['missing_modailty_rate', 'missing_modality_rate'], help: 'per training client, each modality missing with this probability' },
  { name: 'en_missing_modality', kind: 'flag', help: 'FedMultimodal switch: missing modality simulation (rate 0.5 unless given)' },
  { name: 'missing-label', ...rate, aliases: ['missing_label_rate'], help: 'share of training labels dropped' },
  { name: 'en_missing_label', kind: 'flag', help: 'FedMultimodal switch: missing label simulation (rate 0.5 unless given)' },
  { name: 'label-noise', ...rate, aliases: ['label_nosiy_level', 'label_noisy_level'], help: 'erroneous label rate' },
  { name: 'en_label_nosiy', kind: 'flag', help: 'FedMultimodal switch: label noise simulation (rate 0.1 unless given)' },
  { name: 'scale', kind: 'number', min: 0, max: 1, openMin: true, value: 'F', help: 'simulate this fraction of the true sample count (default 1)' },
  { name: 'eval-every', kind: 'integer', min: 1, value: 'N', aliases: ['test_frequency'], help: 'evaluate every N rounds: dev always, test where dev improves (default 1)' },
  { name: 'test-every', kind: 'integer', min: 0, value: 'N', help: 'also evaluate test every N rounds, for a full test curve (1: every evaluation round; default 0: only where dev improves, the same reported result)' },
  { name: 'dp-clip', kind: 'string', value: 'C', help: "client-level DP-FedAvg: clip each client's delta to L2 norm C, or 'adaptive:<quantile>' (Andrew et al.); under DP clients are Poisson-sampled with rate --client-rate (the accountant's assumption); docs/privacy.md" },
  { name: 'dp-noise', kind: 'number', min: 0, value: 'σ', help: 'DP noise multiplier σ: N(0, σ²C²) on the sum of clipped deltas' },
  { name: 'dp-epsilon', kind: 'number', min: 0, openMin: true, value: 'ε', help: 'pick σ so that the planned rounds end at ε ≤ this (instead of --dp-noise)' },
  { name: 'dp-delta', kind: 'number', min: 0, max: 1, openMin: true, openMax: true, value: 'δ', help: 'DP δ (default min(1e-5, 1/N^1.1))' },
  { name: 'dp-mode', kind: 'string', value: 'MODE', choices: ['central', 'local'], help: "'central' (server adds noise, default) or 'local' (each client noises its own update)" },
  { name: 'secagg', kind: 'flag', help: 'secure aggregation (SecAgg with the SecAgg+ graph): the server sees only masked updates' },
  { name: 'secagg-threshold', kind: 'number', min: 0, openMin: true, value: 'T', help: 'SecAgg shares needed per secret: a count, or a fraction of the k + 1 holders (default a majority)' },
  { name: 'secagg-neighbors', kind: 'integer', min: 1, value: 'K', help: 'SecAgg+ neighbours per client (default 3⌈log₂ n⌉; ≥ n − 1 = complete graph)' },
  { name: 'secagg-dropout', ...rate, help: 'simulated share of each cohort that vanishes after key sharing (default 0)' },
  { name: 'secagg-range', kind: 'number', min: 0, openMin: true, value: 'R', help: 'SecAgg fixed-point range without DP: coordinates clipped to ±R (default 1)' },
  { name: 'compress', kind: 'string', value: 'SCHEME', help: 'update compression: none, fp16, int8[:B], topk:F (with error feedback), qsgd:S (default none)' },
  { name: 'compress-down', kind: 'string', value: 'SCHEME', help: 'broadcast compression: none, fp16, int8[:B], qsgd:S (default none)' },
  { name: 'device-trace', kind: 'string', value: 'FILE', help: 'FedScale device-capacity trace (JSON) for the virtual clock (default: speeds and bandwidths drawn)' },
  { name: 'availability-trace', kind: 'string', value: 'FILE', help: 'FedScale availability trace (JSON) (default: always available)' },
  { name: 'deadline', kind: 'number', min: 0, openMin: true, value: 'S', help: 'virtual seconds a client has to report; later ones are dropped (default none)' },
  { name: 'over-select', kind: 'number', min: 1, value: 'F', help: 'draw F times the clients wanted; the first to finish report (default 1)' },
  { name: 'async-concurrency', kind: 'integer', min: 1, value: 'M', help: 'asynchronous FL (FedBuff) on the virtual clock: M clients train at once; a round is one server step over --buffer arrivals (default: synchronous rounds)' },
  { name: 'buffer', kind: 'integer', min: 1, value: 'K', help: 'FedBuff: client arrivals per server step (default 10)' },
  { name: 'staleness-exponent', kind: 'number', min: 0, max: 16, value: 'A', help: 'FedBuff: an update τ steps stale is scaled by (1 + τ)^-A (default 0.5: 1/sqrt(1 + τ))' },
  {
    name: 'aggregator', kind: 'string', value: 'NAME', choices: AGGREGATORS,
    help: 'round aggregator, with any --alg (default mean). mean and norm-clip stream: O(P) memory; median, trimmed-mean, krum, multi-krum and bulyan keep every update of a round: O(P·clients) memory',
  },
  { name: 'trim', kind: 'number', min: 0, max: 0.5, openMax: true, value: 'BETA', help: 'trimmed-mean: share trimmed at each end (default 0.1)' },
  { name: 'byzantine', kind: 'integer', min: 0, value: 'F', help: 'krum, multi-krum, bulyan (median, trimmed-mean: optional): Byzantine clients tolerated per round; f ≥ n/2 is refused' },
  { name: 'clip-norm', kind: 'number', min: 0, openMin: true, value: 'C', help: 'norm-clip: largest L2 norm of a client delta' },
  { name: 'attack', kind: 'string', value: 'KIND', choices: ATTACK_KINDS, help: 'simulate Byzantine clients: sign-flip (−s·Δ), scaled (s·Δ), gaussian (N(0, s²) noise)' },
  { name: 'attackers', kind: 'number', min: 0, max: 1, openMin: true, openMax: true, value: 'SHARE', help: 'share of clients that attack (seeded; default 0.2 with --attack)' },
  { name: 'attack-scale', kind: 'number', min: 0, openMin: true, value: 'S', help: 'the attack\'s s (default 10; gaussian 1)' },
];

/** Options about how a run executes (not what it computes). */
export const EXECUTION_OPTIONS: readonly OptionSpec[] = [
  { name: 'backend', kind: 'string', value: 'NAME', choices: BACKENDS, help: 'kernel backend (default auto: native if the addon loads, else js; the GPU only if one answers and is faster in a calibration step)' },
  { name: 'workers', kind: 'integer', min: 0, value: 'N', help: `worker threads (default ${availableParallelism()}, one per core; 0 = main thread)` },
  { name: 'checkpoint-every', kind: 'integer', min: 0, value: 'N', help: 'checkpoint every N rounds (default 0 = never; Ctrl-C always saves the last completed round)' },
  { name: 'client-timeout', kind: 'number', min: 0, max: 86_400, value: 'SECONDS', help: `stop a client's job after this long and count the client as failed (default ${DEFAULT_CLIENT_TIMEOUT_MS / 1000}; 0 = no limit)` },
  { name: 'trace', kind: 'flag', help: 'write a Chrome trace (trace.json, opens in Perfetto) per run' },
  { name: 'quiet', kind: 'flag', help: 'print only errors and the final table' },
  VERBOSE_OPTION,
];

/** How repeats are formed: training seeds, or data folds (1-based). */
export interface Repeats {
  readonly kind: 'seed' | 'fold';
  readonly values: readonly number[];
}

/** Everything that defines one experiment (one cell of a grid): plain JSON, written into config.json. */
export interface RunPlan {
  readonly dataset: DatasetId;
  /** Absolute path of the real data, or null for simulated data. */
  readonly dataDir: string | null;
  readonly algorithm: Algorithm;
  readonly serverOptimizer: ServerOptimizer;
  readonly fusion: 'attention' | 'concat';
  /** The single modality of a unimodal run, or null for both. */
  readonly modality: string | null;
  readonly rounds: number;
  /** --clients: a population of N clients over the dataset's partition, or null for the partition's own clients. */
  readonly population: number | null;
  readonly clientRate: number;
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly serverLr: number;
  readonly mu: number;
  readonly fedrsAlpha: number;
  readonly hidSize: number;
  readonly repeats: Repeats;
  /** Training seed used in fold repeats. */
  readonly seed: number;
  readonly partitionSeed: number;
  /** 'numpy': the paper's exact UCI-HAR shards (FedMultimodal's code under numpy's MT19937); 'fedmm': drawn from partitionSeed. */
  readonly partitionRng: 'fedmm' | 'numpy';
  /** Dirichlet α, or null for natural partitions. */
  readonly alpha: number | null;
  readonly missingModality: number;
  readonly missingLabel: number;
  readonly labelNoise: number;
  readonly scale: number;
  readonly evalEvery: number;
  readonly testEvery: number;
  /** Client-level DP (RunConfig's `dp`), or null. */
  readonly dp: DpPlan | null;
  /** Secure aggregation (RunConfig's `secagg`), or null. */
  readonly secagg: SecAggPlan | null;
  /** Uplink and downlink compression, canonical spelling ('none', 'fp16', 'int8:256', 'topk:0.01', 'qsgd:8'). */
  readonly compress: string;
  readonly compressDown: string;
  /** Absolute paths of the FedScale traces, or null (drawn devices, always available). */
  readonly deviceTrace: string | null;
  readonly availabilityTrace: string | null;
  /** Virtual seconds a client has to report (0 = none); the over-selection factor. */
  readonly deadline: number;
  readonly overSelect: number;
  /** Asynchronous FL (FedBuff): clients training at once (0 = synchronous rounds), arrivals per server step, staleness exponent. */
  readonly asyncConcurrency: number;
  readonly buffer: number;
  readonly stalenessExponent: number;
  /** The round aggregator (RunConfig.aggregator). */
  readonly aggregator: AggregatorSpec;
  /** A simulated attack, or null. */
  readonly attack: AttackSpec | null;
}

/** `dp` as plain JSON: clip norm or 'adaptive:<q>', σ or a target ε. */
export interface DpPlan {
  readonly mode: 'central' | 'local';
  readonly clip: number | string;
  readonly noise?: number;
  readonly epsilon?: number;
  readonly delta?: number;
}

export interface SecAggPlan {
  readonly neighbors?: number;
  readonly threshold?: number;
  readonly dropout: number;
  readonly range?: number;
}

/** How a plan is executed; not part of what it computes. */
export interface Execution {
  readonly backend: BackendChoice;
  readonly workers: number;
  readonly checkpointEvery: number;
  /** Seconds a client's job may run before it is stopped; 0 = no limit. */
  readonly clientTimeout: number;
  readonly trace: boolean;
}

function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

function num(args: ParsedArgs, name: string): number | undefined {
  const v = args.options[name];
  return typeof v === 'number' ? v : undefined;
}

function flag(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}

/** Canonical dataset id of a user's spelling (accepts FedMultimodal's underscores). */
export function datasetId(raw: string): DatasetId {
  const id = DATASET_ALIASES[raw] ?? raw.toLowerCase();
  if (!(DATASET_IDS as readonly string[]).includes(id)) {
    throw new UsageError(`unknown dataset '${raw}'; known: ${DATASET_IDS.join(', ')} (see 'fedmm datasets')`);
  }
  return id as DatasetId;
}

function algorithmOf(raw: string | undefined): Algorithm {
  if (raw === undefined) return 'fedavg';
  const a = ALGORITHM_ALIASES[raw] ?? raw;
  if (!(ALGORITHMS as readonly string[]).includes(a)) throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}; got '${raw}'`);
  return a as Algorithm;
}

function modalityOf(spec: DatasetSpec, raw: string | undefined, fusion: string | undefined): string | null {
  if (raw === undefined || raw === 'multimodal') return null;
  const names = spec.modalities.map((m) => m.name);
  if (!names.includes(raw)) throw new UsageError(`--modality must be one of ${names.join(', ')} or multimodal for ${spec.id}; got '${raw}'`);
  if (fusion === 'concat') throw new UsageError('--modality (one modality) and --fusion concat exclude each other: there is nothing to fuse');
  return raw;
}

/** An existing file's absolute path, or null when the option is not given. */
function pathOf(args: ParsedArgs, name: string): string | null {
  const raw = str(args, name);
  if (raw === undefined) return null;
  const path = resolve(raw);
  if (!existsSync(path)) throw new UsageError(`--${name}: no file ${path}`);
  return path;
}

/** A --compress / --compress-down value in its canonical spelling. */
function compressionOf(args: ParsedArgs, name: string, downlink: boolean): string {
  const raw = str(args, name) ?? 'none';
  let spelled: string;
  try {
    spelled = compressionName(parseCompression(raw));
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
  if (downlink && spelled.startsWith('topk')) throw new UsageError(`--${name}: top-k would zero most weights; use fp16, int8[:B] or qsgd:S`);
  return spelled;
}

function repeatsFromArgs(spec: DatasetSpec, args: ParsedArgs): Repeats {
  const seeds = str(args, 'seeds');
  const folds = str(args, 'folds');
  const seed = num(args, 'seed');
  if (seeds !== undefined && seed !== undefined) throw new UsageError('--seed and --seeds exclude each other; give one');
  if (folds !== undefined && seeds !== undefined) throw new UsageError('--folds and --seeds exclude each other (fold repeats use --seed)');
  if (folds !== undefined) {
    const n = spec.protocol.folds;
    if (n === 1) throw new UsageError(`${spec.id} has one official split; repeat it with --seeds instead of --folds`);
    const values = folds === 'all' ? Array.from({ length: n }, (_, i) => i + 1) : parseIntegerList(folds, '--folds');
    const bad = values.find((f) => f < 1 || f > n);
    if (bad !== undefined) throw new UsageError(`--folds: ${spec.id} has folds 1-${n}; got ${bad}`);
    return { kind: 'fold', values };
  }
  if (seeds !== undefined) {
    const values = parseIntegerList(seeds, '--seeds', MAX_SEED);
    return { kind: 'seed', values };
  }
  return { kind: 'seed', values: [seed ?? 0] };
}

/** --aggregator and its parameters (checked against the aggregator: one-line UsageError). */
function aggregatorOf(args: ParsedArgs): AggregatorSpec {
  const spec: AggregatorSpec = {
    name: str(args, 'aggregator') ?? 'mean',
    ...(num(args, 'trim') !== undefined ? { trim: num(args, 'trim') } : {}),
    ...(num(args, 'byzantine') !== undefined ? { byzantine: num(args, 'byzantine') } : {}),
    ...(num(args, 'clip-norm') !== undefined ? { clipNorm: num(args, 'clip-norm') } : {}),
  };
  try {
    checkAggregatorSpec(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return spec;
}

function attackOf(args: ParsedArgs): AttackSpec | null {
  const kind = str(args, 'attack') as AttackKind | undefined;
  if (kind === undefined) {
    if (num(args, 'attackers') !== undefined || num(args, 'attack-scale') !== undefined) throw new UsageError('--attackers and --attack-scale need --attack');
    return null;
  }
  return { kind, attackers: num(args, 'attackers') ?? 0.2, scale: num(args, 'attack-scale') ?? (kind === 'gaussian' ? 1 : 10) };
}

/** Resolves parsed experiment options into a RunPlan (one-line UsageError on any conflict). */
export function buildPlan(args: ParsedArgs): RunPlan {
  const rawDataset = str(args, 'dataset');
  if (rawDataset === undefined) throw new UsageError(`missing --dataset (one of ${DATASET_IDS.join(', ')})`);
  const dataset = datasetId(rawDataset);
  const spec = getDataset(dataset);
  const h = spec.hyper;
  const algorithm = algorithmOf(str(args, 'alg'));
  const fusionRaw = str(args, 'fusion');
  if (flag(args, 'en_att') && fusionRaw === 'concat') throw new UsageError('--en_att (attention) and --fusion concat exclude each other');
  const modality = modalityOf(spec, str(args, 'modality'), fusionRaw);
  const dataDirRaw = str(args, 'data-dir');
  const scale = num(args, 'scale') ?? 1;
  if (dataDirRaw !== undefined && scale !== 1) throw new UsageError('--scale applies to simulated data only; drop it with --data-dir');
  const alphaRaw = num(args, 'alpha');
  const dirichlet = spec.partition !== 'natural';
  if (alphaRaw !== undefined && !dirichlet) throw new UsageError(`--alpha: ${dataset} is partitioned naturally (one client per ${spec.clientKey}), not by Dirichlet`);
  const serverOptRaw = str(args, 'server-opt');
  if (serverOptRaw !== undefined && algorithm !== 'fedopt') throw new UsageError(`--server-opt applies to --alg fedopt only (got ${algorithm})`);
  const serverOptimizer = (serverOptRaw ?? 'sgdm') as ServerOptimizer;
  const mu = num(args, 'mu');
  if (mu !== undefined && algorithm !== 'fedprox') throw new UsageError(`--mu applies to --alg fedprox only (got ${algorithm})`);
  const fedrsAlpha = num(args, 'fedrs-alpha');
  if (fedrsAlpha !== undefined && algorithm !== 'fedrs') throw new UsageError(`--fedrs-alpha applies to --alg fedrs only (got ${algorithm})`);
  const partitionRng = str(args, 'partition-rng') as 'fedmm' | 'numpy' | undefined;
  if (partitionRng === 'numpy' && dataset !== 'uci-har' && dataDirRaw === undefined) {
    throw new UsageError(`--partition-rng numpy replays the original's partition on real files: give --data-dir (simulated data: uci-har only; got --dataset ${dataset})`);
  }
  if (partitionRng === 'numpy' && num(args, 'clients') !== undefined) throw new UsageError('--clients and --partition-rng numpy exclude each other: the paper\'s partition and schedule are over its own clients');
  if (partitionRng === 'numpy' && num(args, 'partition-seed') !== undefined) throw new UsageError('--partition-seed and --partition-rng numpy exclude each other: the paper\'s partition has its own seed (8)');
  const enabled = (value: number | undefined, on: boolean, dflt: number) => value ?? (on ? dflt : 0);
  const labelNoise = enabled(num(args, 'label-noise'), flag(args, 'en_label_nosiy'), 0.1);
  if (labelNoise > 0 && spec.multiLabel) throw new UsageError(`--label-noise is not defined for multi-label ${dataset}`);
  const serverLrDefault = algorithm === 'fedopt' ? (serverOptimizer === 'sgdm' ? h.serverLr : 0.01) : 1;
  return {
    dataset,
    dataDir: dataDirRaw === undefined ? null : resolve(dataDirRaw),
    algorithm,
    serverOptimizer,
    fusion: (fusionRaw ?? 'attention') as 'attention' | 'concat',
    modality,
    rounds: num(args, 'rounds') ?? h.rounds,
    ...populationOf(args, h.clientRate),
    localEpochs: num(args, 'local-epochs') ?? h.localEpochs,
    batchSize: num(args, 'batch-size') ?? h.batchSize,
    lr: num(args, 'lr') ?? h.localLr,
    serverLr: num(args, 'server-lr') ?? serverLrDefault,
    mu: mu ?? h.mu,
    fedrsAlpha: fedrsAlpha ?? 0.9,
    hidSize: num(args, 'hid-size') ?? 128,
    repeats: repeatsFromArgs(spec, args),
    seed: num(args, 'seed') ?? 0,
    partitionSeed: num(args, 'partition-seed') ?? 0,
    partitionRng: partitionRng ?? 'fedmm',
    alpha: dirichlet ? (alphaRaw ?? 5.0) : null,
    missingModality: enabled(num(args, 'missing-modality'), flag(args, 'en_missing_modality'), 0.5),
    missingLabel: enabled(num(args, 'missing-label'), flag(args, 'en_missing_label'), 0.5),
    labelNoise,
    scale,
    evalEvery: num(args, 'eval-every') ?? 1,
    testEvery: num(args, 'test-every') ?? 0,
    ...privacyAndAggregator(args),
    compress: compressionOf(args, 'compress', false),
    compressDown: compressionOf(args, 'compress-down', true),
    deviceTrace: pathOf(args, 'device-trace'),
    availabilityTrace: pathOf(args, 'availability-trace'),
    deadline: num(args, 'deadline') ?? 0,
    overSelect: num(args, 'over-select') ?? 1,
    ...fedBuffOf(args, algorithm),
    attack: attackOf(args),
  };
}

/**
 * --clients N and the round size: --client-rate, or --clients-per-round K as the rate whose int(rate·N) is K
 * ((K + ½)/N: K/N itself may round to K − 1 in floating point).
 */
function populationOf(args: ParsedArgs, publishedRate: number): Pick<RunPlan, 'population' | 'clientRate'> {
  const population = num(args, 'clients') ?? null;
  const perRound = num(args, 'clients-per-round');
  const rate = num(args, 'client-rate');
  if (perRound === undefined) return { population, clientRate: rate ?? publishedRate };
  if (population === null) throw new UsageError('--clients-per-round needs --clients N (give --client-rate for the dataset\'s own clients)');
  if (rate !== undefined) throw new UsageError('--client-rate and --clients-per-round exclude each other; give one');
  if (perRound > population) throw new UsageError(`--clients-per-round ${perRound} exceeds --clients ${population}`);
  return { population, clientRate: perRound === population ? 1 : (perRound + 0.5) / population };
}

/** --async-concurrency and its FedBuff settings; what a staleness-weighted buffer mean cannot combine with is refused. */
function fedBuffOf(args: ParsedArgs, algorithm: Algorithm): Pick<RunPlan, 'asyncConcurrency' | 'buffer' | 'stalenessExponent'> {
  const concurrency = num(args, 'async-concurrency');
  const buffer = num(args, 'buffer');
  const exponent = num(args, 'staleness-exponent');
  if (concurrency === undefined) {
    if (buffer !== undefined || exponent !== undefined) throw new UsageError('--buffer and --staleness-exponent need --async-concurrency (FedBuff)');
    return { asyncConcurrency: 0, buffer: 10, stalenessExponent: 0.5 };
  }
  const clash = [
    algorithm === 'scaffold' && '--alg scaffold', num(args, 'deadline') !== undefined && '--deadline', num(args, 'over-select') !== undefined && '--over-select',
    str(args, 'dp-clip') !== undefined && '--dp-*', flag(args, 'secagg') && '--secagg', (str(args, 'aggregator') ?? 'mean') !== 'mean' && '--aggregator',
  ].find(Boolean);
  if (clash) throw new UsageError(`--async-concurrency (FedBuff) cannot be combined with ${clash}: a buffer is a staleness-weighted mean of the client deltas that arrive`);
  return { asyncConcurrency: concurrency, buffer: buffer ?? 10, stalenessExponent: exponent ?? 0.5 };
}

/** DP and SecAgg aggregate with their own private mean: another --aggregator is refused with them. */
function privacyAndAggregator(args: ParsedArgs): Pick<RunPlan, 'dp' | 'secagg' | 'aggregator'> {
  const dp = dpPlan(args);
  const secagg = secAggPlan(args);
  const aggregator = aggregatorOf(args);
  if ((dp || secagg) && aggregator.name !== 'mean') {
    throw new UsageError(`--aggregator ${aggregator.name} cannot be combined with ${dp ? '--dp-*' : '--secagg'}: DP and SecAgg aggregate with their own private mean`);
  }
  return { dp, secagg, aggregator };
}

/** --dp-*: null when none is given; --dp-clip and one of --dp-noise / --dp-epsilon are then required. */
function dpPlan(args: ParsedArgs): DpPlan | null {
  const clip = str(args, 'dp-clip');
  const noise = num(args, 'dp-noise');
  const epsilon = num(args, 'dp-epsilon');
  const delta = num(args, 'dp-delta');
  const mode = str(args, 'dp-mode') as 'central' | 'local' | undefined;
  if (clip === undefined && noise === undefined && epsilon === undefined && delta === undefined && mode === undefined) return null;
  if (clip === undefined) throw new UsageError("DP needs --dp-clip (a norm C or 'adaptive:<quantile>')");
  if ((noise === undefined) === (epsilon === undefined)) throw new UsageError('DP needs exactly one of --dp-noise σ and --dp-epsilon ε');
  const plan: DpPlan = {
    mode: mode ?? 'central', clip: Number.isFinite(Number(clip)) ? Number(clip) : clip,
    ...(noise !== undefined ? { noise } : {}), ...(epsilon !== undefined ? { epsilon } : {}), ...(delta !== undefined ? { delta } : {}),
  };
  try {
    parseDpConfig(plan);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^config: dp\.?/, '--dp-').replace('--dp- ', 'DP '));
  }
  return plan;
}

/** --secagg and its parameters (which need --secagg). */
function secAggPlan(args: ParsedArgs): SecAggPlan | null {
  const threshold = num(args, 'secagg-threshold');
  const neighbors = num(args, 'secagg-neighbors');
  const dropout = num(args, 'secagg-dropout');
  const range = num(args, 'secagg-range');
  if (!flag(args, 'secagg')) {
    if ([threshold, neighbors, dropout, range].some((v) => v !== undefined)) throw new UsageError('--secagg-threshold, --secagg-neighbors, --secagg-dropout and --secagg-range need --secagg');
    return null;
  }
  const plan: SecAggPlan = {
    dropout: dropout ?? 0,
    ...(threshold !== undefined ? { threshold } : {}), ...(neighbors !== undefined ? { neighbors } : {}), ...(range !== undefined ? { range } : {}),
  };
  try {
    parseSecAggConfig(plan);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^config: secagg\./, '--secagg-'));
  }
  return plan;
}

/** Resolves the execution options. */
export function buildExecution(args: ParsedArgs): Execution {
  return {
    backend: (str(args, 'backend') ?? 'auto') as BackendChoice,
    workers: num(args, 'workers') ?? availableParallelism(),
    checkpointEvery: num(args, 'checkpoint-every') ?? 0,
    clientTimeout: num(args, 'client-timeout') ?? DEFAULT_CLIENT_TIMEOUT_MS / 1000,
    trace: flag(args, 'trace'),
  };
}

/** One repeat of a plan: its directory name, training seed and 1-based fold (null for seed repeats). */
export interface Repeat {
  readonly name: string;
  readonly seed: number;
  readonly fold: number | null;
}

export function repeatsOf(plan: RunPlan): Repeat[] {
  return plan.repeats.kind === 'seed'
    ? plan.repeats.values.map((s) => ({ name: `seed-${s}`, seed: s, fold: null }))
    : plan.repeats.values.map((f) => ({ name: `fold-${f}`, seed: plan.seed, fold: f }));
}

/** A short label of a plan for tables and directory names: 'fedopt attention', 'fedavg acc-only'. */
export function planLabel(plan: RunPlan): string {
  const alg = plan.algorithm === 'fedopt' && plan.serverOptimizer !== 'sgdm' ? `fedopt-${plan.serverOptimizer}` : plan.algorithm;
  const privacy = [plan.dp ? (plan.dp.mode === 'local' ? 'local-dp' : 'dp') : '', plan.secagg ? 'secagg' : ''].filter(Boolean).join('+');
  const compression = [plan.compress, plan.compressDown === 'none' ? null : `down ${plan.compressDown}`].filter((c) => c !== null && c !== 'none');
  const agg = plan.aggregator.name === 'mean' ? [] : [plan.aggregator.name];
  const attack = plan.attack ? [`under ${plan.attack.kind}`] : [];
  const fedbuff = plan.asyncConcurrency > 0 ? [`async ${plan.asyncConcurrency}/${plan.buffer}`] : [];
  const population = plan.population === null ? [] : [`${plan.population} clients`];
  return [alg, ...agg, plan.modality ? `${plan.modality}-only` : plan.fusion, ...(privacy ? [privacy] : []), ...compression, ...fedbuff, ...population, ...attack].join(' ');
}
