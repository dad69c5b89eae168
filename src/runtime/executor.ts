// Where the selected clients get trained: a ClientExecutor runs one client's local training on the weights
// it was last given, and scores the global model. The local executor runs jobs in a Piscina worker pool, or
// one by one on the main thread with workers: 0 (the same job code, so the same bits); another executor
// (a cluster) implements the same interface.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Rng } from '../random.js';
import type { RoundMeans, Vectors } from '../fl/strategy.js';
import type { EvalPart, Metrics, Task } from '../fl/task.js';
import { broadcastViews, runClientJob, type ClientJobResult, type ClientWork, type EvalJob, type ClientJob, type RunSetup, type RunSpec as ClientRunSpec } from './client-job.js';

/** What a run's clients need to know, the same for every job of the run, and what their updates carry. */
export interface RunSpec extends ClientRunSpec {
  /** Vectors every update carries besides the delta (the strategy's extraNames). */
  readonly extraNames: readonly string[];
}

export interface ClientExecutor {
  /** Clients trained at once: sizes the dispatch window and the overhead share. */
  readonly lanes: number;
  /** Makes the round's global weights and the strategy's broadcast vectors the ones clients train from. */
  publish(global: Float32Array, vectors: Vectors): void;
  /**
   * For an executor that publishes a whole round at once (the cluster): called before each try of a round
   * with every client's first try (yielded lazily, in client order); train() is then called for each of
   * them and, for a retry, with a new try. Resolves to the ms spent on the engine's store (phase `redis`).
   */
  beginRound?(round: number, firstTries: Iterable<ClientWork>): Promise<number>;
  /**
   * For an executor that trains and folds a whole round itself (the batched gpu path): trains clients `ids`
   * (ascending) from the published weights and returns the mean of their updates weighted by sample count, over
   * the clients whose update is finite. The round then skips the per-update train step and aggregator. When
   * `signal` aborts, it rejects with RunInterrupted before its next chunk.
   */
  trainRound?(round: number, ids: Int32Array, signal: AbortSignal | null): Promise<FoldedRound>;
  /** Clean-up after a round try's train step; resolves to the ms spent on the engine's store. */
  endRound?(): Promise<number>;
  /**
   * Trains one client from the published weights; rejects when its job throws or its worker dies, or when
   * `signal` aborts it (the job is stopped: a local worker is terminated and replaced).
   */
  train(work: ClientWork, signal?: AbortSignal): Promise<TrainedClient>;
  /** Dev or test metrics of `weights` (publishes them as the global weights). */
  evaluate(weights: Float32Array, split: 'dev' | 'test'): Promise<Metrics>;
  close(): Promise<void>;
}

/** One client of a round an executor trained and folded itself. */
export interface FoldedClient {
  readonly clientId: number;
  readonly numSamples: number;
  readonly steps: number;
  /** Sample-weighted mean training loss over its pass. */
  readonly loss: number;
}

/** A round trained and folded by the executor (ClientExecutor.trainRound). */
export interface FoldedRound {
  /** Σ nᵢ·Δᵢ / Σ nᵢ over the accepted clients; null when none was. */
  readonly means: RoundMeans | null;
  readonly accepted: readonly FoldedClient[];
  /** Clients left out of the fold, each with its one-line reason. */
  readonly dropped: readonly { client: number; reason: string }[];
  /** Milliseconds: training (on the device), folding, and everything else between the host and the device. */
  readonly trainMs: number;
  readonly foldMs: number;
  readonly transferMs: number;
}

/** A trained client; an executor on another engine adds what the client cost there. */
export interface TrainedClient extends ClientJobResult {
  /** Enqueued → picked up by a worker (ms). */
  readonly queueMs?: number;
  /** Round trips to the engine's store for this client, both sides (ms). */
  readonly redisMs?: number;
}

/**
 * The executor itself failed (its engine is unreachable, no worker can take the jobs): the run stops with
 * this one line instead of retrying and dropping clients.
 */
export class ExecutorUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorUnavailable';
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** dist/src/runtime/worker.js, whether this module runs compiled or from the TypeScript sources. */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js') ? join(dirname(here), 'worker.js') : resolve(dirname(here), '../../dist/src/runtime/worker.js');
  if (!existsSync(file)) throw new Error(`runtime: worker script ${file} is missing; build first (npx tsc -p tsconfig.json)`);
  return file;
}

/**
 * This machine's executor: `workers` Piscina threads reading the weights from one SharedArrayBuffer, or the
 * main thread when workers is 0. With workers and a task that evaluates in parts, each split's batches are
 * cut into one contiguous range per worker and scored on the main thread in batch order, which gives the
 * same bits as evaluating on the main thread.
 */
export class LocalExecutor implements ClientExecutor {
  readonly lanes: number;
  private readonly setup: RunSetup;
  private readonly shared: ReturnType<typeof broadcastViews>;
  private readonly pool: Piscina<ClientJob | EvalJob, ClientJobResult | EvalPart> | null;
  private readonly evalModel;
  private mainThreadQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly task: Task, spec: RunSpec, workers: number) {
    this.lanes = Math.max(1, workers);
    this.setup = { ...spec, runId: randomUUID(), broadcast: new SharedArrayBuffer(4 * spec.numParams * (1 + spec.broadcastNames.length)) };
    this.shared = broadcastViews(this.setup);
    this.evalModel = task.createModel(new Rng(spec.seed).fork('eval-model'));
    this.pool = workers > 0 ? new Piscina({ filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 30_000 }) : null;
  }

  publish(global: Float32Array, vectors: Vectors): void {
    this.shared.global.set(global);
    for (const name of this.setup.broadcastNames) this.shared.vectors[name].set(vectors[name]);
  }

  train(work: ClientWork, signal?: AbortSignal): Promise<ClientJobResult> {
    const job: ClientJob = { ...work, setup: this.setup };
    // Piscina terminates the worker of an aborted task and starts a fresh one.
    if (this.pool) return this.pool.run(job, { signal }) as Promise<ClientJobResult>;
    // On the main thread, jobs share one model instance: run them one after another, each after a turn of the
    // event loop (so Ctrl-C and timers are seen between jobs). An aborted job is abandoned: a job that never
    // yields cannot be stopped on the thread it blocks (use workers ≥ 1 for untrusted client code).
    const run = () => new Promise<void>((resolve) => setImmediate(resolve)).then(() => runClientJob(job));
    const result = this.mainThreadQueue.then(() => (signal ? abortable(run(), signal) : run()));
    this.mainThreadQueue = result.catch(() => undefined);
    return result;
  }

  async evaluate(weights: Float32Array, split: 'dev' | 'test'): Promise<Metrics> {
    const { task, pool } = this;
    if (!pool || !task.evalBatches || !task.predictBatches || !task.scoreEval) {
      this.evalModel.params.set(weights);
      return task.evaluate(this.evalModel, split);
    }
    this.shared.global.set(weights);
    const n = task.evalBatches(split);
    const k = Math.max(1, Math.min(this.lanes, n));
    const parts: Promise<EvalPart>[] = [];
    for (let i = 0; i < k; i++) {
      const job: EvalJob = { kind: 'eval', setup: this.setup, split, from: Math.floor((i * n) / k), to: Math.floor(((i + 1) * n) / k) };
      parts.push(pool.run(job) as Promise<EvalPart>);
    }
    return task.scoreEval(split, await Promise.all(parts));
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
