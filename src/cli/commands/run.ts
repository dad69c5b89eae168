// fedmm run: one experiment (one or more seeds/folds) into an output directory.
import { resolve } from 'node:path';
import { ExecutorUnavailable } from '../../runtime/executor.js';
import { formatOptions, parseArgs, UsageError, type OptionSpec } from '../args.js';
import { COORDINATOR_OPTIONS, coordinatorFor, redactArgv } from '../cluster-options.js';
import { runExperiment, shellCommand } from '../execute.js';
import { Progress, progressMode } from '../progress.js';
import { writeReport } from '../report/index.js';
import { buildExecution, buildPlan, EXECUTION_OPTIONS, EXPERIMENT_OPTIONS, planLabel, type RunPlan } from '../run-options.js';
import type { Command } from './command.js';
import { interruptSignal, resultTable, runLines } from './shared.js';

export const OUTPUT_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', kind: 'string', value: 'DIR', help: 'output directory (default results/<dataset>-<alg>-<fusion>)' },
  { name: 'resume', kind: 'flag', help: 'continue the experiment in --out: keep finished runs, resume the others from their checkpoints' },
  { name: 'no-report', kind: 'flag', help: 'do not write <out>/report.html at the end' },
];

const OPTIONS: readonly OptionSpec[] = [...EXPERIMENT_OPTIONS, ...EXECUTION_OPTIONS, ...OUTPUT_OPTIONS, ...COORDINATOR_OPTIONS];

/** Default output directory: results/uci-har-fedavg-attention[-mm0.3…]. */
export function defaultOut(plan: RunPlan): string {
  const parts = [plan.dataset, planLabel(plan).replace(' ', '-')];
  if (plan.alpha !== null && plan.alpha !== 5) parts.push(`alpha${plan.alpha}`);
  if (plan.missingModality) parts.push(`mm${plan.missingModality}`);
  if (plan.missingLabel) parts.push(`ml${plan.missingLabel}`);
  if (plan.labelNoise) parts.push(`ln${plan.labelNoise}`);
  if (plan.dataDir === null) parts.push('sim');
  return resolve('results', parts.join('-'));
}

export const runCommand: Command = {
  name: 'run',
  summary: 'train one experiment (seeds or folds) and write metrics, results and the model',
  help: () => [
    'Usage: fedmm run --dataset ID [options]',
    '',
    'Trains one federated experiment and writes <out>/config.json, <out>/result.json, <out>/report.html and,',
    'per seed or fold, <out>/seed-N/{metrics.jsonl, model.safetensors, partition.json}. Settings not given take the',
    "dataset's published FedMultimodal hyper-parameters; FedMultimodal's own flag names are accepted.",
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm run --dataset uci-har --alg fedavg --fusion attention --rounds 5 --seed 3 --workers 2 --out results/x',
    '  fedmm run --dataset uci-har --data-dir ../shared/data/uci-har --alg fedopt --alpha 0.1',
    '  fedmm run --dataset crema-d --alg fedprox --folds 1-5 --scale 0.2 --rounds 30',
    '  fedmm run --dataset uci-har --fed_alg fed_opt --en_att --att_name fuse_base --learning_rate 0.05 \\',
    '            --global_learning_rate 0.025 --sample_rate 0.1 --num_epochs 200 --alpha 5.0 --hid_size 128',
    '  fedmm run --dataset uci-har --missing-modality 0.3 --seeds 1-3 --scale 0.3 --rounds 20',
    '  fedmm run --dataset uci-har --rounds 50 --checkpoint-every 5 --cluster redis://fedmm:secret@10.0.0.5:6379   (docs/cluster.md)',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm run');
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' for 'fedmm run' (options start with --)`);
    const plan = buildPlan(args);
    const exec = buildExecution(args);
    const out = typeof args.options.out === 'string' ? resolve(args.options.out) : defaultOut(plan);
    const quiet = args.options.quiet === true;
    const progress = new Progress(progressMode(quiet, args.options.verbose === true));
    const shown = redactArgv(argv);
    const resumeLine = () => shellCommand(['fedmm', 'run', ...shown, ...(shown.includes('--resume') ? [] : ['--resume'])]);
    const executor = await coordinatorFor(args, progress);
    const { signal, dispose } = interruptSignal(progress);
    try {
      const result = await runExperiment(plan, exec, { out, argv: ['run', ...shown], resume: args.options.resume === true, progress, signal, executor })
        .catch((e: unknown) => {
          if (!(e instanceof ExecutorUnavailable)) throw e;
          throw new UsageError(`${e.message}; continue from the last checkpoint with: ${resumeLine()}`, 1);
        });
      if (!result) {
        process.stderr.write(`fedmm: interrupted; continue with: ${resumeLine()}\n`);
        return 130;
      }
      process.stdout.write(`${resultTable([{ name: result.label, result }])}\n`);
      if (!quiet && result.runs.length > 1) process.stdout.write(`${runLines(result)}\n`);
      if (args.options['no-report'] !== true) process.stdout.write(`report: ${writeReport(out)}\n`);
      process.stdout.write(`results: ${out}\n`);
      return 0;
    } finally {
      dispose();
    }
  },
};
