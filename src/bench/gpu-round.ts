// The gpu-round measurement: client updates/s of the UCI-HAR model (FedAvg, the published local settings) on the
// batched device path, C clients per chunk, against the CPU path on every core of the same machine in the same
// run (the local executor's worker pool, its workers on the CPU kernels: native where the addon loads, else the
// TypeScript reference). The chunk's clients cycle through the task's active clients (a larger C repeats
// clients: the same work as distinct ones of the same sizes).
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BatchedTrainer, type ChunkClient, type ChunkResult } from '../../kernels/batched-model.js';
import type { FedMultimodalTask } from '../fl/fedmultimodal.js';
import { getStrategy } from '../fl/strategy.js';
import { Rng } from '../random.js';
import { LocalExecutor } from '../runtime/executor.js';
import { NO_COMPRESSION } from '../runtime/compression.js';
import type { LocalTrainConfig } from '../fl/strategy.js';
import { nativeKernels } from '../backend/native.js';

export interface GpuRoundFigure {
  /** Clients per chunk asked for, and the chunk size the mode allows (a GPU mode caps it by its array limit). */
  readonly C: number;
  readonly chunk: number;
  readonly updatesPerSecond: number;
  /** Per chunk, mean: host preparation, device training, device fold + readback, the rest of the round trip (ms). */
  readonly prepareMs: number;
  readonly trainMs: number;
  readonly foldMs: number;
  readonly transferMs: number;
}

export interface GpuRoundProfile {
  readonly mode: string;
  readonly adapter: string;
  readonly figures: GpuRoundFigure[];
  /** The CPU path on `workers` worker threads and `kernels`: updates/s over `updates` client updates. */
  readonly cpu: { updatesPerSecond: number; workers: number; updates: number; kernels: string };
  /** A one-client chunk (kernels compiled) end to end minus its device training: host preparation, the round trip, the fold (ms). */
  readonly fixedMsPerChunk: number;
}

/** Clients per chunk measured by default: the issue's sizes on a GPU mode, two small ones on the cpu fallback. */
export const GPU_ROUND_CLIENTS = [1, 16, 64, 256, 1024] as const;
export const FALLBACK_ROUND_CLIENTS = [1, 2] as const;

/** Measures the batched path for each C (null: the defaults above), then the CPU path on all cores (see the header). */
export async function gpuRoundProfile(task: FedMultimodalTask, local: LocalTrainConfig, clientCounts: readonly number[] | null,
  log: (line: string) => void, budgetMs = Infinity): Promise<GpuRoundProfile> {
  const started = performance.now();
  const trainer = new BatchedTrainer(task.createModule(), 'auto');
  const Cs = clientCounts ?? (trainer.mode === 'cpu' ? FALLBACK_ROUND_CLIENTS : GPU_ROUND_CLIENTS);
  const active = task.data.activeClients;
  const client = (i: number): ChunkClient => {
    const id = active[i % active.length];
    const data = task.data.client(id);
    return { clientId: id, data, weight: data.size };
  };
  const plan = trainer.plan(client(0).data);
  const global = task.createModel(new Rng(8).fork('init')).params.slice();
  const spec = {
    seed: 8, round: 0, epochs: local.epochs, batchSize: local.batchSize, global,
    local: { lr: local.lr, momentum: local.momentum, weightDecay: local.weightDecay, gradClip: local.gradClip, mu: 0 },
  };
  const limit = trainer.maxChunk(plan, local.batchSize);
  log(`gpu-round: ${trainer.mode} mode${trainer.init.adapter ? ` (${trainer.init.adapter.description})` : ''}; chunk limit ${limit === Number.MAX_SAFE_INTEGER ? 'none' : limit} clients`);
  trainer.train(plan, [client(0)], spec); // compiles every kernel
  const one = trainer.train(plan, [client(0)], spec);
  const fixedMsPerChunk = one.prepareMs + one.transferMs + one.foldMs;
  const figures: GpuRoundFigure[] = [];
  for (const C of Cs) {
    if (performance.now() - started > budgetMs) {
      log(`gpu-round: C=${C} skipped: past the time budget of ${(budgetMs / 1000).toFixed(0)} s`);
      continue;
    }
    const chunk = Math.min(C, limit);
    const results: ChunkResult[] = [];
    const t0 = performance.now();
    for (let first = 0; first < C; first += chunk) {
      const clients = Array.from({ length: Math.min(chunk, C - first) }, (_, k) => client(first + k));
      results.push(trainer.train(plan, clients, spec));
    }
    const ms = performance.now() - t0;
    const mean = (f: (r: ChunkResult) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
    const figure = { C, chunk, updatesPerSecond: (1000 * C) / ms, prepareMs: mean((r) => r.prepareMs), trainMs: mean((r) => r.trainMs), foldMs: mean((r) => r.foldMs), transferMs: mean((r) => r.transferMs) };
    log(`gpu-round: C=${C}: ${figure.updatesPerSecond.toFixed(2)} updates/s (${results.length} chunk${results.length > 1 ? 's' : ''} of ≤ ${chunk})`);
    figures.push(figure);
  }

  const workers = availableParallelism();
  // The workers start on the CPU kernels (they read FEDMM_BACKEND when they start), not on 'auto', which on a GPU
  // machine would probe and calibrate the GPU in every worker.
  const saved = process.env.FEDMM_BACKEND;
  process.env.FEDMM_BACKEND = cpuKernelsName();
  const executor = new LocalExecutor(task, {
    task: task.spec, algorithm: 'fedavg', algorithmParams: getStrategy('fedavg').params({}), local, seed: 8, plugins: [],
    broadcastNames: [], numParams: global.length, compression: NO_COMPRESSION, extraNames: [],
  }, workers);
  try {
    executor.publish(global, {});
    const train = (n: number, from: number) => Promise.all(Array.from({ length: n }, (_, k) =>
      executor.train({ round: 0, clientId: client(from + k).clientId, state: null, fault: null })));
    await train(workers, 0);
    if (saved === undefined) delete process.env.FEDMM_BACKEND;
    else process.env.FEDMM_BACKEND = saved;
    const updates = Math.max(2 * workers, Math.min(Math.max(...Cs), 4 * workers));
    const t0 = performance.now();
    await train(updates, workers);
    const cpu = { updatesPerSecond: (1000 * updates) / (performance.now() - t0), workers, updates, kernels: cpuKernelsName() };
    log(`gpu-round: CPU path on ${workers} workers: ${cpu.updatesPerSecond.toFixed(2)} updates/s`);
    return { mode: trainer.mode, adapter: trainer.init.adapter?.description ?? '', figures, cpu, fixedMsPerChunk };
  } finally {
    if (saved === undefined) delete process.env.FEDMM_BACKEND;
    else process.env.FEDMM_BACKEND = saved;
    await executor.close();
  }
}

/** 'native' where the addon loads, else 'js': the CPU kernels the baseline's workers run. */
function cpuKernelsName(): 'native' | 'js' {
  try {
    nativeKernels();
    return 'native';
  } catch {
    return 'js';
  }
}
