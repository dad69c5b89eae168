// A Markdown table of the experiments under a directory (for RESULTS.md): test metric at the best dev
// round (mean ± std over runs), accuracy, best rounds, rounds, bytes exchanged and wall time.
import { duration, pctMeanStd } from '../format.js';
import { conditionOf } from '../results.js';
import type { ExperimentData } from './collect.js';
import { progressOf } from './html.js';

/** Mean bytes exchanged per run (down + up), in MB; '-' for runs without byte counts. */
function megabytesPerRun(e: ExperimentData): string {
  const counted = e.runs.filter((run) => run.rounds.some((r) => r.bytesUp !== undefined));
  if (counted.length === 0) return '-';
  const total = counted.reduce((a, run) => a + run.rounds.reduce((b, r) => b + (r.bytesDown ?? 0) + (r.bytesUp ?? 0), 0), 0);
  return (total / counted.length / 1e6).toFixed(1);
}

export function markdownSummary(exps: readonly ExperimentData[]): string {
  const head = ['experiment', 'dataset', 'condition', 'method', 'metric', 'test %', 'accuracy %', 'best round', 'rounds', 'MB down + up', 'wall time'];
  const rows = exps.map((e) => {
    const r = e.result;
    const n = r.runs.length;
    return [
      e.finished ? e.name : `${e.name} (${progressOf(e)})`,
      r.dataset,
      conditionOf(r),
      r.label,
      r.metric,
      pctMeanStd(r.mean[r.metric], r.std[r.metric], n),
      r.mean.accuracy === undefined ? '-' : pctMeanStd(r.mean.accuracy, r.std.accuracy, n),
      r.runs.map((x) => (x.bestRound === null ? '-' : String(x.bestRound + 1))).join(', '),
      String(Math.max(...r.runs.map((x) => x.completedRounds))),
      megabytesPerRun(e),
      duration(r.runs.reduce((a, x) => a + x.elapsedMs, 0)),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
