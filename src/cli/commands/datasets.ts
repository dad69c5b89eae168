// fedmm datasets: the registry of the ten FedMultimodal datasets, with their published hyper-parameters.
import { formatDatasetTable, getDataset, listDatasets } from '../../data/registry.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { table } from '../format.js';
import { datasetId } from '../run-options.js';
import type { Command } from './command.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print the registry as JSON' },
  { name: 'hyper', kind: 'flag', help: 'print the published hyper-parameters instead of the data table' },
  VERBOSE_OPTION,
];

function hyperTable(): string {
  const rows = listDatasets().map((s) => {
    const h = s.hyper;
    return [s.id, String(h.localLr), String(h.clientRate), String(h.rounds), String(h.serverLr), String(h.mu), String(h.batchSize), `${s.protocol.repeatCount} ${s.protocol.repeats}`];
  });
  return table(['id', 'local lr', 'client rate', 'rounds', 'FedOpt server lr', 'FedProx mu', 'batch', 'repeats'], rows);
}

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'list the ten benchmark datasets (shapes, clients, metrics, published settings)',
  help: () => [
    'Usage: fedmm datasets [ID] [options]',
    '',
    'Lists the FedMultimodal datasets fedmm simulates or reads from real data (--data-dir: docs/datasets.md). With an id,',
    'shows that dataset in full.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm datasets',
    '  fedmm datasets --hyper',
    '  fedmm datasets uci-har',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm datasets');
    if (args.positionals.length > 1) throw new UsageError(`fedmm datasets takes at most one dataset id, got ${args.positionals.length}`);
    if (args.positionals.length === 1) {
      const s = getDataset(datasetId(args.positionals[0]));
      if (args.options.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        return 0;
      }
      const lines = [
        `${s.name} (${s.id}): ${s.task}`,
        ...s.modalities.map((m, i) => `  modality ${'AB'[i]}: ${m.name}, ${m.maxLen} steps x ${m.dim} features, ${m.encoder} encoder (${m.description})`),
        `  classes: ${s.numClasses}${s.multiLabel ? ' (multi-label)' : ''}: ${s.classNames.join(', ')}`,
        `  clients: ${s.numClients}, partition ${s.partition}${s.clientKey ? ` by ${s.clientKey}` : ''}`,
        `  samples: ${s.samples.total} (test ${s.samples.test}); protocol: ${s.protocol.description}`,
        `  metric: ${s.metric} (also ${s.metrics.filter((m) => m !== s.metric).join(', ') || 'none'}); loss ${s.loss}`,
        `  published: local lr ${s.hyper.localLr}, client rate ${s.hyper.clientRate}, ${s.hyper.rounds} rounds, FedOpt server lr ${s.hyper.serverLr}, FedProx mu ${s.hyper.mu}, batch ${s.hyper.batchSize}`,
        ...s.notes.map((n) => `  note: ${n}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    }
    if (args.options.json) process.stdout.write(JSON.stringify(listDatasets(), null, 2) + '\n');
    else process.stdout.write((args.options.hyper ? hyperTable() : formatDatasetTable()) + '\n');
    return 0;
  },
};
