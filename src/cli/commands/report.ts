// fedmm report <dir>: one self-contained HTML file with the experiments' charts and tables.
import { resolve } from 'node:path';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { collectExperiments } from '../report/collect.js';
import { writeReport } from '../report/index.js';
import { markdownSummary } from '../report/markdown.js';
import type { Command } from './command.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'out', kind: 'string', value: 'FILE', help: 'where to write the HTML (default <dir>/report.html)' },
  { name: 'markdown', kind: 'flag', help: 'print a Markdown table of the results instead (for RESULTS.md)' },
  VERBOSE_OPTION,
];

export const reportCommand: Command = {
  name: 'report',
  summary: 'write one self-contained HTML report (charts, tables) for a run or grid directory',
  help: () => [
    'Usage: fedmm report <dir> [options]',
    '',
    '<dir> is an experiment directory (from fedmm run) or a folder of them (from fedmm grid). The report',
    'shows dev and test metric per round for each run, the comparison table across methods, robustness',
    'curves (metric vs missing/noise rate) when present, per-client sample and label distributions and',
    'the round phase timings. It needs no network to view: charts are inline SVG.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm report results/uci-har-fedavg-attention-sim',
    '  fedmm report results/grid-robustness-uci-har --out robustness.html',
    '  fedmm report results/reproduce-uci-har --markdown >> RESULTS.md',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm report');
    if (args.positionals.length !== 1) throw new UsageError(`fedmm report needs one directory, got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
    if (args.options.markdown === true) {
      process.stdout.write(markdownSummary(collectExperiments(resolve(args.positionals[0]))) + '\n');
      return 0;
    }
    const path = writeReport(args.positionals[0], typeof args.options.out === 'string' ? args.options.out : undefined);
    process.stdout.write(`report: ${path}\n`);
    return 0;
  },
};
