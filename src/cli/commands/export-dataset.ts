// fedmm export-dataset: writes a dataset (simulated, or read from real files) with its partition as a
// prepared dataset (manifest.json + safetensors), the format `fedmm run --data-dir` reads for every dataset.
import { resolve } from 'node:path';
import { createFederatedDataset } from '../../data/federated.js';
import { exportFederated } from '../../data/prepared.js';
import { getDataset } from '../../data/registry.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { datasetId } from '../run-options.js';
import { detectSource } from '../../data/sources.js';
import type { Command } from './command.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'dataset', kind: 'string', value: 'ID', help: 'dataset id (see fedmm datasets)' },
  { name: 'out', kind: 'string', value: 'DIR', help: 'folder to write (created); with --folds, one foldN/ per fold' },
  { name: 'data-dir', kind: 'string', value: 'DIR', aliases: ['data_dir'], help: 'read real data from here instead of simulating' },
  { name: 'scale', kind: 'number', min: 0, max: 1, openMin: true, value: 'F', help: 'simulate this fraction of the true sample count (default 1)' },
  { name: 'alpha', kind: 'number', min: 0, openMin: true, value: 'A', help: 'Dirichlet concentration of the partition (default 5.0)' },
  { name: 'partition-seed', kind: 'integer', min: 0, value: 'N', help: 'seed of the partition and dev split (default 0)' },
  { name: 'data-seed', kind: 'integer', min: 0, value: 'N', help: 'seed of the simulated data (default 0)' },
  { name: 'folds', kind: 'flag', help: "write every fold of a dataset with folds (fold1/ … foldN/); default: the dataset's single split or fold 1" },
  VERBOSE_OPTION,
];

export const exportDatasetCommand: Command = {
  name: 'export-dataset',
  summary: 'write a dataset and its partition as a prepared dataset (manifest.json + safetensors)',
  help: () => [
    'Usage: fedmm export-dataset --dataset ID --out DIR [options]',
    '',
    'Writes every client\'s train and dev samples and the test set, clean, as a prepared dataset: manifest.json',
    '(modalities, classes, clients, dev, test) and safetensors files of padded [N, T, D] features, lengths and labels',
    '(docs/datasets.md). `fedmm run --dataset ID --data-dir DIR` trains on it.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm export-dataset --dataset uci-har --scale 0.1 --out data/uci-har-sim',
    '  fedmm export-dataset --dataset crema-d --scale 0.05 --folds --out data/crema-d-sim',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm export-dataset');
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' for 'fedmm export-dataset'`);
    const o = args.options;
    if (typeof o.dataset !== 'string') throw new UsageError('missing --dataset');
    if (typeof o.out !== 'string') throw new UsageError('missing --out DIR');
    const spec = getDataset(datasetId(o.dataset));
    const source = typeof o['data-dir'] === 'string' ? detectSource(spec, resolve(o['data-dir'])) : { kind: 'simulated' as const };
    if (source.kind !== 'simulated' && o.scale !== undefined) throw new UsageError('--scale applies to simulated data only; drop it with --data-dir');
    if (o.alpha !== undefined && spec.partition === 'natural') throw new UsageError(`--alpha: ${spec.id} is partitioned naturally (one client per ${spec.clientKey}), not by Dirichlet`);
    const folds = o.folds === true ? spec.protocol.folds : 1;
    const out = resolve(o.out);
    for (let fold = 0; fold < folds; fold++) {
      const fd = createFederatedDataset(spec.id, {
        source,
        scale: o.scale as number | undefined,
        alpha: o.alpha as number | undefined,
        seed: o['partition-seed'] as number | undefined,
        dataSeed: o['data-seed'] as number | undefined,
        fold,
      });
      const folder = o.folds === true && folds > 1 ? resolve(out, `fold${fold + 1}`) : out;
      const what = source.kind === 'simulated' ? `fedmm ${spec.id} simulator (scale ${fd.config.scale}, data seed ${fd.config.dataSeed})` : `${source.kind} files at ${source.path}`;
      const m = exportFederated(fd, folder, `fedmm export-dataset: ${what}; partition seed ${fd.config.seed}, fold ${fold + 1}`);
      process.stdout.write(`${folder}: ${m.samples} samples, ${m.clients.length} clients, ${m.test.length} test\n`);
    }
    return 0;
  },
};
