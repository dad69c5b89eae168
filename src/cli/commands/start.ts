// fedmm start (npm start): the default job — the UCI-HAR-shaped simulated benchmark, FedAvg vs FedOpt with
// attention fusion, small enough for a few minutes on two cores — then the result table and the report.
// It is the shipped grid grids/start.json run into results/start, so a second start reuses finished runs.
import { formatOptions, parseArgs, UsageError, type OptionSpec } from '../args.js';
import { EXECUTION_OPTIONS } from '../run-options.js';
import type { Command } from './command.js';
import { gridCommand } from './grid.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'out', kind: 'string', value: 'DIR', help: 'output directory (default results/start)' },
  { name: 'rounds', kind: 'integer', min: 1, value: 'N', help: 'rounds (default 60)' },
  { name: 'scale', kind: 'number', min: 0, max: 1, openMin: true, value: 'F', help: 'fraction of the UCI-HAR sample count to simulate (default 0.25: 25 clients)' },
  { name: 'data-dir', kind: 'string', value: 'DIR', help: 'use the real UCI-HAR data instead (drop --scale)' },
  ...EXECUTION_OPTIONS,
];

export const startCommand: Command = {
  name: 'start',
  summary: 'the default job: UCI-HAR-shaped benchmark, FedAvg vs FedOpt (attention), table and report',
  help: () => [
    'Usage: fedmm start [options]        (npm start)',
    '',
    'Trains FedAvg and FedOpt with attention fusion on simulated UCI-HAR: a quarter of its samples (25 of',
    'the 105 clients), 10 clients a round, 60 rounds, the published learning rates, dev and test evaluated',
    'every 5 rounds (grids/start.json); a few minutes on two cores. Then prints the comparison table and',
    'writes an HTML report. On UCI-HAR FedAvg stays near chance for about its first 45 rounds, FedOpt',
    'takes off earlier. Runs finished earlier in the same output directory are reused; choose another',
    '--out to start afresh.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm start',
    '  fedmm start --rounds 60 --scale 0.5 --out results/start-longer',
    '  fedmm start --data-dir ../shared/data/uci-har --rounds 10',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm start');
    if (args.positionals.length) throw new UsageError(`fedmm start takes no arguments, got '${args.positionals[0]}'`);
    const words = [...argv];
    if (args.options.out === undefined) words.push('--out', 'results/start');
    if (args.options['data-dir'] !== undefined && args.options.scale === undefined) words.push('--scale', '1');
    return gridCommand.run(['start', ...words]);
  },
};
