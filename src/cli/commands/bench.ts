// fedmm bench: the throughput suite in under a minute — aggregation GB/s, GEMM GFLOP/s, train-step ms of the
// UCI-HAR model, round throughput in client updates/s — with a machine summary, a table, and --json for
// comparing machines and commits. Each figure is the median of timed repetitions after a warm-up.
import { execFileSync } from 'node:child_process';
import { aggregateOps } from '../../aggregate/ops.js';
import { backendInfo, kernels, useBackend } from '../../backend/index.js';
import { gemmThroughput, medianMs, randomArray } from '../../bench/measure.js';
import { FedMultimodalTask } from '../../fl/fedmultimodal.js';
import { Rng } from '../../random.js';
import { runFederated } from '../../runtime/index.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { table } from '../format.js';
import { BACKENDS, type BackendChoice } from '../run-options.js';
import type { Command } from './command.js';
import { doctorReport } from './doctor.js';

const SUITES = ['aggregate', 'gemm', 'train-step', 'round'] as const;
type Suite = (typeof SUITES)[number];

const OPTIONS: readonly OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print machine and figures as JSON (for comparing machines and commits)' },
  { name: 'only', kind: 'string', value: 'SUITE', choices: SUITES, help: 'run one suite' },
  { name: 'backend', kind: 'string', value: 'NAME', choices: BACKENDS, help: 'kernel backend (default auto)' },
  { name: 'workers', kind: 'integer', min: 0, value: 'N', help: 'worker threads of the round benchmark (default one per core)' },
  VERBOSE_OPTION,
];

export interface BenchFigure {
  readonly suite: Suite;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly detail: string;
}

/** Weighted accumulation of 8 client updates of 1M floats (the server's streaming mean). */
function aggregateBench(): BenchFigure[] {
  const ops = aggregateOps();
  const P = 1 << 20;
  const K = 8;
  const rng = new Rng(1);
  const updates = Array.from({ length: K }, () => randomArray(P, rng));
  const weights = Float64Array.from({ length: K }, (_, i) => 10 + i);
  const acc = new Float64Array(P);
  const ms = medianMs(() => ops.fold(acc, updates, weights, K));
  const bytes = K * P * 4 + 2 * P * 8;
  return [{ suite: 'aggregate', name: 'fold 8 updates × 1M floats', value: bytes / (ms * 1e6), unit: 'GB/s', detail: `${ms.toFixed(2)} ms, ops ${ops.variant}` }];
}

async function gemmBench(): Promise<BenchFigure[]> {
  const k = kernels();
  const rng = new Rng(2);
  const shapes = [
    { name: 'GEMM 512×512×512', M: 512, N: 512, K: 512, transB: false },
    { name: 'GEMM GRU input [2048,128]·[384,128]ᵀ', M: 2048, N: 384, K: 128, transB: true },
  ];
  const figures: BenchFigure[] = [];
  for (const s of shapes) {
    const { ms, gflops } = await gemmThroughput(k, s, rng, medianMs);
    figures.push({ suite: 'gemm', name: s.name, value: gflops, unit: 'GFLOP/s', detail: `${ms.toFixed(2)} ms` });
  }
  return figures;
}

/** One local SGD step (forward, backward, SGD) of the UCI-HAR attention model on a batch of 16. */
function trainStepBench(): BenchFigure[] {
  const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.05 });
  const model = task.createModel(new Rng(3));
  const client = task.data.activeClients[0];
  const batch = task.clientData(client).batches(16)[Symbol.iterator]().next().value;
  if (!batch || batch.size !== 16) throw new Error('bench: the first UCI-HAR client has fewer than 16 samples');
  const momentum = new Float32Array(model.params.length);
  const sgd = kernels().sgdStep;
  const rng = new Rng(4);
  const ms = medianMs(() => {
    model.lossAndGrad(batch, { classScale: null, rng });
    sgd(model.params, model.grads, momentum, { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-5, hasMomentumBuffer: true });
  }, 3000, 5);
  return [{ suite: 'train-step', name: 'train step UCI-HAR attention, batch 16', value: ms, unit: 'ms', detail: `${model.params.length} parameters` }];
}

/** Two FedAvg rounds of simulated UCI-HAR; the second round's client updates per second (no evaluation). */
async function roundBench(workers: number | undefined): Promise<BenchFigure[]> {
  const result = await runFederated({
    task: { kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.25, seed: 0 },
    dataset: 'uci-har', algorithm: 'fedavg', rounds: 2, clientRate: 0.2, evalEvery: 1000, workers, outDir: null,
  }, { log: () => {} });
  const r = result.history[result.history.length - 1];
  const ms = r.phases.round - r.phases.evaluate;
  return [{
    suite: 'round', name: `FedAvg round, ${r.accepted} clients`, value: (1000 * r.accepted) / ms, unit: 'updates/s',
    detail: `${ms.toFixed(0)} ms/round, ${result.config.workers} workers, overhead ${(100 * r.overheadShare).toFixed(1)}%`,
  }];
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure aggregation GB/s, GEMM GFLOP/s, train-step ms and round throughput (about a minute)',
  help: () => [
    'Usage: fedmm bench [options]',
    '',
    `Suites: ${SUITES.join(', ')}. Each figure is the median of repeated timings after a warm-up; the`,
    'machine summary (CPU, cores, Node, backend and ISA variant, git commit) comes first. Compare machines or',
    'commits with --json output.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm bench',
    '  fedmm bench --only gemm --backend js',
    '  fedmm bench --json > bench-$(git rev-parse --short HEAD).json',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm bench');
    if (args.positionals.length) throw new UsageError(`fedmm bench takes no arguments, got '${args.positionals[0]}'`);
    const backend = (typeof args.options.backend === 'string' ? args.options.backend : 'auto') as BackendChoice;
    process.env.FEDMM_BACKEND = backend;
    useBackend(backend);
    const machine = await doctorReport(false);
    const info = backendInfo();
    const summary = {
      cpu: machine.cpu.model, cores: machine.cpu.cores, memoryGiB: machine.cpu.memoryGiB, node: machine.node, platform: machine.platform,
      backend: info.name, variant: info.variant, commit: gitCommit(), fedmm: machine.fedmm, date: new Date().toISOString(),
    };
    const only = typeof args.options.only === 'string' ? (args.options.only as Suite) : null;
    const json = args.options.json === true;
    if (!json) process.stdout.write(`${summary.cpu}; ${summary.cores} cores; ${summary.memoryGiB} GiB; Node ${summary.node}; backend ${summary.backend} (${summary.variant}); commit ${summary.commit ?? '-'}\n`);
    const figures: BenchFigure[] = [];
    const workers = typeof args.options.workers === 'number' ? args.options.workers : undefined;
    const suites: Record<Suite, () => BenchFigure[] | Promise<BenchFigure[]>> = {
      aggregate: aggregateBench, gemm: gemmBench, 'train-step': trainStepBench, round: () => roundBench(workers),
    };
    for (const s of SUITES) {
      if (only !== null && s !== only) continue;
      if (!json) process.stderr.write(`measuring ${s}…\n`);
      figures.push(...(await suites[s]()));
    }
    if (json) process.stdout.write(JSON.stringify({ machine: summary, figures }, null, 2) + '\n');
    else process.stdout.write(table(['suite', 'measurement', 'value', 'unit', 'detail'], figures.map((f) => [f.suite, f.name, f.value.toFixed(f.value >= 100 ? 0 : 2), f.unit, f.detail])) + '\n');
    return 0;
  },
};
