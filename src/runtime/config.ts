// RunConfig: everything a federated run needs, fully specified and validated (one-line errors naming the
// field). `resolveRunConfig` fills defaults — from the dataset's published hyper-parameters when a
// FedMultimodal dataset is named — and checks every field.
import { availableParallelism } from 'node:os';
import { getDataset } from '../data/registry.js';
import type { InjectedFault } from './client-job.js';
import type { TaskSpec } from '../fl/task.js';

export type Fusion = 'attention' | 'concat';

/** A fault to inject: the first `times` tries of `client` in `round` fail as `kind`. */
export interface FaultSpec {
  readonly round: number;
  readonly client: number;
  readonly kind: InjectedFault;
  readonly times: number;
}

export interface RunConfig {
  /** What is trained. Built from `dataset` + the data options below when not given. */
  readonly task: TaskSpec;
  /** FedMultimodal dataset id (informational when `task` was given explicitly). */
  readonly dataset: string | null;
  readonly dirichletAlpha: number | null;
  readonly missingModality: number;
  readonly missingLabel: number;
  readonly labelNoise: number;
  readonly fusion: Fusion;
  /** More FedMultimodal task options merged into the task spec: scale, dataSeed, fold, clients, maxLen,
   *  source ({ kind: 'uci-har', path } for the real data), dHid, evalBatchSize. */
  readonly dataOptions: Readonly<Record<string, unknown>>;
  /** fedavg | fedprox | fedrs | fedopt | scaffold, or a plugin's. */
  readonly algorithm: string;
  /** The algorithm's parameters (serverLr, mu, alpha, optimizer, beta1, beta2, tau, serverMomentum). */
  readonly algorithmParams: Readonly<Record<string, number | string>>;
  readonly rounds: number;
  /** Share of clients sampled per round: int(clientRate·N) clients, at least 1. */
  readonly clientRate: number;
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  readonly seed: number;
  /** Worker threads; 0 runs clients one after another on the main thread (same results). */
  readonly workers: number;
  /** Evaluate on dev and test every this many rounds and after the last; 0 = never (benchmarks). */
  readonly evalEvery: number;
  /** Checkpoint every this many rounds; 0 = never. Needs outDir. */
  readonly checkpointEvery: number;
  /** Run directory (metrics.jsonl, result.json, model.bin, checkpoints/, client-state/, trace.json); null = none. */
  readonly outDir: string | null;
  /** Continue from outDir's latest checkpoint. */
  readonly resume: boolean;
  /** Write a Chrome trace-event file (outDir/trace.json). */
  readonly trace: boolean;
  /** Retry a client once when its worker throws or dies. */
  readonly retryFailed: boolean;
  /** A round needs at least ceil(minClientFraction · sampled) accepted updates. */
  readonly minClientFraction: number;
  /** Below that: repeat the round (up to maxRoundAttempts tries) or stop. */
  readonly onShortRound: 'repeat' | 'stop';
  readonly maxRoundAttempts: number;
  /** Memory budget of the client-state store before it spills to outDir/client-state. */
  readonly clientStateBudgetBytes: number;
  /** Jobs dispatched ahead of the oldest unfolded client (bounds the reorder buffer); 0 = 4 per worker. */
  readonly window: number;
  /** Modules that register extra tasks or strategies, imported on the main thread and in every worker. */
  readonly plugins: readonly string[];
  /** Injected faults (resilience tests and drills). */
  readonly faults: readonly FaultSpec[];
}

export type RunConfigInput = Partial<Omit<RunConfig, 'faults'>> & {
  /** Shorthands merged into algorithmParams. */
  serverLr?: number;
  mu?: number;
  faults?: readonly (Omit<FaultSpec, 'times'> & { times?: number })[];
};

const KNOWN = new Set<string>([
  'task', 'dataset', 'dirichletAlpha', 'missingModality', 'missingLabel', 'labelNoise', 'fusion', 'dataOptions', 'algorithm', 'algorithmParams',
  'rounds', 'clientRate', 'localEpochs', 'batchSize', 'lr', 'momentum', 'weightDecay', 'gradClip', 'seed', 'workers',
  'evalEvery', 'checkpointEvery', 'outDir', 'resume', 'trace', 'retryFailed', 'minClientFraction', 'onShortRound',
  'maxRoundAttempts', 'clientStateBudgetBytes', 'window', 'plugins', 'faults', 'serverLr', 'mu',
]);

const FAULT_KINDS: readonly InjectedFault[] = ['throw', 'crash', 'malformed', 'nan'];

function fail(field: string, rule: string, value: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new Error(`config: ${field} must be ${rule}, got ${shown}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Fills defaults and validates; throws `config: <field> must be …, got …`. */
export function resolveRunConfig(input: RunConfigInput): RunConfig {
  if (input === null || typeof input !== 'object') fail('the run config', 'an object', input);
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) throw new Error(`config: unknown field '${k}'`);
  const dataset = input.dataset ?? null;
  if (dataset === null && input.task === undefined) throw new Error('config: give a dataset (FedMultimodal id) or a task spec');
  const hyper = dataset !== null ? getDataset(dataset).hyper : null;

  const num = (field: string, v: unknown, ok: (x: number) => boolean, rule: string): number => {
    if (!isNum(v) || !ok(v)) fail(field, rule, v);
    return v;
  };
  const int = (field: string, v: unknown, min: number): number => {
    if (!isInt(v) || v < min) fail(field, `an integer ≥ ${min}`, v);
    return v;
  };
  const bool = (field: string, v: unknown): boolean => {
    if (typeof v !== 'boolean') fail(field, 'true or false', v);
    return v;
  };
  const rate = (field: string, v: unknown) => num(field, v, (x) => x >= 0 && x < 1, 'in [0, 1)');

  const seed = int('seed', input.seed ?? 0, 0);
  const dirichletAlpha = input.dirichletAlpha === undefined || input.dirichletAlpha === null ? null : num('dirichletAlpha', input.dirichletAlpha, (x) => x > 0, '> 0 or null');
  const missingModality = rate('missingModality', input.missingModality ?? 0);
  const missingLabel = rate('missingLabel', input.missingLabel ?? 0);
  const labelNoise = rate('labelNoise', input.labelNoise ?? 0);
  const fusion = input.fusion ?? 'attention';
  if (fusion !== 'attention' && fusion !== 'concat') fail('fusion', "'attention' or 'concat'", fusion);

  const dataOptions = input.dataOptions ?? {};
  if (dataOptions === null || typeof dataOptions !== 'object' || Array.isArray(dataOptions)) fail('dataOptions', 'an object', dataOptions);
  let task: TaskSpec;
  if (input.task !== undefined) {
    if (input.task === null || typeof input.task !== 'object' || typeof input.task.kind !== 'string') fail('task', "an object with a string 'kind'", input.task);
    task = input.task;
  } else {
    task = { ...dataOptions, kind: 'fedmultimodal', dataset: dataset!, dirichletAlpha, missingModality, missingLabel, labelNoise, fusion, seed };
  }

  const algorithm = input.algorithm ?? 'fedavg';
  if (typeof algorithm !== 'string' || !/^[a-z][a-z0-9-]*$/.test(algorithm)) fail('algorithm', 'an algorithm name', algorithm);
  const algorithmParams: Record<string, number | string> = { ...(input.algorithmParams ?? {}) };
  if (input.serverLr !== undefined) algorithmParams.serverLr = input.serverLr;
  if (input.mu !== undefined) algorithmParams.mu = input.mu;
  if (hyper && algorithm === 'fedopt' && algorithmParams.serverLr === undefined) algorithmParams.serverLr = hyper.serverLr;
  if (hyper && algorithm === 'fedprox' && algorithmParams.mu === undefined) algorithmParams.mu = hyper.mu;

  const workers = int('workers', input.workers ?? availableParallelism(), 0);
  const outDir = input.outDir ?? null;
  if (outDir !== null && (typeof outDir !== 'string' || outDir === '')) fail('outDir', 'a directory path or null', outDir);
  const checkpointEvery = int('checkpointEvery', input.checkpointEvery ?? 0, 0);
  if (checkpointEvery > 0 && outDir === null) throw new Error('config: checkpointEvery needs an outDir');
  const resume = bool('resume', input.resume ?? false);
  if (resume && outDir === null) throw new Error('config: resume needs an outDir');
  const trace = bool('trace', input.trace ?? false);
  if (trace && outDir === null) throw new Error('config: trace needs an outDir');
  const onShortRound = input.onShortRound ?? 'repeat';
  if (onShortRound !== 'repeat' && onShortRound !== 'stop') fail('onShortRound', "'repeat' or 'stop'", onShortRound);
  const plugins = input.plugins ?? [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string' || p === '')) fail('plugins', 'a list of module paths', plugins);
  const faults = (input.faults ?? []).map((f, i) => {
    if (f === null || typeof f !== 'object') fail(`faults[${i}]`, 'an object', f);
    if (!FAULT_KINDS.includes(f.kind)) fail(`faults[${i}].kind`, FAULT_KINDS.join(' | '), f.kind);
    return { round: int(`faults[${i}].round`, f.round, 0), client: int(`faults[${i}].client`, f.client, 0), kind: f.kind, times: int(`faults[${i}].times`, f.times ?? 1, 1) };
  });

  return {
    task,
    dataset,
    dirichletAlpha,
    missingModality,
    missingLabel,
    labelNoise,
    fusion,
    dataOptions,
    algorithm,
    algorithmParams,
    rounds: int('rounds', input.rounds ?? hyper?.rounds ?? 10, 1),
    clientRate: num('clientRate', input.clientRate ?? hyper?.clientRate ?? 0.1, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    localEpochs: int('localEpochs', input.localEpochs ?? hyper?.localEpochs ?? 1, 1),
    batchSize: int('batchSize', input.batchSize ?? hyper?.batchSize ?? 16, 1),
    lr: num('lr', input.lr ?? hyper?.localLr ?? 0.05, (x) => x > 0, '> 0'),
    momentum: num('momentum', input.momentum ?? hyper?.momentum ?? 0.9, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    weightDecay: num('weightDecay', input.weightDecay ?? hyper?.weightDecay ?? 1e-5, (x) => x >= 0, '≥ 0'),
    gradClip: num('gradClip', input.gradClip ?? hyper?.gradClip ?? 10, (x) => x >= 0, '≥ 0 (0 disables)'),
    seed,
    workers,
    evalEvery: int('evalEvery', input.evalEvery ?? 1, 0),
    checkpointEvery,
    outDir,
    resume,
    trace,
    retryFailed: bool('retryFailed', input.retryFailed ?? true),
    minClientFraction: num('minClientFraction', input.minClientFraction ?? 0.5, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    onShortRound,
    maxRoundAttempts: int('maxRoundAttempts', input.maxRoundAttempts ?? 3, 1),
    clientStateBudgetBytes: int('clientStateBudgetBytes', input.clientStateBudgetBytes ?? 2 ** 30, 0),
    window: int('window', input.window ?? 0, 0),
    plugins,
    faults,
  };
}
