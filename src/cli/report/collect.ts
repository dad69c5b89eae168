// Reads what a report shows from disk: one experiment directory (config.json + result.json), or a folder of
// them (a grid). Each experiment brings its runs' metrics.jsonl and partition.json.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE, METRICS_FILE, PARTITION_FILE, readJson, readMetrics, RESULT_FILE, type ExperimentConfig, type ExperimentResult } from '../results.js';

/** The part of a runtime metrics.jsonl record the report reads. */
export interface RoundLine {
  readonly round: number;
  readonly accepted: number;
  readonly dropped: number;
  readonly trainLoss: number;
  readonly dev?: Record<string, number>;
  readonly test?: Record<string, number>;
  readonly phases: Record<string, number>;
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
}

function isExperiment(dir: string): boolean {
  return existsSync(join(dir, CONFIG_FILE)) && existsSync(join(dir, RESULT_FILE));
}

function loadExperiment(dir: string, name: string): ExperimentData {
  const config = readJson<ExperimentConfig>(join(dir, CONFIG_FILE), 'report');
  const result = readJson<ExperimentResult>(join(dir, RESULT_FILE), 'report');
  if (!Array.isArray(result.runs) || typeof result.metric !== 'string') throw new Error(`report: ${join(dir, RESULT_FILE)} is not a fedmm experiment result`);
  const runs = result.runs.map((r) => {
    const runDir = join(dir, r.name);
    const partitionPath = join(runDir, PARTITION_FILE);
    return {
      name: r.name,
      rounds: readMetrics<RoundLine>(join(runDir, METRICS_FILE)),
      partition: existsSync(partitionPath) ? readJson<PartitionFile>(partitionPath, 'report') : null,
    };
  });
  return { name, dir, config, result, runs };
}

/** Every finished experiment in `dir` (itself, or its sub-directories), sorted by name. */
export function collectExperiments(dir: string): ExperimentData[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`report: ${dir} is not a directory`);
  if (isExperiment(dir)) return [loadExperiment(dir, readJson<ExperimentResult>(join(dir, RESULT_FILE), 'report').label)];
  const found = readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory() && isExperiment(join(dir, d)))
    .sort()
    .map((d) => loadExperiment(join(dir, d), d));
  if (found.length === 0) throw new Error(`report: no finished experiment in ${dir} (expected result.json and config.json there or in its sub-directories)`);
  return found;
}
