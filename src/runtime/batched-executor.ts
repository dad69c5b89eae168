// The batched gpu executor: a round's clients train in chunks of C on the device (kernels/batched-model.ts), each
// chunk folded there; the chunks' folds are added here in float64 and divided by the total sample count — the
// round's mean update, straight to the server step. Evaluation (and a single client's job) runs on the local
// executor's CPU workers.
//
// Which runs it takes is decided once, in batchedRefusal: FedMultimodal's conv-GRU attention model, an
// algorithm whose clients send only their delta weighted by sample count (FedAvg, FedProx, FedOpt, FedRS), the plain
// mean, no compression, privacy, attack or injected fault, synchronous rounds. Everything else runs on the CPU
// path with one line saying why. Whether it runs: always with the gpu backend forced; under 'auto' only where a
// GPU answered and a calibration on the run's own clients says it is faster (runExecutor).
import { BatchedPathRefused, BatchedTrainer, batchedPlan, type ChunkClient, type ChunkResult } from '../../kernels/batched-model.js';
import type { BatchedPlan } from '../../kernels/batched-train.js';
import { batchedPathWins, type RoundPathRates } from '../backend/calibrate.js';
import { FedMultimodalTask } from '../fl/fedmultimodal.js';
import { getStrategy, type ClientHooks, type Vectors } from '../fl/strategy.js';
import type { Metrics, Task } from '../fl/task.js';
import type { Batch } from '../data/types.js';
import type { ClientWork } from './client-job.js';
import type { RunConfig } from './config.js';
import { RunInterrupted } from './train-step.js';
import { LocalExecutor, type ClientExecutor, type FoldedClient, type FoldedRound, type RunSpec, type TrainedClient } from './executor.js';

/** Algorithms whose clients send only their delta and whose server averages by sample count. */
const BATCHED_ALGORITHMS = new Set(['fedavg', 'fedprox', 'fedopt', 'fedrs']);

/** Why the batched gpu path does not take this run (a BatchedPathRefused), or null when it does. */
export function batchedRefusal(task: Task, config: RunConfig): BatchedPathRefused | null {
  const refuse = (why: string) => new BatchedPathRefused(`the batched gpu path ${why}`);
  if (!(task instanceof FedMultimodalTask)) return refuse(`trains FedMultimodal tasks, not '${task.spec.kind}'`);
  if (task.dataset.multiLabel) return refuse(`trains single-label classification, not ${task.dataset.id}'s multi-label loss`);
  if (!BATCHED_ALGORITHMS.has(config.algorithm)) return refuse(`runs fedavg, fedprox, fedopt and fedrs, not ${config.algorithm}`);
  if (config.aggregator.name !== 'mean') return refuse(`folds the plain weighted mean, not aggregator '${config.aggregator.name}'`);
  if (config.compress !== 'none' || config.compressDown !== 'none') return refuse('sends uncompressed weights and updates');
  if (config.dp || config.secagg) return refuse('does not run differential privacy or secure aggregation');
  if (config.attack) return refuse('does not simulate attacks');
  if (config.faults.length > 0) return refuse('does not inject faults');
  if (config.asyncConcurrency > 0) return refuse('runs synchronous rounds, not FedBuff');
  try {
    const module = task.createModule();
    const first = task.clientData(task.data.activeClients[0]).batches(1)[Symbol.iterator]().next().value as Batch | undefined;
    batchedPlan(module, module.batchIndices.map((i) => first?.modalities[i].T ?? 0));
  } catch (e) {
    if (e instanceof BatchedPathRefused) return e;
    throw e;
  }
  return null;
}

export class BatchedExecutor implements ClientExecutor {
  /** One device: the round's clients train as chunks of one batched computation. */
  readonly lanes = 1;
  private readonly cpu: LocalExecutor;
  private readonly trainer: BatchedTrainer;
  private readonly plan: BatchedPlan;
  private readonly global: Float32Array;
  private readonly mu: number;
  private readonly hooks: ClientHooks;

  constructor(private readonly task: FedMultimodalTask, private readonly spec: RunSpec, workers: number) {
    this.cpu = new LocalExecutor(task, spec, workers);
    this.trainer = new BatchedTrainer(task.createModule(), 'auto');
    this.plan = this.trainer.plan(task.clientData(task.data.activeClients[0]));
    this.global = new Float32Array(spec.numParams);
    // FedProx's proximal μ (FedAvg and FedOpt have none).
    this.mu = typeof spec.algorithmParams.mu === 'number' ? spec.algorithmParams.mu : 0;
    this.hooks = getStrategy(spec.algorithm).client;
  }

  /** The gpu.js mode the chunks run on ('webgpu', 'headlessgl' or 'cpu'). */
  get mode(): string {
    return this.trainer.mode;
  }

  publish(global: Float32Array, vectors: Vectors): void {
    this.global.set(global);
    this.cpu.publish(global, vectors);
  }

  async trainRound(round: number, ids: Int32Array, signal: AbortSignal | null = null): Promise<FoldedRound> {
    const { local, seed } = this.spec;
    const limit = this.trainer.maxChunk(this.plan, local.batchSize);
    const sum = new Float64Array(this.spec.numParams);
    let weightSum = 0;
    const accepted: FoldedClient[] = [];
    const dropped: { client: number; reason: string }[] = [];
    let trainMs = 0;
    let foldMs = 0;
    let transferMs = 0;
    for (let first = 0; first < ids.length; first += limit) {
      // A turn of the event loop between chunks: timers and Ctrl-C are seen (a chunk itself runs to its end).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new RunInterrupted();
      const clients = Array.from(ids.subarray(first, first + limit), (clientId): ChunkClient => {
        const data = this.task.clientData(clientId);
        // FedRS's restricted softmax: the strategy's own class scale for this client.
        const classScale = this.hooks.classScale?.({
          round, clientId, numClasses: this.task.numClasses, labelHistogram: data.labelHistogram, global: this.global, broadcast: {}, state: null,
          local, params: this.spec.algorithmParams,
        }) ?? null;
        return { clientId, data, weight: data.size, classScale };
      });
      const r: ChunkResult = this.trainer.train(this.plan, clients, {
        seed, round, epochs: local.epochs, batchSize: local.batchSize, global: this.global,
        local: { lr: local.lr, momentum: local.momentum, weightDecay: local.weightDecay, gradClip: local.gradClip, mu: this.mu },
      });
      for (let i = 0; i < sum.length; i++) sum[i] += r.folded[i];
      weightSum += r.weightSum;
      for (const c of r.clients) {
        if (Number.isFinite(c.sqNorm)) accepted.push({ clientId: c.clientId, numSamples: c.numSamples, steps: c.steps, loss: c.loss });
        else dropped.push({ client: c.clientId, reason: `update is not finite (‖Δ‖² = ${c.sqNorm}); left out of the device fold` });
      }
      trainMs += r.trainMs;
      foldMs += r.foldMs;
      transferMs += r.prepareMs + r.transferMs;
    }
    const means = accepted.length > 0
      ? { delta: Float32Array.from(sum, (v) => v / weightSum), extras: {}, participants: accepted.length, totalWeight: weightSum }
      : null;
    return { means, accepted, dropped, trainMs, foldMs, transferMs };
  }

  train(work: ClientWork, signal?: AbortSignal): Promise<TrainedClient> {
    return this.cpu.train(work, signal);
  }

  evaluate(weights: Float32Array, split: 'dev' | 'test'): Promise<Metrics> {
    return this.cpu.evaluate(weights, split);
  }

  close(): Promise<void> {
    return this.cpu.close();
  }
}

/** Clients of the calibration chunk (fewer when the task has fewer active clients). */
const CALIBRATION_CLIENTS = 16;

/**
 * Client updates/s of the batched path (one chunk of up to CALIBRATION_CLIENTS active clients, after a one-client
 * chunk that compiles the kernels) and of the CPU path (the same clients on the local executor's workers, after a
 * warm-up job per worker), from the run's initial weights, as round 0 trains them.
 */
export async function calibrateRoundPaths(task: FedMultimodalTask, spec: RunSpec, workers: number, global: Float32Array): Promise<RoundPathRates> {
  const ids = Int32Array.from(task.data.activeClients.slice(0, CALIBRATION_CLIENTS));
  const batched = new BatchedExecutor(task, spec, 0);
  let batchedRate: number;
  try {
    batched.publish(global, {});
    await batched.trainRound(0, ids.slice(0, 1));
    const t0 = performance.now();
    await batched.trainRound(0, ids);
    batchedRate = (1000 * ids.length) / (performance.now() - t0);
  } finally {
    await batched.close();
  }
  const cpu = new LocalExecutor(task, spec, workers);
  try {
    cpu.publish(global, {});
    const train = (list: Int32Array) => Promise.all(Array.from(list, (clientId) => cpu.train({ round: 0, clientId, state: null, fault: null })));
    await train(ids.slice(0, cpu.lanes));
    const t0 = performance.now();
    await train(ids);
    return { batched: batchedRate, cpu: (1000 * ids.length) / (performance.now() - t0) };
  } finally {
    await cpu.close();
  }
}

/** Which backend the run's kernels came from: forced gpu, 'auto' on a machine where a GPU answered, or anything else. */
export type RunBackend = 'gpu' | 'auto-with-gpu' | 'cpu';

/**
 * The run's executor. Forced gpu: the batched one when it takes the run, else the local one with one line why.
 * 'auto' where a GPU answered: the batched one only when it takes the run and the calibration (calibrate.ts's
 * batchedPathWins) says it delivers more client updates/s here, with one line of the figures either way.
 * Otherwise the local one.
 */
export async function runExecutor(task: Task, spec: RunSpec, config: RunConfig, backend: RunBackend, global: Float32Array,
  log: (line: string) => void): Promise<ClientExecutor> {
  const local = () => new LocalExecutor(task, spec, config.workers);
  if (backend === 'cpu') return local();
  const refusal = batchedRefusal(task, config);
  if (refusal) {
    if (backend === 'gpu') log(`gpu backend: ${refusal.message}`);
    return local();
  }
  const fm = task as FedMultimodalTask;
  if (backend === 'auto-with-gpu') {
    const rates = await calibrateRoundPaths(fm, spec, config.workers, global);
    const wins = batchedPathWins(rates);
    log(`auto: batched gpu path ${rates.batched.toFixed(1)} client updates/s, CPU path ${rates.cpu.toFixed(1)} on ${Math.max(1, config.workers)} workers: `
      + `${wins ? 'training on the batched gpu path' : 'staying on the CPU path'}`);
    if (!wins) return local();
  }
  return new BatchedExecutor(fm, spec, config.workers);
}
