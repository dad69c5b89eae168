// Runs one experiment (a RunPlan: one or more repeats over seeds or folds) into its directory through the
// runtime's runFederated, and writes what the CLI adds: config.json, partition.json, model.safetensors per
// run, and the summary result.json. Every file is written atomically; a finished run's manifest.json records
// the size and SHA-256 of its final files, and a resume recomputes (from the last good checkpoint) any run
// whose final files no longer match it.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../backend/index.js';
import { createFederatedDataset } from '../data/federated.js';
import { getDataset } from '../data/registry.js';
import { detectSource } from '../data/sources.js';
import type { DataConfig } from '../data/types.js';
import { createModel } from '../models/factory.js';
import { createTask, type TaskSpec } from '../fl/task.js';
import { parseDpConfig, parseSecAggConfig } from '../privacy/settings.js';
import { runFederated, type RoundRecord, type RunConfigInput, type RunResult } from '../runtime/index.js';
import type { RunHooks } from '../runtime/scheduler.js';
import { loadBuiltins } from '../runtime/plugins.js';
import { digestMismatch, fileDigest, writeFileAtomic, type FileDigest } from '../io/atomic-file.js';
import { outputDirProblem } from '../io/paths.js';
import { UsageError } from './args.js';
import type { Progress } from './progress.js';
import { duration, pct } from './format.js';
import { planLabel, repeatsOf, type Execution, type Repeat, type RunPlan } from './run-options.js';
import {
  CONFIG_FILE, FAILURE_FILE, MANIFEST_FILE, METRICS_FILE, MODEL_FILE, PARTITION_FILE, RESULT_FILE, readJson, summarize, writeJson,
  type ExperimentConfig, type ExperimentResult, type RepeatResult, type RunFailure,
} from './results.js';
import { encodeSafetensors, tensorsFromFlat } from './safetensors.js';
import { VERSION } from './version.js';

/** The data configuration of one repeat (the partition seed stays fixed across training seeds, as FedMultimodal). */
export function dataConfig(plan: RunPlan, repeat: Repeat): DataConfig {
  return {
    seed: plan.partitionSeed,
    alpha: plan.alpha ?? undefined,
    scale: plan.scale,
    fold: repeat.fold === null ? 0 : repeat.fold - 1,
    missingModality: plan.missingModality,
    missingLabel: plan.missingLabel,
    labelNoise: plan.labelNoise,
    source: plan.dataDir === null ? { kind: 'simulated' } : detectSource(getDataset(plan.dataset), plan.dataDir),
    partitionRng: plan.partitionRng,
    ...(plan.population === null ? {} : { population: plan.population }),
  };
}

/** Indices of the modalities the model reads. */
function modalityIndices(plan: RunPlan): number[] {
  const spec = getDataset(plan.dataset);
  return plan.modality === null ? spec.modalities.map((_, i) => i) : [spec.modalities.findIndex((m) => m.name === plan.modality)];
}

/** The data conditions and fusion, named as both the task spec and the runtime config name them. */
function conditions(plan: RunPlan) {
  return { dirichletAlpha: plan.alpha, missingModality: plan.missingModality, missingLabel: plan.missingLabel, labelNoise: plan.labelNoise, fusion: plan.fusion };
}

/** The runtime's task spec for one repeat (src/fl/fedmultimodal.ts); `modalities` only for unimodal runs. */
export function taskSpec(plan: RunPlan, repeat: Repeat): TaskSpec {
  const data = dataConfig(plan, repeat);
  return {
    kind: 'fedmultimodal',
    dataset: plan.dataset,
    ...conditions(plan),
    seed: data.seed,
    scale: data.scale,
    fold: data.fold,
    source: data.source,
    partitionRng: data.partitionRng,
    ...(data.population === undefined ? {} : { population: data.population }),
    dHid: plan.hidSize,
    ...(plan.modality === null ? {} : { modalities: modalityIndices(plan) }),
  };
}

function algorithmParams(plan: RunPlan): Record<string, number | string> {
  switch (plan.algorithm) {
    case 'fedopt':
      return { optimizer: plan.serverOptimizer, serverLr: plan.serverLr };
    case 'fedprox':
      return { mu: plan.mu, serverLr: plan.serverLr };
    case 'fedrs':
      return { alpha: plan.fedrsAlpha, serverLr: plan.serverLr };
    default:
      return { serverLr: plan.serverLr };
  }
}

/** The runtime configuration of one repeat. */
export function runConfig(plan: RunPlan, exec: Execution, repeat: Repeat, dir: string, resume: boolean): RunConfigInput {
  return {
    task: taskSpec(plan, repeat),
    dataset: plan.dataset,
    ...conditions(plan),
    algorithm: plan.algorithm,
    algorithmParams: algorithmParams(plan),
    rounds: plan.rounds,
    clientRate: plan.clientRate,
    localEpochs: plan.localEpochs,
    batchSize: plan.batchSize,
    lr: plan.lr,
    seed: repeat.seed,
    workers: exec.workers,
    evalEvery: plan.evalEvery,
    testEvery: plan.testEvery,
    compress: plan.compress,
    compressDown: plan.compressDown,
    deviceTrace: plan.deviceTrace,
    availabilityTrace: plan.availabilityTrace,
    deadline: plan.deadline,
    overSelect: plan.overSelect,
    ...(plan.asyncConcurrency > 0 ? { asyncConcurrency: plan.asyncConcurrency, buffer: plan.buffer, stalenessExponent: plan.stalenessExponent } : {}),
    aggregator: plan.aggregator,
    attack: plan.attack,
    checkpointEvery: exec.checkpointEvery,
    clientTimeoutMs: Math.round(1000 * exec.clientTimeout),
    outDir: dir,
    resume,
    trace: exec.trace,
    dp: parseDpConfig(plan.dp),
    secagg: parseSecAggConfig(plan.secagg),
  };
}

/** partition.json: per client its train/dev sizes, label histogram and missing modalities. */
function writePartition(plan: RunPlan, repeat: Repeat, dir: string): void {
  const { population, ...ownClients } = dataConfig(plan, repeat);
  const fed = createFederatedDataset(plan.dataset, { ...ownClients, population });
  // A population lists the partition's own B clients (its members resample them: client k, base k mod B), not N rows.
  const base = population === undefined ? fed : createFederatedDataset(plan.dataset, ownClients);
  const rows = base.summary();
  writeJson(join(dir, PARTITION_FILE), {
    dataset: plan.dataset,
    classNames: fed.spec.classNames,
    modalities: fed.spec.modalities.map((m) => m.name),
    numClients: fed.numClients,
    activeClients: fed.activeClients.length,
    ...(population === undefined ? {} : { population: { clients: population, baseClients: base.numClients, member: 'client k is a seeded resample of base client k mod baseClients (listed in clients)' } }),
    dev: fed.dev().size,
    test: fed.test().size,
    clients: rows.map((r) => ({ id: r.id, name: r.name, train: r.train, dev: r.dev, labels: Array.from(r.labelHistogram), missing: r.missing, active: r.active })),
  });
}

/** model.safetensors: the final global weights under the PyTorch parameter names of the original model. */
export function writeModel(plan: RunPlan, weights: Float32Array, path: string, extra: Record<string, string>): void {
  const model = createModel(getDataset(plan.dataset), { fusion: plan.fusion, dHid: plan.hidSize, modalities: modalityIndices(plan) });
  const { layout, params } = model.flatten();
  if (params.length !== weights.length) {
    throw new Error(`model.safetensors: the ${plan.dataset} model has ${params.length} parameters, the run produced ${weights.length}`);
  }
  const meta = { format: 'pt', fedmm: VERSION, dataset: plan.dataset, algorithm: plan.algorithm, fusion: plan.modality ? `${plan.modality}-only` : plan.fusion, ...extra };
  writeFileAtomic(path, encodeSafetensors(tensorsFromFlat(layout, weights), meta));
}

/** The final files of a finished run, recorded in its manifest.json. */
const FINAL_FILES = [MODEL_FILE, 'model.bin', RESULT_FILE, METRICS_FILE, PARTITION_FILE, CONFIG_FILE];

interface Manifest {
  readonly version: 1;
  readonly files: Record<string, FileDigest>;
}

/** Records the size and SHA-256 of a finished run's final files (written last: its presence means done). */
function writeManifest(dir: string): void {
  const files: Record<string, FileDigest> = {};
  for (const name of FINAL_FILES) files[name] = fileDigest(join(dir, name));
  writeJson(join(dir, MANIFEST_FILE), { version: 1, files } satisfies Manifest);
}

/**
 * Why a run directory that claims to be finished is not intact ('model.safetensors is damaged (147 bytes,
 * expected 1680000)'), or null when it is intact or does not claim to be finished.
 */
export function damagedRun(dir: string): string | null {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    if (!existsSync(join(dir, RESULT_FILE)) && !existsSync(join(dir, MODEL_FILE))) return null;
    try {
      // An interrupted run is unfinished, not damaged: it resumes from its checkpoint.
      if (readJson<RuntimeResult>(join(dir, RESULT_FILE), 'resume').aborted === true) return null;
    } catch {
      // An unreadable result.json is damage like any other.
    }
    return `its final files were not all written (no ${MANIFEST_FILE})`;
  }
  let manifest: Manifest;
  try {
    manifest = readJson<Manifest>(manifestPath, 'resume');
  } catch (e) {
    return (e as Error).message;
  }
  for (const name of FINAL_FILES) {
    const expected = manifest.files?.[name];
    if (!expected) return `${manifestPath} does not record ${name}`;
    const why = digestMismatch(join(dir, name), expected);
    if (why !== null) return `${name} is damaged (${why})`;
  }
  return null;
}

/** The runtime's own result.json of a finished repeat, when present and complete. */
interface RuntimeResult {
  completedRounds: number;
  aborted: boolean;
  best: { round: number; dev: Record<string, number>; test: Record<string, number> } | null;
  headlineMetric: string;
  totals: { updates: number; dropped: number };
  elapsedMs: number;
  privacy?: { dp: { epsilon: number; delta: number } | null };
}

function repeatResult(repeat: Repeat, r: RuntimeResult): RepeatResult {
  return {
    name: repeat.name,
    seed: repeat.seed,
    fold: repeat.fold,
    completedRounds: r.completedRounds,
    bestRound: r.best?.round ?? null,
    dev: r.best?.dev ?? null,
    test: r.best?.test ?? null,
    elapsedMs: r.elapsedMs,
    updates: r.totals.updates,
    dropped: r.totals.dropped,
    epsilon: r.privacy?.dp?.epsilon ?? null,
  };
}

/** A finished repeat's runtime result when its directory is intact and complete, else null. */
function finishedRepeat(plan: RunPlan, dir: string): RuntimeResult | null {
  if (!existsSync(join(dir, MANIFEST_FILE)) || damagedRun(dir) !== null) return null;
  const r = readJson<RuntimeResult>(join(dir, RESULT_FILE), 'resume');
  return !r.aborted && r.completedRounds === plan.rounds ? r : null;
}

export interface ExperimentOptions {
  readonly out: string;
  /** The command line recorded in config.json. */
  readonly argv: readonly string[];
  /** Continue an interrupted experiment in `out` (finished repeats are kept, others resume from checkpoints). */
  readonly resume: boolean;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
  /** Prefix of progress labels (a grid shows its cell). */
  readonly labelPrefix?: string;
  /** Opens, per repeat, the executor that trains its clients elsewhere (the cluster); default: local threads. */
  readonly executor?: () => Promise<NonNullable<RunHooks['executor']>>;
}

/** Shell-quotes argv so the recorded command can be pasted back. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The settings in which two plans differ. */
function planDifferences(a: RunPlan, b: RunPlan): string[] {
  return (Object.keys(a) as (keyof RunPlan)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * Runs every repeat of `plan` into options.out and writes result.json. Returns null when interrupted
 * (the checkpoints and finished repeats stay; --resume continues).
 */
export async function runExperiment(plan: RunPlan, exec: Execution, options: ExperimentOptions): Promise<ExperimentResult | null> {
  const { out, progress } = options;
  const outProblem = outputDirProblem(out);
  if (outProblem !== null) throw new UsageError(outProblem);
  const configPath = join(out, CONFIG_FILE);
  if (existsSync(configPath)) {
    if (!options.resume) {
      throw new UsageError(`${out} already holds an experiment; pass --resume to continue it or choose another --out`, 1);
    }
    const previous = readJson<ExperimentConfig>(configPath, '--resume');
    const differs = planDifferences(previous.plan, plan);
    if (differs.length) throw new UsageError(`--resume: ${out} holds a different experiment (differs in ${differs.join(', ')})`, 1);
  } else {
    // Build each repeat's task (data, partition, model) once before writing anything, so bad data or a
    // setting the task refuses leaves no directory behind.
    await loadBuiltins();
    for (const repeat of repeatsOf(plan)) await createTask(taskSpec(plan, repeat));
    mkdirSync(out, { recursive: true });
    const config: ExperimentConfig = {
      fedmm: VERSION,
      command: shellCommand(['fedmm', ...options.argv]),
      argv: options.argv,
      cwd: process.cwd(),
      created: new Date().toISOString(),
      node: process.version,
      plan,
      execution: exec,
    };
    writeJson(configPath, config);
  }
  process.env.FEDMM_BACKEND = exec.backend;
  useBackend(exec.backend);
  const label = `${options.labelPrefix ?? ''}${plan.dataset} ${planLabel(plan)}`;
  const metric = getDataset(plan.dataset).metric;
  const runs: RepeatResult[] = [];
  for (const repeat of repeatsOf(plan)) {
    const dir = join(out, repeat.name);
    const done = options.resume ? finishedRepeat(plan, dir) : null;
    if (done) {
      progress.note(`${label} ${repeat.name}: finished earlier, kept`);
      runs.push(repeatResult(repeat, done));
      continue;
    }
    const damaged = options.resume ? damagedRun(dir) : null;
    if (damaged !== null) {
      const from = existsSync(join(dir, 'checkpoints', 'latest.json')) ? 'the last good checkpoint' : 'round 0 (it has no checkpoint)';
      progress.note(`${label} ${repeat.name}: ${damaged}; recomputing from ${from}`);
      rmSync(join(dir, MANIFEST_FILE), { force: true });
    }
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, FAILURE_FILE), { force: true });
    writePartition(plan, repeat, dir);
    progress.start(`${label} ${repeat.name}`, plan.rounds, metric);
    let result: RunResult;
    try {
      result = await runFederated(runConfig(plan, exec, repeat, dir, options.resume), {
        onRound: (r: RoundRecord) => progress.round(r),
        signal: options.signal,
        log: (line) => progress.note(line),
        executor: options.executor ? await options.executor() : undefined,
      });
    } catch (e) {
      writeJson(join(dir, FAILURE_FILE), { message: (e as Error).message, at: new Date().toISOString() } satisfies RunFailure);
      throw e;
    }
    if (result.aborted) {
      progress.finish(`interrupted after round ${result.completedRounds}`);
      return null;
    }
    writeModel(plan, result.weights, join(dir, MODEL_FILE), { seed: String(repeat.seed), fold: String(repeat.fold ?? ''), rounds: String(result.completedRounds) });
    writeManifest(dir);
    const summary = repeatResult(repeat, result);
    const best = summary.test?.[metric];
    const dp = result.privacy?.dp;
    const privacy = dp ? `; (ε, δ) = (${dp.epsilon.toFixed(2)}, ${dp.delta})` : '';
    progress.finish(`done in ${duration(result.elapsedMs)}; test ${metric} ${pct(best)}% (best dev round ${summary.bestRound === null ? '-' : summary.bestRound + 1})${privacy}`);
    runs.push(summary);
  }
  const summary = summarize(plan, planLabel(plan), metric, runs);
  writeJson(join(out, RESULT_FILE), summary);
  return summary;
}
