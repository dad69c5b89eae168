// FederatedDataset: the label table, the partition into clients, per-client dev splits, the test set and
// the robustness corruptions. Creating one builds no features; a client's samples appear on first use.
import { Rng } from '../random.js';
import { IndexedDataset, type SampleSource } from './client-dataset.js';
import { numpySplitTrainDev, numpyUciHarPartition } from './numpy-partition.js';
import { devCount, devSplit, dirichletPartition } from './partition.js';
import { getDataset, type DatasetSpec } from './registry.js';
import { corruptLabels, drawLabelMask, drawMissingModalities, labelTransitionMatrix } from './robustness.js';
import { SimulatedSource, simulatedUniverse } from './simulate.js';
import type { ClientDataset, ClientSummary, DataConfig, FederatedDataset, ResolvedDataConfig } from './types.js';
import { openPrepared } from './prepared.js';
import { MAX_POPULATION, Population } from './population.js';
import { checkSource, loadRawSource } from './sources.js';
import { indicesWhere, OFFICIAL_DEV, POOL, TEST, type Universe } from './universe.js';

/** Fills in defaults and checks a DataConfig against a dataset. */
export function resolveConfig(spec: DatasetSpec, config: DataConfig = {}): ResolvedDataConfig {
  const num = (what: string, v: number | undefined, dflt: number, ok: (x: number) => boolean, rule: string): number => {
    const x = v ?? dflt;
    if (typeof x !== 'number' || !ok(x)) throw new Error(`${spec.id}: ${what} must be ${rule}, got ${x}`);
    return x;
  };
  const isInt = (x: number) => Number.isInteger(x) && x >= 0;
  const rate = (x: number) => x >= 0 && x < 1;
  const maxLens = spec.modalities.map((m) => {
    const v = config.maxLen?.[m.name];
    if (v === undefined) return m.maxLen;
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${spec.id}: maxLen.${m.name} must be a positive integer, got ${v}`);
    return v;
  });
  for (const name of Object.keys(config.maxLen ?? {})) {
    if (!spec.modalities.some((m) => m.name === name)) {
      throw new Error(`${spec.id}: maxLen names unknown modality '${name}' (modalities: ${spec.modalities.map((m) => m.name).join(', ')})`);
    }
  }
  const source = config.source ?? { kind: 'simulated' as const };
  checkSource(spec, source);
  const scale = num('scale', config.scale, 1, (x) => x > 0 && x <= 1, 'in (0, 1]');
  if (source.kind !== 'simulated' && scale !== 1) throw new Error(`${spec.id}: scale applies to simulated data only`);
  const labelNoise = num('labelNoise', config.labelNoise, 0, rate, 'in [0, 1)');
  if (labelNoise > 0 && spec.multiLabel) {
    throw new Error(`${spec.id}: erroneous-label simulation is not defined for multi-label data (PTB-XL); use labelNoise 0`);
  }
  const partitionRng = config.partitionRng ?? 'fedmm';
  if (partitionRng !== 'fedmm' && partitionRng !== 'numpy') throw new Error(`${spec.id}: partitionRng must be 'fedmm' or 'numpy', got ${String(partitionRng)}`);
  if (partitionRng === 'numpy' && spec.id !== 'uci-har' && source.kind === 'simulated') {
    throw new Error(`${spec.id}: partitionRng 'numpy' replays the original's partition code on the real files (simulated data: uci-har only)`);
  }
  const clients = config.clients;
  if (clients !== undefined && !(Number.isInteger(clients) && clients >= 1)) throw new Error(`${spec.id}: clients must be a positive integer, got ${clients}`);
  if (clients !== undefined && spec.partition !== 'dirichlet') throw new Error(`${spec.id}: clients applies to Dirichlet partitions only (${spec.id} is ${spec.partition})`);
  const population = config.population;
  if (population !== undefined && !(Number.isInteger(population) && population >= 1 && population <= MAX_POPULATION)) {
    throw new Error(`${spec.id}: population must be an integer in [1, ${MAX_POPULATION}], got ${population}`);
  }
  if (population !== undefined && partitionRng === 'numpy') throw new Error(`${spec.id}: population and partitionRng 'numpy' exclude each other: the paper's schedule is over its own clients`);
  return {
    ...(population === undefined ? {} : { population }),
    seed: num('seed', config.seed, 0, isInt, 'a non-negative integer'),
    dataSeed: num('dataSeed', config.dataSeed, 0, isInt, 'a non-negative integer'),
    alpha: num('alpha', config.alpha, 5.0, (x) => x > 0 && Number.isFinite(x), 'a positive number'),
    scale,
    maxLen: Object.fromEntries(spec.modalities.map((m, k) => [m.name, maxLens[k]])),
    fold: num('fold', config.fold, 0, (x) => isInt(x) && x < spec.protocol.folds, `an integer in [0, ${spec.protocol.folds})`),
    ...(clients === undefined ? {} : { clients }),
    missingModality: num('missingModality', config.missingModality, 0, rate, 'in [0, 1)'),
    missingLabel: num('missingLabel', config.missingLabel, 0, rate, 'in [0, 1)'),
    labelNoise,
    source,
    partitionRng,
  };
}

interface ClientPlan {
  readonly name: string;
  /** The client's id in FedMultimodal's partition when it differs from name (UCI-HAR shards: '<subject>-<shard>'). */
  readonly originalName?: string;
  readonly train: Int32Array;
  readonly dev: Int32Array;
}

interface Plan {
  readonly clients: readonly ClientPlan[];
  readonly test: Int32Array;
  readonly dev: Int32Array;
}

/** Splits n items into `parts` contiguous, nearly equal runs. */
function evenParts(items: Int32Array, parts: number): Int32Array[] {
  return Array.from({ length: parts }, (_, j) => items.slice(Math.floor((j * items.length) / parts), Math.floor(((j + 1) * items.length) / parts)));
}

function pick(positions: Int32Array, base: Int32Array): Int32Array {
  return positions.map((p) => base[p]).sort();
}

/** The original's split_train_dev on a client's samples: keys sorted as strings, numpy seed 8, first fifth dev. */
function numpyDevSplit(pool: Int32Array, u: Universe): { train: Int32Array; dev: Int32Array } {
  const keys = u.keys;
  if (!keys) throw new Error('partitionRng numpy needs the original\'s sample keys, which only real data has');
  const sorted = Array.from(pool).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
  const { train, dev } = numpySplitTrainDev(sorted);
  return { train: Int32Array.from(train).sort(), dev: Int32Array.from(dev).sort() };
}

function buildPlan(spec: DatasetSpec, u: Universe, cfg: ResolvedDataConfig): Plan {
  const root = new Rng(cfg.seed).fork(`partition/${spec.id}/${cfg.fold}`);
  const min = spec.minClientSize;
  const clients: ClientPlan[] = [];
  const groupsInPool = (): number[] => {
    const seen = new Uint8Array(u.numGroups);
    for (let i = 0; i < u.n; i++) if (u.split[i] === POOL && u.group[i] >= 0) seen[u.group[i]] = 1;
    return Array.from(seen.keys()).filter((g) => seen[g] === 1);
  };
  if (spec.partition === 'natural') {
    const officialDev = u.split.includes(OFFICIAL_DEV); // PTB-XL's strat_fold 9, MELD's dev: clients keep all their training samples
    for (const g of groupsInPool()) {
      const pool = indicesWhere(u, POOL, g);
      const { train, dev } = officialDev
        ? { train: pool, dev: indicesWhere(u, OFFICIAL_DEV, g) }
        : cfg.partitionRng === 'numpy' ? numpyDevSplit(pool, u) : devSplit(pool, root.fork(`dev/${g}`));
      if (train.length >= min) clients.push({ name: u.groupNames[g], originalName: u.originalGroupNames?.[g], train, dev });
    }
  } else if (spec.partition === 'natural+dirichlet' && cfg.partitionRng === 'numpy') {
    // The paper's shards: the original code under numpy's generator, on training rows in file order.
    const pool = indicesWhere(u, POOL);
    const paper = numpyUciHarPartition(pool.map((i) => u.group[i]), pool.map((i) => u.labels[i]), cfg.alpha, spec.shardsPerClient);
    const devParts = new Map([...paper.dev].map(([g, rows]) => [g, evenParts(pick(rows, pool), spec.shardsPerClient)]));
    paper.shards.forEach((sh, k) => {
      const j = k % spec.shardsPerClient;
      // the original keys a shard '<subject id>-<shard>' (group names are 'subject-07')
      const originalName = `${Number(u.groupNames[sh.subject].replace(/^subject-/, ''))}-${j}`;
      clients.push({ name: `${u.groupNames[sh.subject]}/shard-${j}`, originalName, train: pick(sh.indices, pool), dev: devParts.get(sh.subject)![j] });
    });
  } else if (spec.partition === 'natural+dirichlet') {
    const shards = spec.shardsPerClient;
    for (const g of groupsInPool()) {
      const { train, dev } = devSplit(indicesWhere(u, POOL, g), root.fork(`dev/${g}`));
      const labels = train.map((i) => u.labels[i]);
      const parts = dirichletPartition(labels, spec.numClasses, shards, cfg.alpha, root.fork(`shards/${g}`), (n) => n >= min);
      const devParts = evenParts(dev, shards);
      parts.forEach((pos, j) => clients.push({ name: `${u.groupNames[g]}/shard-${j}`, train: pick(pos, train), dev: devParts[j] }));
    }
  } else {
    const pool = indicesWhere(u, POOL);
    let need = min;
    while (need - devCount(need) < min) need++;
    let K = cfg.clients ?? Math.max(2, Math.round(spec.numClients * cfg.scale));
    if (cfg.clients === undefined) K = Math.max(1, Math.min(K, Math.floor(pool.length / (2 * need))));
    const labels = pool.map((i) => u.labels[i]);
    const accept = (n: number) => n - devCount(n) >= min;
    const parts = dirichletPartition(labels, spec.numClasses, K, cfg.alpha, root.fork('dirichlet'), accept);
    parts.forEach((pos, k) => {
      const { train, dev } = devSplit(pick(pos, pool), root.fork(`dev/${k}`));
      clients.push({ name: `client-${String(k).padStart(4, '0')}`, train, dev });
    });
  }
  if (clients.length === 0) throw new Error(`${spec.id}: no client has ${min} training samples at scale ${cfg.scale}`);
  // the official dev split (PTB-XL's strat_fold 9, MELD's dev) is the dev set whole, as in the original, also
  // where its samples belong to no training client
  const officialDev = indicesWhere(u, OFFICIAL_DEV);
  const held = new Set(clients.flatMap((c) => Array.from(c.dev)));
  const dev = Int32Array.from([...held, ...Array.from(officialDev).filter((i) => !held.has(i))]).sort();
  return { clients, test: indicesWhere(u, TEST), dev };
}

/** Largest pool (dev, test, centralized) kept in memory after first use: 32M floats (128 MB). */
const POOL_CACHE_FLOATS = 32 * 1024 * 1024;

interface Corruption {
  readonly missing: boolean[];
  readonly indices: Int32Array;
  readonly labels: Int32Array | null;
}

class Federated implements FederatedDataset {
  readonly numClients: number;
  private readonly corruptions: (Corruption | undefined)[];
  private readonly trainSets: (IndexedDataset | undefined)[];
  private active: number[] | null = null;
  private devSet: ClientDataset | undefined;
  private testSet: ClientDataset | undefined;
  private readonly rootRng: Rng;

  constructor(
    readonly spec: DatasetSpec,
    readonly config: ResolvedDataConfig,
    private readonly source: SampleSource,
    private readonly plan: Plan,
  ) {
    this.numClients = plan.clients.length;
    this.corruptions = new Array(this.numClients);
    this.trainSets = new Array(this.numClients);
    this.rootRng = new Rng(config.seed).fork(`robustness/${spec.id}/${config.fold}`);
  }

  private checkClient(k: number): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.numClients)) throw new Error(`${this.spec.id}: client ${k} out of range [0, ${this.numClients})`);
  }

  /** Client k's corruption: drawn from streams forked by client id, so any worker re-draws it alike. */
  private corruption(k: number): Corruption {
    let c = this.corruptions[k];
    if (c) return c;
    const cfg = this.config;
    const train = this.plan.clients[k].train;
    const missing = drawMissingModalities(this.spec.modalities.length, cfg.missingModality, this.rootRng.fork(`missing-modality/${k}`));
    let indices = train;
    if (cfg.missingLabel > 0) {
      const keep = drawLabelMask(train.length, cfg.missingLabel, this.rootRng.fork(`missing-label/${k}`));
      indices = train.filter((_, j) => keep[j] === 1);
    }
    let labels: Int32Array | null = null;
    if (cfg.labelNoise > 0) {
      const r = this.rootRng.fork(`label-noise/${k}`);
      const T = labelTransitionMatrix(this.spec.numClasses, cfg.labelNoise, r);
      labels = corruptLabels(
        indices.map((i) => this.source.label(i)),
        T,
        this.spec.numClasses,
        r,
      );
    }
    c = { missing, indices, labels };
    this.corruptions[k] = c;
    return c;
  }

  get activeClients(): readonly number[] {
    if (!this.active) {
      this.active = [];
      for (let k = 0; k < this.numClients; k++) {
        const c = this.corruption(k);
        if (!c.missing.every((x) => x) && c.indices.length > 0) this.active.push(k);
      }
    }
    return this.active;
  }

  client(k: number): IndexedDataset {
    this.checkClient(k);
    let ds = this.trainSets[k];
    if (!ds) {
      const c = this.corruption(k);
      ds = new IndexedDataset({ id: k, name: this.plan.clients[k].name, source: this.source, indices: c.indices, labels: c.labels, missing: c.missing, cache: true });
      this.trainSets[k] = ds;
    }
    return ds;
  }

  clientDev(k: number): ClientDataset {
    this.checkClient(k);
    return new IndexedDataset({ id: k, name: `${this.plan.clients[k].name}/dev`, source: this.source, indices: this.plan.clients[k].dev });
  }

  centralized(): ClientDataset {
    const all = Int32Array.from(this.plan.clients.flatMap((c) => Array.from(c.train))).sort();
    return new IndexedDataset({ id: -3, name: 'centralized', source: this.source, indices: all, cache: this.fitsCache(all.length) });
  }

  dev(): ClientDataset {
    return (this.devSet ??= new IndexedDataset({ id: -1, name: 'dev', source: this.source, indices: this.plan.dev, cache: this.fitsCache(this.plan.dev.length) }));
  }

  test(): ClientDataset {
    return (this.testSet ??= new IndexedDataset({ id: -2, name: 'test', source: this.source, indices: this.plan.test, cache: this.fitsCache(this.plan.test.length) }));
  }

  /** Pools keep their samples when n samples at full length fit POOL_CACHE_FLOATS; larger ones regenerate per pass. */
  private fitsCache(n: number): boolean {
    const perSample = this.source.maxLens.reduce((a, len, m) => a + len * this.source.dims[m], 0);
    return n * perSample <= POOL_CACHE_FLOATS;
  }

  get originalOrder(): Int32Array {
    const names = this.plan.clients.map((c) => c.originalName ?? c.name);
    return Int32Array.from(names.keys()).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
  }

  summary(): ClientSummary[] {
    const active = new Set(this.activeClients);
    return this.plan.clients.map((p, k) => {
      const c = this.corruption(k);
      const C = this.spec.numClasses;
      const hist = new Int32Array(C);
      c.indices.forEach((i, j) => {
        if (this.spec.multiLabel) {
          const y = this.source.multiHot(i);
          for (let q = 0; q < C; q++) hist[q] += y[q];
        } else hist[c.labels ? c.labels[j] : this.source.label(i)]++;
      });
      return { id: k, name: p.name, train: c.indices.length, dev: p.dev.length, labelHistogram: hist, missing: c.missing, active: active.has(k) };
    });
  }
}

const planCache = new Map<string, { source: SampleSource; plan: Plan }>();
const PLAN_CACHE_LIMIT = 32;

/**
 * The federated dataset `id` under `config`. Deterministic: the same (id, config) gives the same clients,
 * samples and corruptions in any process, so a worker can call this and then .client(k) alone. The label
 * table and partition are cached per process (creating the same dataset again is nearly free).
 */
export function createFederatedDataset(id: string, config: DataConfig = {}): FederatedDataset {
  const spec = getDataset(id);
  const cfg = resolveConfig(spec, config);
  const maxLens = spec.modalities.map((m) => cfg.maxLen[m.name]);
  const key = JSON.stringify([spec.id, cfg.seed, cfg.dataSeed, cfg.alpha, cfg.scale, maxLens, cfg.fold, cfg.clients ?? null, cfg.source, cfg.partitionRng]);
  let entry = planCache.get(key);
  if (!entry) {
    if (cfg.source.kind === 'prepared') {
      const source = openPrepared(spec, cfg.source.path, cfg.fold, maxLens);
      entry = { source, plan: source.plan() };
    } else {
      const { universe, source }: { universe: Universe; source: SampleSource } = cfg.source.kind === 'simulated'
        ? (() => {
            const u = simulatedUniverse(spec, cfg.dataSeed, cfg.scale, cfg.fold);
            return { universe: u, source: new SimulatedSource(spec, u, cfg.dataSeed, maxLens) };
          })()
        : loadRawSource(spec, { kind: cfg.source.kind, path: cfg.source.path }, cfg.fold, maxLens);
      entry = { source, plan: buildPlan(spec, universe, cfg) };
      source.useDevSplit?.(entry.plan.dev);
    }
    if (planCache.size >= PLAN_CACHE_LIMIT) planCache.delete(planCache.keys().next().value!);
    planCache.set(key, entry);
  }
  const fed = new Federated(spec, cfg, entry.source, entry.plan);
  return cfg.population === undefined ? fed : new Population(fed, entry.source, cfg.population);
}
