// fedmm grid: runs every cell of an experiment grid, skipping finished cells, then writes the report.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExecutorUnavailable } from '../../runtime/executor.js';
import { formatOptions, parseArgs, UsageError, type OptionSpec } from '../args.js';
import { COORDINATOR_OPTIONS, coordinatorFor, redactArgv } from '../cluster-options.js';
import { outputDirProblem } from '../../io/paths.js';
import { damagedRun, runExperiment } from '../execute.js';
import { table } from '../format.js';
import { applyOverrides, findGridFile, loadGrid, settingsToArgv, shippedGrids } from '../grid.js';
import { Progress, progressMode } from '../progress.js';
import { writeReport } from '../report/index.js';
import { CONFIG_FILE, MANIFEST_FILE, readJson, RESULT_FILE, type ExperimentResult } from '../results.js';
import { buildExecution, buildPlan, EXECUTION_OPTIONS, EXPERIMENT_OPTIONS } from '../run-options.js';
import type { Command } from './command.js';
import { interruptSignal, resultTable } from './shared.js';

const GRID_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', kind: 'string', value: 'DIR', help: 'grid output directory (default results/grid-<name>); each cell in <out>/<cell>' },
  { name: 'list', kind: 'flag', help: 'list the cells and whether each is finished, without running' },
  { name: 'only', kind: 'string', value: 'TEXT', help: 'run only the cells whose name contains TEXT' },
  { name: 'no-report', kind: 'flag', help: 'do not write <out>/report.html at the end' },
];

/** Whether a cell's experiment finished and every run's final files are intact (else it is resumed). */
function cellFinished(dir: string): boolean {
  if (!existsSync(join(dir, RESULT_FILE))) return false;
  try {
    const result = readJson<ExperimentResult>(join(dir, RESULT_FILE), 'grid');
    return result.runs.every((r) => damagedRun(join(dir, r.name)) === null && existsSync(join(dir, r.name, MANIFEST_FILE)));
  } catch {
    return false;
  }
}

/** Experiment options other than the dataset may override every cell (e.g. --rounds 20 --scale 0.2). */
const OVERRIDES = EXPERIMENT_OPTIONS.filter((o) => o.name !== 'dataset');
const OPTIONS: readonly OptionSpec[] = [...GRID_OPTIONS, ...EXECUTION_OPTIONS, ...COORDINATOR_OPTIONS, ...OVERRIDES];

export const gridCommand: Command = {
  name: 'grid',
  summary: 'run an experiment grid (paper base runs, robustness sweeps); resumable',
  help: () => [
    'Usage: fedmm grid <name|file.json> [options] [run options that override every cell]',
    '',
    `Shipped grids: ${(() => {
      try {
        return shippedGrids().join(', ');
      } catch {
        return '(grids/ not found)';
      }
    })()}.`,
    'A grid is a JSON file of cells, each a set of `fedmm run` options (see docs/cli.md). Cells whose',
    'result.json exists are skipped, so re-running a grid continues where it stopped; an unfinished cell',
    'resumes from its checkpoints. At the end the grid report is written to <out>/report.html.',
    '',
    'Options:',
    formatOptions([...GRID_OPTIONS, ...EXECUTION_OPTIONS, ...COORDINATOR_OPTIONS]),
    '',
    'Any `fedmm run` option except --dataset may follow and overrides every cell (e.g. --rounds, --scale,',
    '--data-dir, --seeds).',
    '',
    'Examples:',
    '  fedmm grid smoke',
    '  fedmm grid robustness-uci-har --scale 0.25 --client-rate 0.4 --rounds 60 --eval-every 5 --out results/robust',
    '  fedmm grid robustness-uci-har --data-dir ../shared/data/uci-har --checkpoint-every 10',
    '  fedmm grid paper-base --only uci-har --list',
    '  fedmm grid robustness-uci-har --cluster redis://fedmm:secret@10.0.0.5:6379   (cells trained by fedmm workers; docs/cluster.md)',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm grid');
    if (args.positionals.length !== 1) {
      throw new UsageError(args.positionals.length === 0 ? `fedmm grid needs a grid name or file (shipped: ${shippedGrids().join(', ')})` : `fedmm grid takes one grid, got ${args.positionals.join(' ')}`);
    }
    const grid = loadGrid(findGridFile(args.positionals[0]));
    const overrideNames = new Set(OVERRIDES.map((o) => o.name));
    const pick = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).filter(([k]) => overrideNames.has(k)));
    const overrides = { options: pick(args.options), spelled: pick(args.spelled), positionals: [] };
    const only = typeof args.options.only === 'string' ? args.options.only : null;
    const cells = grid.cells.filter((c) => only === null || c.name.includes(only));
    if (cells.length === 0) throw new UsageError(`--only '${only}' matches no cell of grid ${grid.name}`);
    const plans = cells.map((c) => {
      try {
        return { cell: c, plan: buildPlan(applyOverrides(c.args, overrides)) };
      } catch (e) {
        throw new UsageError(`grid ${grid.name}, cell '${c.name}': ${(e as Error).message}`);
      }
    });
    const exec = buildExecution(args);
    const out = resolve(typeof args.options.out === 'string' ? args.options.out : join('results', `grid-${grid.name}`));
    const outProblem = outputDirProblem(out);
    if (outProblem !== null) throw new UsageError(outProblem);
    const status = (name: string) => (cellFinished(join(out, name)) ? 'finished' : existsSync(join(out, name, CONFIG_FILE)) ? 'started' : 'to run');
    if (args.options.list) {
      process.stdout.write(`grid ${grid.name} (${grid.file}): ${grid.description}\n`);
      process.stdout.write(table(['cell', 'status', 'dataset', 'settings'], plans.map(({ cell, plan }) => [cell.name, status(cell.name), plan.dataset, settingsToArgv(cell.settings).join(' ')])) + '\n');
      return 0;
    }
    const quiet = args.options.quiet === true;
    const progress = new Progress(progressMode(quiet, args.options.verbose === true));
    const executor = await coordinatorFor(args, progress);
    const { signal, dispose } = interruptSignal(progress);
    const done: { name: string; result: ExperimentResult }[] = [];
    const failed: string[] = [];
    let skipped = 0;
    try {
      for (const [i, { cell, plan }] of plans.entries()) {
        const dir = join(out, cell.name);
        const prefix = `[${i + 1}/${plans.length}] `;
        if (cellFinished(dir)) {
          progress.note(`${prefix}${cell.name}: finished, skipped`);
          skipped++;
          done.push({ name: cell.name, result: readJson<ExperimentResult>(join(dir, RESULT_FILE), `grid cell ${cell.name}`) });
          continue;
        }
        const started = existsSync(join(dir, CONFIG_FILE));
        let result: ExperimentResult | null;
        try {
          result = await runExperiment(plan, exec, { out: dir, argv: ['grid', ...redactArgv(argv)], resume: started, progress, signal, executor, labelPrefix: `${prefix}${cell.name}: ` });
        } catch (e) {
          // A lost cluster fails every cell after it: the grid stops, and continues where it stopped when re-run.
          if (e instanceof ExecutorUnavailable) {
            throw new UsageError(`${e.message}; re-run the same command to continue (${done.length} of ${plans.length} cells done)`, 1);
          }
          // One failing cell does not stop the grid: it is reported here and in the exit code.
          const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
          progress.error(`fedmm: grid cell '${cell.name}' failed: ${line}`);
          failed.push(cell.name);
          continue;
        }
        if (!result) {
          process.stderr.write(`fedmm: interrupted; re-run the same command to continue (${done.length} of ${plans.length} cells done)\n`);
          return 130;
        }
        done.push({ name: cell.name, result });
      }
    } finally {
      dispose();
    }
    if (done.length) process.stdout.write(`${resultTable(done)}\n`);
    if (skipped) process.stdout.write(`${skipped} finished cell${skipped > 1 ? 's' : ''} skipped\n`);
    if (args.options['no-report'] !== true && done.length) process.stdout.write(`report: ${writeReport(out)}\n`);
    process.stdout.write(`results: ${out}\n`);
    if (failed.length) {
      process.stderr.write(`fedmm: ${failed.length} of ${plans.length} grid cells failed (${failed.join(', ')}); fix the cause and re-run to retry them\n`);
      return 1;
    }
    return 0;
  },
};
