// Reads what a report shows from disk: one experiment directory (config.json + result.json), or a folder of
// them (a grid). Each experiment brings its runs' metrics.jsonl and partition.json. An experiment still
// running (no result.json yet) is summarized from the rounds its metrics.jsonl holds so far.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getDataset } from '../../data/registry.js';
import { CONFIG_FILE, FAILURE_FILE, METRICS_FILE, PARTITION_FILE, readJson, readMetrics, RESULT_FILE, summarize,
  type ExperimentConfig, type ExperimentResult, type RepeatResult, type RunFailure } from '../results.js';
import { planLabel, repeatsOf } from '../run-options.js';

/** The part of a runtime metrics.jsonl record the report reads. */
export interface RoundLine {
  readonly round: number;
  readonly accepted: number;
  readonly dropped: number;
  readonly trainLoss: number;
  /** Encoded bytes sent to and received from clients (absent in runs before they were counted). */
  readonly bytesDown?: number;
  readonly bytesUp?: number;
  /** Virtual clock at the round's start and the round's virtual duration, seconds (absent in older runs). */
  readonly virtualStart?: number;
  readonly virtualSeconds?: number;
  readonly dev?: Record<string, number>;
  readonly test?: Record<string, number>;
  readonly phases: Record<string, number>;
  /** Private runs: ε spent so far. */
  readonly privacy?: { readonly epsilon?: number };
}

export interface PartitionFile {
  readonly dataset: string;
  readonly classNames: string[];
  readonly modalities: string[];
  readonly numClients: number;
  readonly activeClients: number;
  readonly dev: number;
  readonly test: number;
  readonly clients: { id: number; name: string; train: number; dev: number; labels: number[]; missing: boolean[]; active: boolean }[];
}

export interface RunData {
  readonly name: string;
  readonly rounds: RoundLine[];
  readonly partition: PartitionFile | null;
}

export interface ExperimentData {
  /** Directory name (a grid's cell) or the experiment's label. */
  readonly name: string;
  readonly dir: string;
  readonly config: ExperimentConfig;
  readonly result: ExperimentResult;
  readonly runs: RunData[];
  /** False while the experiment runs (or after it stopped on an error): its result is the best dev round so far. */
  readonly finished: boolean;
  /** Why the experiment stopped, when one of its runs stopped on an error ('seed-8: round 3: …'); else null. */
  readonly failure: string | null;
}

function isExperiment(dir: string): boolean {
  return existsSync(join(dir, CONFIG_FILE));
}

/** A run's result from its metrics.jsonl: the evaluated round with the best dev headline metric so far. */
function runSoFar(name: string, seed: number, fold: number | null, rounds: readonly RoundLine[], metric: string): RepeatResult {
  let best: RoundLine | null = null;
  for (const r of rounds) if (r.dev && r.test && (best === null || r.dev[metric] > best.dev![metric])) best = r;
  return {
    name, seed, fold,
    completedRounds: rounds.length,
    bestRound: best?.round ?? null,
    dev: best?.dev ?? null,
    test: best?.test ?? null,
    elapsedMs: rounds.reduce((a, r) => a + (r.phases.round ?? 0), 0),
    updates: rounds.reduce((a, r) => a + r.accepted, 0),
    dropped: rounds.reduce((a, r) => a + r.dropped, 0),
    epsilon: rounds.at(-1)?.privacy?.epsilon ?? null,
  };
}

function loadRun(dir: string, name: string): RunData {
  const runDir = join(dir, name);
  const partitionPath = join(runDir, PARTITION_FILE);
  return {
    name,
    rounds: readMetrics<RoundLine>(join(runDir, METRICS_FILE)),
    partition: existsSync(partitionPath) ? readJson<PartitionFile>(partitionPath, 'report') : null,
  };
}

function loadExperiment(dir: string, name: string): ExperimentData {
  const config = readJson<ExperimentConfig>(join(dir, CONFIG_FILE), 'report');
  if (existsSync(join(dir, RESULT_FILE))) {
    const result = readJson<ExperimentResult>(join(dir, RESULT_FILE), 'report');
    if (!Array.isArray(result.runs) || typeof result.metric !== 'string') throw new Error(`report: ${join(dir, RESULT_FILE)} is not a fedmm experiment result`);
    return { name, dir, config, result, runs: result.runs.map((r) => loadRun(dir, r.name)), finished: true, failure: null };
  }
  const plan = config.plan;
  if (!plan || !plan.repeats) throw new Error(`report: ${join(dir, CONFIG_FILE)} is not a fedmm experiment config`);
  const metric = getDataset(plan.dataset).metric;
  const repeats = repeatsOf(plan).filter((r) => existsSync(join(dir, r.name, METRICS_FILE)));
  const runs = repeats.map((r) => loadRun(dir, r.name));
  const result = summarize(plan, planLabel(plan), metric, repeats.map((r, i) => runSoFar(r.name, r.seed, r.fold, runs[i].rounds, metric)));
  const failed = repeats.find((r) => existsSync(join(dir, r.name, FAILURE_FILE)));
  const failure = failed ? `${failed.name}: ${readJson<RunFailure>(join(dir, failed.name, FAILURE_FILE), 'report').message}` : null;
  return { name, dir, config, result, runs, finished: false, failure };
}

/** Every experiment in `dir` (itself, or its sub-directories), sorted by name; running ones included. */
export function collectExperiments(dir: string): ExperimentData[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`report: ${dir} is not a directory`);
  if (isExperiment(dir)) {
    const exp = loadExperiment(dir, '');
    return [{ ...exp, name: exp.result.label }];
  }
  const found = readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory() && isExperiment(join(dir, d)))
    .sort()
    .map((d) => loadExperiment(join(dir, d), d));
  if (found.length === 0) throw new Error(`report: no experiment in ${dir} (expected config.json there or in its sub-directories)`);
  return found;
}
