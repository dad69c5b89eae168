// The files of an experiment directory and the result summary FedMultimodal-style: for each repeat (seed
// or fold) the test metrics at the best dev round, then their mean and standard deviation.
//
//   <out>/config.json            the plan, the execution settings and the exact command (re-run it as is)
//   <out>/result.json            ExperimentResult (below)
//   <out>/<seed-N|fold-N>/       one run: the runtime's metrics.jsonl, result.json, config.json, model.bin,
//                                checkpoints/, trace.json; the CLI's model.safetensors, partition.json and
//                                manifest.json (size and SHA-256 of the final files, written last), or
//                                failure.json (why the run stopped) when it stopped on an error
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-file.js';
import { meanStd } from './format.js';
import type { Execution, RunPlan } from './run-options.js';

export type MetricMap = Record<string, number>;

/** One repeat's outcome. Metric values are fractions (0.7774 = 77.74 %). */
export interface RepeatResult {
  /** Sub-directory name: 'seed-3', 'fold-2'. */
  readonly name: string;
  readonly seed: number;
  /** 1-based fold, or null for seed repeats. */
  readonly fold: number | null;
  readonly completedRounds: number;
  /** 0-based round with the best dev headline metric (null when never evaluated). */
  readonly bestRound: number | null;
  readonly dev: MetricMap | null;
  readonly test: MetricMap | null;
  readonly elapsedMs: number;
  readonly updates: number;
  readonly dropped: number;
  /** DP runs: ε spent by the end (δ in the run's result.json); null without DP. */
  readonly epsilon: number | null;
}

export interface ExperimentResult {
  readonly version: 1;
  /** 'fedopt attention', 'fedavg acc-only'. */
  readonly label: string;
  readonly dataset: string;
  readonly algorithm: string;
  readonly serverOptimizer: string;
  readonly fusion: string;
  readonly modality: string | null;
  readonly alpha: number | null;
  readonly missingModality: number;
  readonly missingLabel: number;
  readonly labelNoise: number;
  /** The headline metric (model selection on dev, reported on test). */
  readonly metric: string;
  readonly runs: readonly RepeatResult[];
  /** Test metrics at each run's best dev round: mean and sample standard deviation over the runs. */
  readonly mean: MetricMap;
  readonly std: MetricMap;
}

/** What config.json holds. */
export interface ExperimentConfig {
  readonly fedmm: string;
  /** The command that produced the directory, as typed (shell-quoted). */
  readonly command: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly created: string;
  readonly node: string;
  readonly plan: RunPlan;
  readonly execution: Execution;
}

export const CONFIG_FILE = 'config.json';
export const RESULT_FILE = 'result.json';
export const METRICS_FILE = 'metrics.jsonl';
export const PARTITION_FILE = 'partition.json';
export const MODEL_FILE = 'model.safetensors';
export const MANIFEST_FILE = 'manifest.json';
/** Written into a run's directory when the run stops on an error: why, for the report. */
export const FAILURE_FILE = 'failure.json';

/** What failure.json holds. */
export interface RunFailure {
  /** The one-line error the command printed. */
  readonly message: string;
  readonly at: string;
}

/** Writes JSON atomically (temp file, fsync, rename), so a reader never sees half a file. */
export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

export function readJson<T>(path: string, what: string): T {
  if (!existsSync(path)) throw new Error(`${what}: ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${what}: ${path} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Mean and standard deviation of each test metric over the runs that have one. */
export function summarize(plan: RunPlan, label: string, metric: string, runs: readonly RepeatResult[]): ExperimentResult {
  const names = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.test ?? {})) names.add(k);
  const mean: MetricMap = {};
  const std: MetricMap = {};
  for (const k of names) {
    const values = runs.map((r) => r.test?.[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const s = meanStd(values);
    mean[k] = s.mean;
    std[k] = s.std;
  }
  return {
    version: 1,
    label,
    dataset: plan.dataset,
    algorithm: plan.algorithm,
    serverOptimizer: plan.serverOptimizer,
    fusion: plan.fusion,
    modality: plan.modality,
    alpha: plan.alpha,
    missingModality: plan.missingModality,
    missingLabel: plan.missingLabel,
    labelNoise: plan.labelNoise,
    metric,
    runs,
    mean,
    std,
  };
}

/** The data condition of an experiment: 'α 5, missing modality 0.3' or 'natural'. */
export function conditionOf(r: ExperimentResult): string {
  const parts = [r.alpha !== null ? `α ${r.alpha}` : 'natural'];
  if (r.missingModality) parts.push(`missing modality ${r.missingModality}`);
  if (r.missingLabel) parts.push(`missing labels ${r.missingLabel}`);
  if (r.labelNoise) parts.push(`label noise ${r.labelNoise}`);
  return parts.join(', ');
}

/** The parsed lines of a metrics.jsonl (an unparsable line names its number). */
export function readMetrics<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new Error(`${path}:${i + 1}: not a JSON line`);
      }
    });
}
