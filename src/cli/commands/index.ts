// The command table and the top-level help.
import type { Command } from './command.js';
import { benchCommand } from './bench.js';
import { datasetsCommand } from './datasets.js';
import { doctorCommand } from './doctor.js';
import { exportDatasetCommand } from './export-dataset.js';
import { gridCommand } from './grid.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { startCommand } from './start.js';
import { workerCommand } from './worker.js';

export const COMMANDS: readonly Command[] = [startCommand, runCommand, gridCommand, reportCommand, datasetsCommand, exportDatasetCommand, benchCommand, doctorCommand, workerCommand];

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'fedmm: multimodal federated learning at scale on one machine (the FedMultimodal benchmark)',
    '',
    'Usage: fedmm <command> [options]      fedmm <command> --help for its options and examples',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Examples:',
    '  fedmm start',
    '  fedmm run --dataset uci-har --alg fedopt --scale 0.25 --client-rate 0.4 --rounds 60 --eval-every 5 --out results/har-fedopt',
    '  fedmm grid robustness-uci-har --only fedopt --scale 0.25 --client-rate 0.4 --rounds 60 --eval-every 5',
    '  fedmm report results/grid-robustness-uci-har',
  ].join('\n');
}
