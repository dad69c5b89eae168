// Pieces the experiment commands share: Ctrl-C handling and the result table.
import { getDataset } from '../../data/registry.js';
import { table, pctMeanStd, pct } from '../format.js';
import type { Progress } from '../progress.js';
import type { ExperimentResult } from '../results.js';

/**
 * An AbortSignal fired by the first Ctrl-C: the run stops at once (clients in flight are stopped) and saves
 * a checkpoint of its last completed round; a second Ctrl-C exits without saving. Call dispose when done.
 */
export function interruptSignal(progress: Progress): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onInt = () => {
    if (controller.signal.aborted) process.exit(130);
    progress.note('interrupt: stopping and saving the last completed round (Ctrl-C again to quit without saving)');
    controller.abort();
  };
  process.on('SIGINT', onInt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInt) };
}

/** The comparison table: one row per experiment, the headline test metric at the best dev round. */
export function resultTable(rows: readonly { name: string; result: ExperimentResult }[]): string {
  const header = ['experiment', 'dataset', 'metric', 'test %', 'accuracy %', 'best round', 'runs', 'time'];
  const body = rows.map(({ name, result: r }) => {
    const n = r.runs.length;
    const acc = r.metric === 'accuracy' || r.mean.accuracy === undefined ? '-' : pctMeanStd(r.mean.accuracy, r.std.accuracy, n);
    const bestRounds = r.runs.map((x) => (x.bestRound === null ? '-' : String(x.bestRound + 1))).join(',');
    const time = r.runs.reduce((a, x) => a + x.elapsedMs, 0);
    return [name, getDataset(r.dataset).name, r.metric, pctMeanStd(r.mean[r.metric], r.std[r.metric], n), acc, bestRounds, String(n), `${(time / 1000).toFixed(0)}s`];
  });
  return table(header, body);
}

/** One experiment's per-run lines (test metric per seed/fold). */
export function runLines(result: ExperimentResult): string {
  return result.runs.map((x) => `  ${x.name}: test ${result.metric} ${pct(x.test?.[result.metric])} at round ${x.bestRound === null ? '-' : x.bestRound + 1}`).join('\n');
}
