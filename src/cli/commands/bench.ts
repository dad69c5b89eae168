// fedmm bench: the throughput suite — aggregation GB/s with its fraction of the machine's read bandwidth
// (per aggregator, update size and thread count), GEMM GFLOP/s, train-step and
// client-update ms of the UCI-HAR model with their GFLOP/s against the model's FLOP count, evaluation time,
// round throughput in client updates/s — with a machine summary, a table, and --json for comparing machines
// and commits. Each figure is the median of timed repetitions after a warm-up.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { backendInfo, kernels, useBackend } from '../../backend/index.js';
import { aggregateProfile } from '../../bench/aggregate.js';
import { gemmThroughput, medianMs } from '../../bench/measure.js';
import { gpuRoundProfile } from '../../bench/gpu-round.js';
import { FedMultimodalTask } from '../../fl/fedmultimodal.js';
import { getStrategy } from '../../fl/strategy.js';
import { TRAIN_FLOPS_PER_FORWARD } from '../../models/flops.js';
import { Rng } from '../../random.js';
import { runFederated, type RoundRecord } from '../../runtime/index.js';
import { runClientJob, type RunSetup } from '../../runtime/client-job.js';
import { NO_COMPRESSION } from '../../runtime/compression.js';
import { loadBuiltins } from '../../runtime/plugins.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { table } from '../format.js';
import { BACKENDS, type BackendChoice } from '../run-options.js';
import type { TaskSpec } from '../../fl/task.js';
import { resolveRunConfig } from '../../runtime/config.js';
import type { Command } from './command.js';
import { doctorReport } from './doctor.js';

const SUITES = ['aggregate', 'gemm', 'train-step', 'update', 'eval', 'round', 'gpu-round'] as const;
/** Suites that run only when asked for with --only (gpu-round trains on gpu.js's slow cpu fallback without a GPU). */
const ON_REQUEST: readonly Suite[] = ['gpu-round'];
type Suite = (typeof SUITES)[number];

const OPTIONS: readonly OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print machine and figures as JSON (for comparing machines and commits)' },
  { name: 'only', kind: 'string', value: 'SUITE', choices: SUITES, help: 'run one suite' },
  { name: 'backend', kind: 'string', value: 'NAME', choices: BACKENDS, help: 'kernel backend (default auto)' },
  { name: 'workers', kind: 'integer', min: 0, value: 'N', help: 'worker threads of the round and eval benchmarks (default one per core)' },
  { name: 'threads', kind: 'integer', min: 1, max: 64, value: 'N', help: 'aggregation: also measure the streaming aggregators on N threads (default: the cores)' },
  { name: 'max-params', kind: 'integer', min: 1000, value: 'P', help: 'aggregation: largest update size measured, of 1M, 10M, 100M (default 100M; holds ~3.2 GB)' },
  { name: 'clients', kind: 'string', value: 'LIST', help: 'gpu-round: clients per chunk, comma-separated (default 1,16,64,256,1024 on a GPU, 1,2 on the cpu fallback)' },
  { name: 'data-dir', kind: 'string', value: 'DIR', help: "real UCI-HAR for the update, eval and round suites, in the paper's shards (default: simulated UCI-HAR)" },
  VERBOSE_OPTION,
];

export interface BenchFigure {
  readonly suite: Suite;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly detail: string;
  /** aggregate suite: the fraction of the read bandwidth (wall clock, CPU time), that bandwidth, P, K, threads. */
  readonly fraction?: number;
  readonly cpuFraction?: number;
  readonly readGbps?: number;
  readonly params?: number;
  readonly updates?: number;
  readonly threads?: number;
}

/** Every aggregator at P = 1M, 10M, 100M: GB/s of update bytes and the fraction of the same run's read bandwidth. */
function aggregateBench(threads: number, maxParams: number): BenchFigure[] {
  const sizes = [1_000_000, 10_000_000, 100_000_000].filter((p) => p <= maxParams);
  const threadCounts = threads > 1 ? [1, threads] : [1];
  return aggregateProfile({ sizes, threads: threadCounts, log: (line) => process.stderr.write(`  ${line}\n`) }).map((f) => ({
    suite: 'aggregate',
    name: `${f.aggregator} K=${f.K} × P=${f.P >= 1e6 ? `${f.P / 1e6}M` : f.P}${f.threads > 1 ? `, ${f.threads} threads` : ''}`,
    value: f.gbps,
    unit: 'GB/s',
    detail: `${Number.isNaN(f.fraction) ? 'no addon: read bandwidth not measured' : `${f.fraction.toFixed(2)} of read ${f.readGbps.toFixed(1)} GB/s${Number.isNaN(f.cpuFraction) ? '' : ` (CPU time: ${f.cpuFraction.toFixed(2)})`}`}, ${f.ms.toFixed(1)} ms`,
    fraction: f.fraction,
    cpuFraction: f.cpuFraction,
    readGbps: f.readGbps,
    params: f.P,
    updates: f.K,
    threads: f.threads,
  }));
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

/** The UCI-HAR task of the model suites: the paper's real shards with a data folder, else simulated UCI-HAR. */
function uciHarSpec(dataDir: string | null, scale = 1): TaskSpec {
  return dataDir === null
    ? { kind: 'fedmultimodal', dataset: 'uci-har', scale, seed: 0 }
    : { kind: 'fedmultimodal', dataset: 'uci-har', source: { kind: 'uci-har', path: dataDir }, partitionRng: 'numpy' };
}

/** Forward FLOPs of one UCI-HAR window, from the model's layers (printed once, by the first suite that needs it). */
let flopsPrinted = false;
function flopsPerWindow(task: FedMultimodalTask, log: (line: string) => void): number {
  const batch = task.clientData(task.data.activeClients[0]).batches(1)[Symbol.iterator]().next().value;
  if (!batch) throw new Error('bench: the first UCI-HAR client has no sample');
  const layers = task.forwardFlops(batch);
  const total = layers.reduce((s, l) => s + l.flops, 0);
  if (!flopsPrinted) log(`model FLOPs per window (forward; training ${TRAIN_FLOPS_PER_FORWARD}×): ${layers.map((l) => `${l.layer} ${(l.flops / 1e6).toFixed(2)}M`).join(', ')}; total ${(total / 1e6).toFixed(2)} MFLOP`);
  flopsPrinted = true;
  return total;
}

/** GFLOP/s of the GEMM a well-blocked layer runs at (512³, this backend): the machine's limit the figures are set against. */
let gemmLimit: number | null = null;
async function gemmLimitGflops(): Promise<number> {
  gemmLimit ??= (await gemmThroughput(kernels(), { M: 512, N: 512, K: 512, transB: false }, new Rng(2), medianMs)).gflops;
  return gemmLimit;
}

function vsLimit(flops: number, ms: number, limit: number): string {
  const limitMs = flops / (limit * 1e6);
  return `${(flops / 1e9).toFixed(2)} GFLOP; ${(ms / limitMs).toFixed(1)}× the FLOP time at GEMM 512³'s ${limit.toFixed(0)} GFLOP/s (${limitMs.toFixed(1)} ms)`;
}

/** One local SGD step (forward, backward, SGD) of the UCI-HAR attention model on a batch of 16. */
async function trainStepBench(log: (line: string) => void): Promise<BenchFigure[]> {
  const task = new FedMultimodalTask(uciHarSpec(null, 0.05));
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
  const flops = TRAIN_FLOPS_PER_FORWARD * 16 * flopsPerWindow(task, log);
  return [
    { suite: 'train-step', name: 'train step UCI-HAR attention, batch 16', value: ms, unit: 'ms', detail: `${model.params.length} parameters` },
    { suite: 'train-step', name: 'train step throughput', value: flops / (ms * 1e6), unit: 'GFLOP/s', detail: vsLimit(flops, ms, await gemmLimitGflops()) },
  ];
}

/**
 * Whole client updates (FedAvg, the dataset's published local settings: 1 epoch, batch 16, SGD with momentum,
 * clipping) of every active client once, from the same global weights, on this thread as a worker runs them:
 * train, delta, encode. Wall and process CPU time (the steadier figure on a shared machine).
 */
async function updateBench(dataDir: string | null, log: (line: string) => void): Promise<BenchFigure[]> {
  await loadBuiltins();
  const spec = uciHarSpec(dataDir);
  const task = new FedMultimodalTask(spec);
  const config = resolveRunConfig({ dataset: 'uci-har', task: spec, algorithm: 'fedavg', workers: 0 });
  const P = task.numParams;
  const setup: RunSetup = {
    runId: `bench-update-${process.pid}`, task: spec, algorithm: 'fedavg', algorithmParams: getStrategy('fedavg').params({}),
    local: { epochs: config.localEpochs, batchSize: config.batchSize, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, gradClip: config.gradClip },
    seed: 8, plugins: [], broadcast: new SharedArrayBuffer(4 * P), broadcastNames: [], numParams: P, compression: NO_COMPRESSION,
  };
  new Float32Array(setup.broadcast).set(task.createModel(new Rng(8).fork('init')).params);
  const clients = task.data.activeClients;
  const perWindow = TRAIN_FLOPS_PER_FORWARD * flopsPerWindow(task, log);
  const once = async (clientId: number) => {
    const r = await runClientJob({ setup, round: 0, clientId, state: null, fault: null });
    return r.end - r.start;
  };
  for (const k of clients.slice(0, 3)) await once(k);
  const times: number[] = [];
  let windows = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (const k of clients) {
    times.push(await once(k));
    windows += task.clientData(k).size;
  }
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  times.sort((a, b) => a - b);
  const n = clients.length;
  const flops = perWindow * windows;
  const data = dataDir === null ? 'simulated UCI-HAR' : "real UCI-HAR, the paper's shards";
  return [
    { suite: 'update', name: `client update, ${data}, batch ${config.batchSize}`, value: times[n >> 1], unit: 'ms', detail: `median of ${n} clients (mean ${(windows / n).toFixed(1)} windows); mean ${(wallMs / n).toFixed(1)} ms wall, ${(cpuMs / n).toFixed(1)} ms CPU` },
    { suite: 'update', name: 'client update throughput', value: flops / (wallMs * 1e6), unit: 'GFLOP/s', detail: `${vsLimit(flops / n, wallMs / n, await gemmLimitGflops())} per mean update; ${(flops / (cpuMs * 1e6)).toFixed(1)} GFLOP/s of CPU time` },
  ];
}

/**
 * Dev + test evaluation of the global model: on this thread (Task.evaluate), and as the runtime runs it
 * after a round (spread over the workers).
 */
async function evalBench(dataDir: string | null, workers: number | undefined, log: (line: string) => void): Promise<BenchFigure[]> {
  const spec = uciHarSpec(dataDir);
  const task = new FedMultimodalTask(spec);
  const model = task.createModel(new Rng(5));
  const windows = task.data.dev().size + task.data.test().size;
  const flops = windows * flopsPerWindow(task, log);
  const devAndTest = () => {
    task.evaluate(model, 'dev');
    task.evaluate(model, 'test');
  };
  const ms = medianMs(devAndTest, 0, 2);
  // CPU time of one more pass: on a shared machine it shows what the wall time lost to other processes
  const cpu0 = process.cpuUsage();
  devAndTest();
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const result = await runFederated({
    task: spec, dataset: 'uci-har', algorithm: 'fedavg', rounds: 2, clientRate: 0.02, evalEvery: 1, testEvery: 1, workers, outDir: null,
  }, { log: () => {} });
  const runtimeMs = result.history[result.history.length - 1].phases.evaluate;
  const limit = await gemmLimitGflops();
  return [
    { suite: 'eval', name: `dev + test evaluation, ${windows} windows, one thread`, value: ms, unit: 'ms', detail: `${vsLimit(flops, ms, limit)}; ${cpuMs.toFixed(0)} ms CPU` },
    { suite: 'eval', name: `dev + test evaluation in the run loop, ${result.config.workers} workers`, value: runtimeMs, unit: 'ms',
      detail: `${(flops / (runtimeMs * 1e6)).toFixed(1)} GFLOP/s; ${(ms / runtimeMs).toFixed(2)}× the one-thread figure` },
  ];
}

/**
 * Three FedAvg rounds of UCI-HAR without evaluation (simulated at scale 0.25 and client rate 0.2, or the real
 * data in the paper's shards at its rate 0.1); client updates per second over rounds 2–3 (round 1 starts the
 * pool), and the main thread's own work per update (decode, validation, fold): what must stay small for the
 * workers to keep scaling.
 */
async function roundBench(dataDir: string | null, workers: number | undefined): Promise<BenchFigure[]> {
  const result = await runFederated({
    task: uciHarSpec(dataDir, 0.25), dataset: 'uci-har', algorithm: 'fedavg', rounds: 3, clientRate: dataDir === null ? 0.2 : 0.1,
    evalEvery: 0, workers, outDir: null,
  }, { log: () => {} });
  const timed = result.history.slice(1);
  const sum = (f: (r: RoundRecord) => number) => timed.reduce((s, r) => s + f(r), 0);
  const updates = sum((r) => r.accepted);
  const ms = sum((r) => r.phases.round);
  const mainMs = sum((r) => r.phases.decode + r.phases.aggregate);
  const trainMs = sum((r) => r.phases.localTrain);
  return [{
    suite: 'round', name: `FedAvg rounds, ${timed[0].accepted} clients each`, value: (1000 * updates) / ms, unit: 'updates/s',
    detail: `${(ms / timed.length).toFixed(0)} ms/round, ${result.config.workers} workers; per update ${(trainMs / updates).toFixed(1)} ms training, ` +
      `${(mainMs / updates).toFixed(2)} ms on the main thread (decode + fold); overhead ${(100 * sum((r) => r.overheadShare) / timed.length).toFixed(1)}%`,
  }];
}

/** --clients: positive integers, comma-separated. */
function clientCounts(raw: unknown): number[] | null {
  if (typeof raw !== 'string') return null;
  const list = raw.split(',').map((v) => v.trim());
  if (!list.every((v) => /^[1-9][0-9]*$/.test(v))) throw new UsageError(`fedmm bench: --clients must be positive integers separated by commas, got '${raw}'`);
  return list.map(Number);
}

/**
 * Client updates/s of the batched device path (gpu.js: WebGPU, else headless GL, else its cpu fallback) for each
 * chunk size, against the CPU path on every core in the same run, and the fixed cost of a chunk.
 */
async function gpuRoundBench(dataDir: string | null, clients: number[] | null, log: (line: string) => void): Promise<BenchFigure[]> {
  await loadBuiltins();
  const spec = uciHarSpec(dataDir);
  const task = new FedMultimodalTask(spec);
  const config = resolveRunConfig({ dataset: 'uci-har', task: spec, algorithm: 'fedavg', workers: 0 });
  const local = { epochs: config.localEpochs, batchSize: config.batchSize, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, gradClip: config.gradClip };
  const p = await gpuRoundProfile(task, local, clients, log);
  const where = `${p.mode}${p.adapter ? ` ${p.adapter}` : ''}`;
  return [
    ...p.figures.map((f): BenchFigure => ({
      suite: 'gpu-round', name: `batched client updates, C=${f.C}, ${where}`, value: f.updatesPerSecond, unit: 'updates/s',
      detail: `${(f.updatesPerSecond / p.cpu.updatesPerSecond).toFixed(2)}× the CPU path; chunks of ≤ ${f.chunk}: prepare ${f.prepareMs.toFixed(0)} ms, device train ${f.trainMs.toFixed(0)} ms, fold ${f.foldMs.toFixed(0)} ms, transfer ${f.transferMs.toFixed(0)} ms`,
      updates: f.C,
    })),
    { suite: 'gpu-round', name: `CPU path, ${p.cpu.workers} workers (${p.cpu.kernels})`, value: p.cpu.updatesPerSecond, unit: 'updates/s', detail: `${p.cpu.updates} client updates`, threads: p.cpu.workers },
    { suite: 'gpu-round', name: 'fixed cost per chunk (C=1, beside training)', value: p.fixedMsPerChunk, unit: 'ms', detail: 'host preparation + process round trip + device fold and readback' },
  ];
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
    'commits with --json output. train-step, update and eval also give GFLOP/s against the model\'s FLOP count',
    '(computed from its layers and printed) and their distance to the FLOP time at the GEMM rate of the same run.',
    'update, eval and round use simulated UCI-HAR, or the real data in the paper\'s shards with --data-dir.',
    'gpu-round (only with --only): client updates/s of the batched device path for --clients chunk sizes against',
    'the CPU path on every core in the same run, and the fixed cost of a chunk.',
    '',
    'aggregate: every aggregator at P = 1M, 10M and 100M float32 values per update (K = 100, 40 and 7',
    'updates: about 1.6 GB of updates at a time, 2.8 GB at 100M), in GB/s of update bytes and as a fraction',
    'of the read bandwidth of the same buffers measured in the same run (fastest of a few repetitions of',
    'each). The streaming aggregators also run on --threads threads (against the read bandwidth of as many',
    'threads); the others keep every update and run on one.',
    'One-thread rows also give the fraction by process CPU time (steadier when other jobs share the cores).',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm bench',
    '  fedmm bench --only gemm --backend js',
    '  fedmm bench --only update --data-dir ../shared/data/uci-har',
    '  fedmm bench --only aggregate --max-params 10000000 --json',
    '  fedmm bench --only gpu-round --clients 1,16,64',
    '  fedmm bench --json > bench-$(git rev-parse --short HEAD).json',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm bench');
    if (args.positionals.length) throw new UsageError(`fedmm bench takes no arguments, got '${args.positionals[0]}'`);
    const clients = clientCounts(args.options.clients);
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
    const threads = typeof args.options.threads === 'number' ? args.options.threads : availableParallelism();
    const maxParams = typeof args.options['max-params'] === 'number' ? args.options['max-params'] : 100_000_000;
    const dataDir = typeof args.options['data-dir'] === 'string' ? resolve(args.options['data-dir']) : null;
    const note = (line: string) => process.stderr.write(line + '\n');
    const suites: Record<Suite, () => BenchFigure[] | Promise<BenchFigure[]>> = {
      aggregate: () => aggregateBench(threads, maxParams), gemm: gemmBench, 'train-step': () => trainStepBench(note), update: () => updateBench(dataDir, note),
      eval: () => evalBench(dataDir, workers, note), round: () => roundBench(dataDir, workers),
      'gpu-round': () => gpuRoundBench(dataDir, clients, note),
    };
    for (const s of SUITES) {
      if (only !== null ? s !== only : ON_REQUEST.includes(s)) continue;
      if (!json) process.stderr.write(`measuring ${s}…\n`);
      figures.push(...(await suites[s]()));
    }
    if (json) process.stdout.write(JSON.stringify({ machine: summary, figures }, null, 2) + '\n');
    else process.stdout.write(table(['suite', 'measurement', 'value', 'unit', 'detail'], figures.map((f) => [f.suite, f.name, f.value.toFixed(f.value >= 100 ? 0 : 2), f.unit, f.detail])) + '\n');
    return 0;
  },
};
