// RunConfig: everything a federated run needs, defined ONCE in the table FIELDS below. From it come the
// RunConfig type, the validation (`resolveRunConfig`: defaults filled — from the dataset's published
// hyper-parameters when a FedMultimodal dataset is named — and one-line errors naming the field), the resume
// digest (the fields marked `digest`) and the option table of docs/runtime.md (`configOptionTable`).
import { availableParallelism } from 'node:os';
import { checkAggregatorSpec, type AggregatorSpec } from '../aggregate/index.js';
import { getDataset, type HyperParams } from '../data/registry.js';
import type { InjectedFault } from './client-job.js';
import { compressionName, parseCompression } from './compression.js';
import type { TaskSpec } from '../fl/task.js';
import { parseDpConfig, parseSecAggConfig, type DpConfig, type SecAggConfig } from '../privacy/settings.js';

export type Fusion = 'attention' | 'concat';

/** The most rounds a run may have: every round's record stays in memory and in each checkpoint. */
export const MAX_ROUNDS = 1_000_000;
export const MAX_ROUNDS_REASON = 'every round keeps a metrics record in memory and in each checkpoint';
/** Seeds are 32-bit (src/random.ts): larger values would alias smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;
export const MAX_SEED_REASON = 'seeds are 32-bit; larger ones would repeat smaller ones';
/** The default client timeout: far above any honest client's local training, well below "for ever". */
export const DEFAULT_CLIENT_TIMEOUT_MS = 600_000;

/** A fault to inject: the first `times` tries of `client` in `round` fail as `kind`. */
export interface FaultSpec {
  readonly round: number;
  readonly client: number;
  readonly kind: InjectedFault;
  readonly times: number;
}

/** What a field's resolver sees: the raw input, the named dataset's hyper-parameters, and the other fields. */
interface ResolveContext {
  readonly input: Readonly<Record<string, unknown>>;
  readonly hyper: HyperParams | null;
  /** Another field's resolved value (resolved on first use; typed by the caller, as the table's type comes from this table). */
  get(name: string): unknown;
}

interface Field<T> {
  /** The default as the docs' table shows it. */
  readonly shown: string;
  /** The docs' table's description. */
  readonly doc: string;
  /** The field changes results: a resume with a different value is refused. */
  readonly digest: boolean;
  /** True when the field's value changes nothing in this config: it is then left out of the digest, so a
   *  checkpoint written before the field existed still resumes. */
  readonly inert?: (value: T, config: Readonly<Record<string, unknown>>) => boolean;
  /** The field's value from its raw input (undefined when not given); throws `config: <field> must be …`. */
  resolve(raw: unknown, ctx: ResolveContext): T;
}

const field = <T>(f: Field<T>): Field<T> => f;

function fail(name: string, rule: string, value: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new Error(`config: ${name} must be ${rule}, got ${shown}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function num(name: string, v: unknown, ok: (x: number) => boolean, rule: string): number {
  if (!isNum(v) || !ok(v)) fail(name, rule, v);
  return v;
}

function int(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!isInt(v) || v < min || v > max) fail(name, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`, v);
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(name, 'true or false', v);
  return v;
}

const rate = (name: string, v: unknown): number => num(name, v, (x) => x >= 0 && x < 1, 'in [0, 1)');

/** A field that only makes sense with a run directory. */
function needsOutDir(name: string, value: boolean | number, ctx: ResolveContext): void {
  if (value && ctx.get('outDir') === null) throw new Error(`config: ${name} needs an outDir`);
}

/** A switch (default off) that only makes sense with an outDir. */
function outDirSwitch(name: string, doc: string) {
  return field<boolean>({
    shown: 'false', digest: false, doc,
    resolve: (v, c) => {
      const on = bool(name, v ?? false);
      needsOutDir(name, on, c);
      return on;
    },
  });
}

/** A file path or null. */
function pathField(name: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '') fail(name, 'a file path or null', v);
  return v;
}

/** A compression spec in its canonical spelling. */
function compressionField(name: string, v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v !== 'string') fail(name, 'a compression spec string', v);
  try {
    return compressionName(parseCompression(v));
  } catch (e) {
    throw new Error(`config: ${name}: ${(e as Error).message}`);
  }
}

const FAULT_KINDS: readonly InjectedFault[] = ['throw', 'crash', 'malformed', 'nan'];

export const ATTACK_KINDS = ['sign-flip', 'gaussian', 'scaled'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/**
 * A simulated Byzantine attack: a seeded share `attackers` of all clients send a poisoned delta instead of
 * their own: sign-flip −scale·Δ, scaled scale·Δ (both scale 10 by default), gaussian N(0, scale²) noise
 * (scale 1 by default).
 */
export interface AttackSpec {
  readonly kind: AttackKind;
  readonly attackers: number;
  readonly scale: number;
}

/** Raw fault as given: `times` defaults to 1. */
type FaultInput = Omit<FaultSpec, 'times'> & { times?: number };

/** Every field of a run, in the docs' order. */
const FIELDS = {
  dataset: field<string | null>({
    shown: '—', digest: false, doc: "FedMultimodal dataset id; builds `task = { kind: 'fedmultimodal', dataset, … }`",
    resolve: (v) => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') fail('dataset', 'a dataset id', v);
      getDataset(v);
      return v;
    },
  }),
  task: field<TaskSpec>({
    shown: 'from `dataset`', digest: true, doc: "any registered task spec, e.g. `{ kind: 'logistic', numClients: 20 }` (`dataset` or `task` is required)",
    resolve: (v, ctx) => {
      if (v !== undefined) {
        if (v === null || typeof v !== 'object' || typeof (v as TaskSpec).kind !== 'string') fail('task', "an object with a string 'kind'", v);
        return v as TaskSpec;
      }
      const dataset = ctx.get('dataset') as string | null;
      if (dataset === null) throw new Error('config: give a dataset (FedMultimodal id) or a task spec');
      return {
        ...(ctx.get('dataOptions') as Record<string, unknown>), kind: 'fedmultimodal', dataset, dirichletAlpha: ctx.get('dirichletAlpha'), missingModality: ctx.get('missingModality'),
        missingLabel: ctx.get('missingLabel'), labelNoise: ctx.get('labelNoise'), fusion: ctx.get('fusion'), seed: ctx.get('seed'),
      };
    },
  }),
  dirichletAlpha: field<number | null>({
    shown: "null (registry's 5.0)", digest: false, doc: 'Dirichlet α of the partition',
    resolve: (v) => (v === undefined || v === null ? null : num('dirichletAlpha', v, (x) => x > 0, '> 0 or null')),
  }),
  missingModality: field<number>({ shown: '0', digest: false, doc: 'per training client, each modality missing with this probability, in [0, 1)', resolve: (v) => rate('missingModality', v ?? 0) }),
  missingLabel: field<number>({ shown: '0', digest: false, doc: 'share of training labels dropped, in [0, 1)', resolve: (v) => rate('missingLabel', v ?? 0) }),
  labelNoise: field<number>({ shown: '0', digest: false, doc: 'erroneous label rate, in [0, 1)', resolve: (v) => rate('labelNoise', v ?? 0) }),
  fusion: field<Fusion>({
    shown: "`'attention'`", digest: false, doc: "`'attention'` or `'concat'`",
    resolve: (v) => {
      const f = v ?? 'attention';
      if (f !== 'attention' && f !== 'concat') fail('fusion', "'attention' or 'concat'", f);
      return f;
    },
  }),
  dataOptions: field<Readonly<Record<string, unknown>>>({
    shown: '`{}`', digest: false,
    doc: "more FedMultimodal task options: `scale`, `dataSeed`, `fold`, `clients`, `maxLen`, `source` (`{ kind: 'uci-har', path }` for the real data), `dHid`, `evalBatchSize` (default 256), `partitionRng` (`'numpy'`: the paper's exact UCI-HAR shards), `modalities` (indices; one = unimodal)",
    resolve: (v) => {
      const o = v ?? {};
      if (o === null || typeof o !== 'object' || Array.isArray(o)) fail('dataOptions', 'an object', o);
      return o as Record<string, unknown>;
    },
  }),
  algorithm: field<string>({
    shown: "`'fedavg'`", digest: true, doc: '`fedavg`, `fedprox`, `fedrs`, `fedopt`, `scaffold`, or a plugin\'s',
    resolve: (v) => {
      const a = v ?? 'fedavg';
      if (typeof a !== 'string' || !/^[a-z][a-z0-9-]*$/.test(a)) fail('algorithm', 'an algorithm name', a);
      return a;
    },
  }),
  algorithmParams: field<Readonly<Record<string, number | string>>>({
    shown: '`{}`', digest: true,
    doc: 'per algorithm: all take `serverLr`; fedprox `mu` (0.01); fedrs `alpha` (0.9); fedopt `optimizer` (`sgdm` \\| `adam` \\| `yogi` \\| `adagrad`), `serverMomentum` (0.9), `beta1` (0.9), `beta2` (0.99), `tau` (1e-3). The shorthands `serverLr` and `mu` are merged in (an algorithm rejects parameters it does not take)',
    resolve: (v, ctx) => {
      const p: Record<string, number | string> = { ...((v as Record<string, number | string> | undefined) ?? {}) };
      for (const k of SHORTHANDS) if (ctx.input[k] !== undefined) p[k] = ctx.input[k] as number;
      const algorithm = ctx.get('algorithm') as string;
      if (ctx.hyper && algorithm === 'fedopt' && p.serverLr === undefined) p.serverLr = ctx.hyper.serverLr;
      if (ctx.hyper && algorithm === 'fedprox' && p.mu === undefined) p.mu = ctx.hyper.mu;
      return p;
    },
  }),
  rounds: field<number>({ shown: "dataset's, else 10", digest: false, doc: 'federated rounds (a resume may raise it)', resolve: (v, c) => int('rounds', v ?? c.hyper?.rounds ?? 10, 1, MAX_ROUNDS) }),
  clientRate: field<number>({
    shown: "dataset's, else 0.1", digest: true, doc: 'int(rate·N) clients per round (at least 1)',
    resolve: (v, c) => num('clientRate', v ?? c.hyper?.clientRate ?? 0.1, (x) => x > 0 && x <= 1, 'in (0, 1]'),
  }),
  localEpochs: field<number>({ shown: "dataset's, else 1", digest: true, doc: 'local epochs per round', resolve: (v, c) => int('localEpochs', v ?? c.hyper?.localEpochs ?? 1, 1) }),
  batchSize: field<number>({ shown: "dataset's, else 16", digest: true, doc: 'local batch size', resolve: (v, c) => int('batchSize', v ?? c.hyper?.batchSize ?? 16, 1) }),
  lr: field<number>({ shown: "dataset's, else 0.05", digest: true, doc: 'local learning rate', resolve: (v, c) => num('lr', v ?? c.hyper?.localLr ?? 0.05, (x) => x > 0, '> 0') }),
  momentum: field<number>({
    shown: "dataset's, else 0.9", digest: true, doc: 'local SGD momentum',
    resolve: (v, c) => num('momentum', v ?? c.hyper?.momentum ?? 0.9, (x) => x >= 0 && x < 1, 'in [0, 1)'),
  }),
  weightDecay: field<number>({
    shown: "dataset's, else 1e-5", digest: true, doc: 'local SGD weight decay',
    resolve: (v, c) => num('weightDecay', v ?? c.hyper?.weightDecay ?? 1e-5, (x) => x >= 0, '≥ 0'),
  }),
  gradClip: field<number>({
    shown: "dataset's, else 10", digest: true, doc: 'max global L2 norm of the local gradient; 0 disables',
    resolve: (v, c) => num('gradClip', v ?? c.hyper?.gradClip ?? 10, (x) => x >= 0, '≥ 0 (0 disables)'),
  }),
  aggregator: field<AggregatorSpec>({
    shown: "`{ name: 'mean' }`", digest: true,
    doc: "round aggregator: `{ name, trim?, byzantine?, clipNorm? }` with name `mean` (streamed weighted mean), `norm-clip` (`clipNorm`), `median`, `trimmed-mean` (`trim` or `byzantine`), `krum`, `multi-krum`, `bulyan` (`byzantine` f), or a plugin's; a strategy may supply its own",
    resolve: (v) => {
      const a = (v ?? { name: 'mean' }) as AggregatorSpec;
      if (a === null || typeof a !== 'object' || typeof a.name !== 'string') fail('aggregator', "an object with a string 'name'", a);
      for (const k of Object.keys(a)) if (!['name', 'trim', 'byzantine', 'clipNorm'].includes(k)) fail('aggregator', '{ name, trim?, byzantine?, clipNorm? }', a);
      try {
        checkAggregatorSpec(a);
      } catch (e) {
        throw new Error(`config: ${(e as Error).message}`);
      }
      return a;
    },
  }),
  aggregateThreads: field<number>({
    shown: '1', digest: false, doc: 'threads of the native streaming folds on the main thread (the bits do not depend on it)',
    resolve: (v) => {
      const t = int('aggregateThreads', v ?? 1, 1);
      if (t > 64) fail('aggregateThreads', 'an integer in 1..64', t);
      return t;
    },
  }),
  attack: field<AttackSpec | null>({
    shown: 'null', digest: true,
    doc: "simulated attack `{ kind: 'sign-flip' \\| 'gaussian' \\| 'scaled', attackers: share of clients in (0, 1), scale? }` (seeded: the same clients attack in every round)",
    resolve: (v) => {
      if (v === undefined || v === null) return null;
      const a = v as Partial<AttackSpec>;
      if (typeof a !== 'object' || !(ATTACK_KINDS as readonly string[]).includes(a.kind as string)) fail('attack.kind', ATTACK_KINDS.join(' | '), a.kind);
      for (const k of Object.keys(a)) if (!['kind', 'attackers', 'scale'].includes(k)) fail('attack', '{ kind, attackers, scale? }', a);
      const attackers = num('attack.attackers', a.attackers, (x) => x > 0 && x < 1, 'in (0, 1)');
      const scale = num('attack.scale', a.scale ?? (a.kind === 'gaussian' ? 1 : 10), (x) => x > 0, '> 0');
      return { kind: a.kind as AttackKind, attackers, scale };
    },
  }),
  seed: field<number>({ shown: '0', digest: true, doc: 'every random stream of the run forks from it', resolve: (v) => int('seed', v ?? 0, 0, MAX_SEED) }),
  workers: field<number>({
    shown: 'CPU cores', digest: false, doc: 'Piscina worker threads; 0 = clients run one by one on the main thread (same bits)',
    resolve: (v) => int('workers', v ?? availableParallelism(), 0),
  }),
  evalEvery: field<number>({ shown: '1', digest: true, doc: 'evaluate every k rounds and after the last: dev always, test where the dev headline metric improves (the best round\'s test metrics are what a run reports); 0 = never', resolve: (v) => int('evalEvery', v ?? 1, 0) }),
  testEvery: field<number>({
    shown: '0', digest: false,
    doc: 'also evaluate test in every evaluation round that is a multiple of k, for a full test curve (1: every evaluation round, as FedMultimodal); 0 = only where dev improves. The best round and its test metrics do not depend on it',
    resolve: (v) => int('testEvery', v ?? 0, 0),
  }),
  checkpointEvery: field<number>({
    shown: '0', digest: false, doc: 'checkpoint every k rounds (needs `outDir`); 0 = never',
    resolve: (v, c) => {
      const k = int('checkpointEvery', v ?? 0, 0);
      needsOutDir('checkpointEvery', k, c);
      return k;
    },
  }),
  outDir: field<string | null>({
    shown: 'null', digest: false, doc: 'run directory (see below); null = none',
    resolve: (v) => {
      const d = v ?? null;
      if (d !== null && (typeof d !== 'string' || d === '')) fail('outDir', 'a directory path or null', d);
      return d;
    },
  }),
  resume: outDirSwitch('resume', "continue from `outDir`'s latest checkpoint (refused if a result-relevant field differs)"),
  trace: outDirSwitch('trace', 'write `outDir/trace.json` (Chrome trace events)'),
  clientTimeoutMs: field<number>({
    shown: '600000 (10 min)', digest: false, doc: 'a client job running longer is stopped (its worker replaced) and the client dropped; 0 = no limit',
    resolve: (v) => int('clientTimeoutMs', v ?? DEFAULT_CLIENT_TIMEOUT_MS, 0),
  }),
  retryFailed: field<boolean>({ shown: 'true', digest: false, doc: 'retry a client once when its worker throws or dies', resolve: (v) => bool('retryFailed', v ?? true) }),
  minClientFraction: field<number>({
    shown: '0.5', digest: true, doc: 'a round needs ceil(fraction · active sampled clients) accepted updates …',
    resolve: (v) => num('minClientFraction', v ?? 0.5, (x) => x > 0 && x <= 1, 'in (0, 1]'),
  }),
  onShortRound: field<'repeat' | 'stop'>({
    shown: "`'repeat'`", digest: false, doc: "… else repeat it (up to `maxRoundAttempts`) or `'stop'` with an error",
    resolve: (v) => {
      const s = v ?? 'repeat';
      if (s !== 'repeat' && s !== 'stop') fail('onShortRound', "'repeat' or 'stop'", s);
      return s;
    },
  }),
  maxRoundAttempts: field<number>({ shown: '3', digest: false, doc: 'tries of a short round before the run stops', resolve: (v) => int('maxRoundAttempts', v ?? 3, 1) }),
  clientStateBudgetBytes: field<number>({
    shown: '1 GiB', digest: false, doc: 'client-state memory budget before spilling to `outDir/client-state/`',
    resolve: (v) => int('clientStateBudgetBytes', v ?? 2 ** 30, 0),
  }),
  window: field<number>({
    shown: '0 (= 4 per worker)', digest: false, doc: 'clients dispatched ahead of the oldest unfolded one (bounds the reorder buffer)',
    resolve: (v) => int('window', v ?? 0, 0),
  }),
  compress: field<string>({
    shown: "`'none'`", digest: true,
    doc: "update compression on the uplink: `none`, `fp16`, `int8[:B]` (per-block scales, B = 256), `topk:F` (share F of the values, with error feedback), `qsgd:S` (S levels)",
    resolve: (v) => compressionField('compress', v),
  }),
  compressDown: field<string>({
    shown: "`'none'`", digest: true, doc: 'compression of the broadcast (global weights and server vectors): `none`, `fp16`, `int8[:B]`, `qsgd:S`',
    resolve: (v) => {
      const c = compressionField('compressDown', v);
      if (c.startsWith('topk')) fail('compressDown', 'none, fp16, int8[:B] or qsgd:S (top-k would zero most weights)', v);
      return c;
    },
  }),
  deviceTrace: field<string | null>({
    shown: 'null (drawn)', digest: true,
    doc: "FedScale device-capacity trace (JSON `{ id: { computation: ms/sample, communication: kbit/s } }`); null = each client's speed and bandwidth drawn (docs: Virtual clock)",
    resolve: (v) => pathField('deviceTrace', v),
  }),
  availabilityTrace: field<string | null>({
    shown: 'null (always)', digest: true, doc: 'FedScale availability trace (JSON `{ id: { active: [s], inactive: [s], finish_time: s } }`); null = always available',
    resolve: (v) => pathField('availabilityTrace', v),
  }),
  deadline: field<number>({
    shown: '0 (none)', digest: true, doc: 'virtual seconds a selected client has to report; later ones are dropped as late',
    resolve: (v) => num('deadline', v ?? 0, (x) => x >= 0, '≥ 0 (0 = none)'),
  }),
  overSelect: field<number>({
    shown: '1', digest: true, doc: 'draw this many times the clients wanted; the first to finish report (e.g. 1.3)',
    resolve: (v) => num('overSelect', v ?? 1, (x) => x >= 1, '≥ 1'),
  }),
  asyncConcurrency: field<number>({
    shown: '0 (synchronous)', digest: true, inert: (m) => m === 0,
    doc: 'asynchronous FL (FedBuff, docs: Asynchronous FL): clients training at once on the virtual clock; each round is then one server step over `buffer` arrivals. 0 = synchronous rounds',
    resolve: (v, c) => {
      const m = int('asyncConcurrency', v ?? 0, 0);
      if (m > 0) {
        const clash = [
          c.get('dp') !== null && 'dp', c.get('secagg') !== null && 'secagg', (c.get('deadline') as number) > 0 && 'deadline',
          (c.get('overSelect') as number) !== 1 && 'overSelect', (c.get('aggregator') as AggregatorSpec).name !== 'mean' && `aggregator ${(c.get('aggregator') as AggregatorSpec).name}`,
        ].find(Boolean);
        if (clash) throw new Error(`config: asyncConcurrency (FedBuff) does not combine with ${clash}: a buffer is a staleness-weighted mean of the clients that report`);
      }
      return m;
    },
  }),
  buffer: field<number>({
    shown: '10', digest: true, inert: (_k, c) => c.asyncConcurrency === 0, doc: 'FedBuff: client arrivals per server step (needs `asyncConcurrency`)',
    resolve: (v, c) => {
      if (v !== undefined && c.get('asyncConcurrency') === 0) throw new Error('config: buffer needs asyncConcurrency > 0 (FedBuff)');
      return int('buffer', v ?? 10, 1);
    },
  }),
  stalenessExponent: field<number>({
    shown: '0.5', digest: true, inert: (_a, c) => c.asyncConcurrency === 0, doc: 'FedBuff: an update τ server steps stale is scaled by (1 + τ)^−a (0.5: FedBuff\'s 1/√(1 + τ); 0: no discount)',
    resolve: (v, c) => {
      if (v !== undefined && c.get('asyncConcurrency') === 0) throw new Error('config: stalenessExponent needs asyncConcurrency > 0 (FedBuff)');
      return num('stalenessExponent', v ?? 0.5, (x) => x >= 0 && x <= 16, 'in [0, 16]');
    },
  }),
  accuracyTargets: field<readonly number[]>({
    shown: '[0.5, 0.6, 0.7, 0.8, 0.9]', digest: false, doc: "dev headline-metric levels whose first round, virtual time and bytes result.json's `timeToAccuracy` reports",
    resolve: (v) => {
      const t = v ?? [0.5, 0.6, 0.7, 0.8, 0.9];
      if (!Array.isArray(t) || t.some((x) => !isNum(x))) fail('accuracyTargets', 'a list of numbers', t);
      return t as number[];
    },
  }),
  plugins: field<readonly string[]>({
    shown: '`[]`', digest: false, doc: 'module paths/URLs that register tasks or strategies, imported on the main thread and in every worker',
    resolve: (v) => {
      const p = v ?? [];
      if (!Array.isArray(p) || p.some((x) => typeof x !== 'string' || x === '')) fail('plugins', 'a list of module paths', p);
      return p as string[];
    },
  }),
  dp: field<DpConfig | null>({
    shown: 'null', digest: true,
    doc: "client-level DP-FedAvg (docs/privacy.md): `{ clip: C \\| 'adaptive:<quantile>', noise: σ \\| epsilon: ε, mode: 'central' \\| 'local' ('central'), delta (min(1e-5, N^-1.1)) }`; clients are then Poisson-sampled with rate `clientRate`",
    resolve: (v) => parseDpConfig(v),
  }),
  secagg: field<SecAggConfig | null>({
    shown: 'null', digest: true,
    doc: 'secure aggregation (SecAgg+): `true` or `{ neighbors (3⌈log₂ n⌉), threshold (count, or fraction of the k + 1 holders; majority), dropout (0), range (1, fixed-point range without DP) }`',
    resolve: (v) => parseSecAggConfig(v),
  }),
  faults: field<readonly FaultSpec[]>({
    shown: '`[]`', digest: false, doc: "injected faults `{ round, client, kind: 'throw' \\| 'crash' \\| 'malformed' \\| 'nan', times (1) }`",
    resolve: (v) => {
      if (v !== undefined && !Array.isArray(v)) fail('faults', 'a list of faults', v);
      return ((v ?? []) as FaultInput[]).map((f, i) => {
        if (f === null || typeof f !== 'object') fail(`faults[${i}]`, 'an object', f);
        if (!FAULT_KINDS.includes(f.kind)) fail(`faults[${i}].kind`, FAULT_KINDS.join(' | '), f.kind);
        return { round: int(`faults[${i}].round`, f.round, 0), client: int(`faults[${i}].client`, f.client, 0), kind: f.kind, times: int(`faults[${i}].times`, f.times ?? 1, 1) };
      });
    },
  }),
};

/** Input-only shorthands merged into algorithmParams. */
const SHORTHANDS = ['serverLr', 'mu'] as const;

type FieldValue<F> = F extends Field<infer T> ? T : never;

/** A resolved run configuration: one readonly member per field of the table. */
export type RunConfig = { readonly [K in keyof typeof FIELDS]: FieldValue<(typeof FIELDS)[K]> };

/** What a caller gives: any subset of the fields (faults' `times` optional) and the shorthands. */
export type RunConfigInput = Partial<Omit<RunConfig, 'faults'>> & {
  faults?: readonly FaultInput[];
  serverLr?: number;
  mu?: number;
};

const NAMES = Object.keys(FIELDS) as (keyof RunConfig)[];

/** Fills defaults and validates; throws `config: <field> must be …, got …`. */
export function resolveRunConfig(input: RunConfigInput): RunConfig {
  if (input === null || typeof input !== 'object') fail('the run config', 'an object', input);
  const raw = input as Readonly<Record<string, unknown>>;
  for (const k of Object.keys(raw)) if (!(k in FIELDS) && !(SHORTHANDS as readonly string[]).includes(k)) throw new Error(`config: unknown field '${k}'`);
  const values: Partial<Record<keyof RunConfig, unknown>> = {};
  const ctx: ResolveContext = {
    input: raw,
    get hyper() {
      const dataset = ctx.get('dataset') as string | null;
      return dataset === null ? null : getDataset(dataset).hyper;
    },
    get(name) {
      const n = name as keyof RunConfig;
      if (!(n in values)) values[n] = (FIELDS[n] as Field<unknown>).resolve(raw[n], ctx);
      return values[n];
    },
  };
  return Object.fromEntries(NAMES.map((n) => [n, ctx.get(n)])) as RunConfig;
}

/** The fields that change results, as JSON (a resume with a different digest is refused; `rounds` may grow). */
export function configDigest(c: RunConfig): string {
  const inDigest = (n: keyof RunConfig): boolean => {
    const f = FIELDS[n] as Field<unknown>;
    return f.digest && !f.inert?.(c[n], c as Readonly<Record<string, unknown>>);
  };
  return JSON.stringify(Object.fromEntries(NAMES.filter(inDigest).map((n) => [n, c[n]])));
}

/** The markdown option table of docs/runtime.md. */
export function configOptionTable(): string {
  const rows = NAMES.map((n) => `| \`${n}\` | ${FIELDS[n].shown} | ${FIELDS[n].digest ? 'yes' : ''} | ${FIELDS[n].doc} |`);
  rows.push(`| ${SHORTHANDS.map((s) => `\`${s}\``).join(', ')} | — | yes | shorthands merged into \`algorithmParams\` |`);
  return ['| field | default | in digest | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
