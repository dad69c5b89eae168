// The coordinator's side of the cluster (`fedmm run --cluster`): a ClientExecutor that publishes each round
// to Redis — the broadcast weights once, then a BullMQ flow with a parent job per round try and one child
// job per client — and hands each finished client's update bytes back to the run loop, which decodes,
// validates and folds them exactly as in a local run. Evaluation stays on this machine (LocalExecutor).
//
// Nothing a worker writes is trusted: its report is checked field by field, the update is read with a bound
// (the size of the update's vectors plus a header allowance) and the scheduler validates it (wire.ts); a
// client's kept state (top-k's residuals) is read with the bound of its expected vectors and checked by name,
// length and finiteness.
// A lost Redis or a cluster without workers stops the run with one line (RemoteUnavailable) instead of
// hanging; a dead worker's job is redelivered by BullMQ's stalled-job check.
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { findNonFinite } from '../aggregate/norms.js';
import type { Vectors } from '../fl/strategy.js';
import type { Metrics, Task } from '../fl/task.js';
import { wallNow, type ClientWork } from '../runtime/client-job.js';
import { deserializeVectors, serializeVectors } from '../runtime/client-state.js';
import { residualKey, usesErrorFeedback } from '../runtime/compression.js';
import type { RunConfig } from '../runtime/config.js';
import { LocalExecutor, type ClientExecutor, type RunSpec, type TrainedClient } from '../runtime/executor.js';
import { BulkChannel } from './bulk.js';
import { bullConnection, ClusterError, connect, describeRedisError, type ClusterTarget } from './connection.js';
import {
  broadcastKey, clientQueue, describeRun, HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS, jobId, keptStateKey, KEY_TTL_MS, lineagePatterns, newRunId, parseReport, PREFIX,
  roundQueue, RUNS_KEY, runKey, runLineage, stateKey, updateKey, WORKER_INFO_KEY, WORKERS_KEY, MAX_META_BYTES,
  type ClientJobData, type ClientJobReport, type RunDescriptor, type WorkerInfo,
} from './protocol.js';

/** Bytes a header (client, round, loss, metrics, extra names) may add to an update's vectors. */
export const UPDATE_HEADER_ALLOWANCE = 64 * 1024;

export interface ClusterStatus {
  readonly round: number;
  /** Jobs of the round try: waiting in the queue, being trained, finished (accepted or failed), in all. */
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  readonly total: number;
  readonly workers: readonly WorkerInfo[];
}

export interface CoordinatorOptions {
  /** One-line notices (a stalled job redelivered); default console.warn. */
  readonly log?: (line: string) => void;
  /** Called every statusEveryMs while the run is on the cluster. */
  readonly onStatus?: (status: ClusterStatus) => void;
  readonly statusEveryMs?: number;
  /** Stop when client jobs wait and no worker able to take them has been connected for this long (default 60 s). */
  readonly noWorkerTimeoutMs?: number;
  /** Stop when Redis has not answered for this long (default 10 s). */
  readonly unreachableMs?: number;
  /** The coordinator's fedmm version, published to the workers (a worker of another version refuses the run). */
  readonly version: string;
}

interface FlowChild {
  name: string;
  queueName: string;
  data: ClientJobData;
  opts: { jobId: string; attempts: number };
}

type Outcome = { report: ClientJobReport } | { error: string };

interface Waiter {
  resolve(o: Outcome): void;
}

/** The run this executor serves (attach). */
interface AttachedRun {
  /** The run across coordinator restarts (protocol.ts), and this session's id under it. */
  readonly lineage: string;
  readonly runId: string;
  readonly spec: RunSpec;
  readonly numClients: number;
  /** Evaluates the global model on this machine. */
  readonly evaluator: LocalExecutor;
  /** [global | broadcast vector 0 | …] as published for the next round. */
  readonly broadcast: Float32Array;
}

export class ClusterExecutor implements ClientExecutor {
  private run: AttachedRun | null = null;
  private descriptor: RunDescriptor | null = null;
  private queue: Queue | null = null;
  private rounds: Queue | null = null;
  private flow: FlowProducer | null = null;
  private events: QueueEvents | null = null;
  private maxUpdateBytes = 0;
  /** The residual names a client keeps under error feedback, sorted (empty without it), and their serialized size. */
  private keptNames: string[] = [];
  private keptBytes = 0;
  private readonly tries = new Map<number, number>();
  private round = -1;
  private roundTry = 0;
  /** Jobs of the current round try: enqueue instant, and their outcome once known. */
  private readonly enqueued = new Map<string, number>();
  /** Jobs of the current round try a worker has taken, and the run loop's start flags of the others (its client timeout counts from the flag). */
  private readonly active = new Set<string>();
  private readonly startFlags = new Map<string, Int32Array>();
  private readonly outcomes = new Map<string, Outcome>();
  private readonly waiters = new Map<string, Waiter>();
  private roundKeys: string[] = [];
  private retryJobs: string[] = [];
  private fatal: ClusterError | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastAnswer = wallNow();
  private lastWorkerSeen = wallNow();
  private workers: WorkerInfo[] = [];
  private lastStatus = 0;
  private readonly lanesByWorker = new Map<string, number>();
  /** Calls of train() per client in the current round try: the first is the published job, later ones are retries. */
  private readonly calls = new Map<number, number>();
  private readonly log: (line: string) => void;
  private readonly version: string;
  /** Broadcast and state writes, update reads. */
  private readonly bulk: BulkChannel;

  private constructor(readonly target: ClusterTarget, private readonly redis: Redis, private readonly options: CoordinatorOptions) {
    this.log = options.log ?? ((line) => console.warn(line));
    this.version = options.version;
    this.bulk = new BulkChannel(target, 'fedmm-coordinator-bulk');
    redis.on('error', () => undefined);
  }

  /** Connects to the cluster's Redis (one clear line when it is unreachable or refuses the credentials). */
  static async open(target: ClusterTarget, options: CoordinatorOptions): Promise<ClusterExecutor> {
    return new ClusterExecutor(target, await connect(target, 'fedmm-coordinator'), options);
  }

  /** RunHooks.executor for one run: this executor, attached to the run. */
  attacher(): (task: Task, spec: RunSpec, config: RunConfig) => ClientExecutor {
    return (task, spec, config) => this.attach(task, spec, config);
  }

  /** Serves one run (an executor serves one run; evaluation uses config.workers local threads). */
  attach(task: Task, spec: RunSpec, config: RunConfig): this {
    if (this.run) throw new Error('cluster: this executor already serves a run');
    const broadcast = new Float32Array(spec.numParams * (1 + spec.broadcastNames.length));
    const lineage = runLineage(config.outDir);
    this.run = { lineage, runId: newRunId(lineage), spec, numClients: task.numClients, evaluator: new LocalExecutor(task, spec, config.workers), broadcast };
    // A compressed vector takes at most 5 bytes a value (int8 with one-value blocks); a plain one 4.
    const bytesPerValue = spec.compression.kind === 'none' ? 4 : 8;
    this.maxUpdateBytes = (1 + spec.extraNames.length) * (bytesPerValue * spec.numParams + 16) + UPDATE_HEADER_ALLOWANCE;
    this.keptNames = usesErrorFeedback(spec.compression) ? ['delta', ...spec.extraNames].map(residualKey).sort() : [];
    this.keptBytes = serializeVectors(Object.fromEntries(this.keptNames.map((n) => [n, new Float32Array(0)]))).byteLength + 4 * spec.numParams * this.keptNames.length;
    return this;
  }

  get lanes(): number {
    return Math.max(1, this.workers.reduce((s, w) => s + w.threads, 0));
  }

  private get runId(): string {
    return this.run!.runId;
  }

  /** Runs a Redis operation; a failure of Redis itself stops the run. */
  private async redisOp<T>(op: () => Promise<T>): Promise<T> {
    if (this.fatal) throw this.fatal;
    try {
      const r = await op();
      this.lastAnswer = wallNow();
      return r;
    } catch (e) {
      throw this.fail(e instanceof ClusterError ? e : new ClusterError(describeRedisError(this.target, e)));
    }
  }

  private fail(e: ClusterError): ClusterError {
    if (!this.fatal) {
      this.fatal = e;
      this.bulk.close(e);
      for (const [id, w] of this.waiters) {
        this.waiters.delete(id);
        w.resolve({ error: e.message });
      }
    }
    return this.fatal;
  }

  /**
   * Removes what earlier sessions of this run's lineage left in Redis — a coordinator killed hard (kill -9,
   * power loss) leaves its BullMQ queues and round keys behind. A session whose heartbeat is still fresh may
   * be a coordinator that just died: its heartbeat is given HEARTBEAT_TTL_MS to stop; one that keeps beating
   * is another coordinator writing to the same output directory, and this one stops with one line.
   */
  private async removeStaleSessions(): Promise<void> {
    const { lineage } = this.run!;
    const deadline = wallNow() + HEARTBEAT_TTL_MS + HEARTBEAT_EVERY_MS;
    for (;;) {
      const sessions = (await this.redis.zrange(RUNS_KEY, 0, -1, 'WITHSCORES'));
      const live: string[] = [];
      const stale: string[] = [];
      for (let i = 0; i < sessions.length; i += 2) {
        if (!sessions[i].startsWith(`${lineage}-`)) continue;
        (Number(sessions[i + 1]) > Date.now() - HEARTBEAT_TTL_MS ? live : stale).push(sessions[i]);
      }
      if (stale.length) await this.redis.zrem(RUNS_KEY, ...stale);
      if (live.length === 0) break;
      if (wallNow() > deadline) {
        throw new ClusterError(`cluster: another coordinator (run ${live[0]}) is running with the same output directory on ${this.target.shown}; give this run another --out`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    let removed = 0;
    for (const match of lineagePatterns(lineage)) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length) removed += await this.redis.unlink(...keys);
      } while (cursor !== '0');
    }
    if (removed > 0) this.log(`cluster: removed ${removed} keys an earlier coordinator of this run left in Redis`);
  }

  /** Publishes the run: its descriptor, queues and event reader (before its first round). */
  private async start(): Promise<void> {
    await this.redisOp(() => this.removeStaleSessions());
    const { runId, spec, numClients } = this.run!;
    const d = describeRun({
      runId, version: this.version, task: spec.task, algorithm: spec.algorithm, algorithmParams: spec.algorithmParams,
      local: spec.local, seed: spec.seed, plugins: spec.plugins, broadcastNames: spec.broadcastNames, numParams: spec.numParams, numClients,
      compression: spec.compression,
    });
    this.descriptor = d;
    this.lastWorkerSeen = wallNow();
    const connection = bullConnection(this.target);
    this.queue = new Queue(clientQueue(d.runId), { connection, prefix: PREFIX });
    this.rounds = new Queue(roundQueue(d.runId), { connection, prefix: PREFIX });
    this.flow = new FlowProducer({ connection, prefix: PREFIX });
    this.events = new QueueEvents(clientQueue(d.runId), { connection, prefix: PREFIX });
    const ignore = () => undefined; // failures surface through redisOp and the watch loop
    this.queue.on('error', ignore);
    this.rounds.on('error', ignore);
    this.flow.on('error', ignore);
    this.events.on('error', ignore);
    this.events.on('completed', ({ jobId: id, returnvalue }) => {
      let outcome: Outcome;
      try {
        outcome = { report: parseReport(returnvalue) };
      } catch (e) {
        outcome = { error: `worker sent a bad report: ${(e as Error).message}` };
      }
      this.settle(id, outcome);
    });
    this.events.on('active', ({ jobId: id }) => {
      if (!this.enqueued.has(id)) return;
      this.active.add(id);
      const flag = this.startFlags.get(id);
      if (flag) Atomics.store(flag, 0, 1);
    });
    this.events.on('failed', ({ jobId: id, failedReason }) => this.settle(id, { error: String(failedReason).split('\n')[0].slice(0, 500) }));
    this.events.on('stalled', ({ jobId: id }) => {
      if (this.enqueued.has(id)) this.log(`round ${this.round}: the worker training job ${id} stopped answering; the job is redelivered`);
    });
    await this.redisOp(async () => {
      await Promise.all([this.queue!.waitUntilReady(), this.rounds!.waitUntilReady(), this.flow!.waitUntilReady(), this.events!.waitUntilReady()]);
      await this.redis.set(runKey(d.runId, 'descriptor'), JSON.stringify(d), 'PX', KEY_TTL_MS);
      // Forget runs and workers that stopped without saying so (their heartbeats are a day old).
      await this.redis.zremrangebyscore(RUNS_KEY, '-inf', Date.now() - KEY_TTL_MS);
      await this.redis.zremrangebyscore(WORKERS_KEY, '-inf', Date.now() - KEY_TTL_MS);
      await this.redis.zadd(RUNS_KEY, Date.now(), d.runId);
    });
    this.timer = setInterval(() => void this.watch(), 1000);
    this.timer.unref();
    await this.watch();
  }

  /** A job finished: the first outcome counts, a duplicate (a redelivered job finishing twice) is ignored. */
  private settle(id: string, outcome: Outcome): void {
    if (!this.enqueued.has(id) || this.outcomes.has(id)) return;
    this.outcomes.set(id, outcome);
    const w = this.waiters.get(id);
    if (w) {
      this.waiters.delete(id);
      w.resolve(outcome);
    }
  }

  /** Once a second: heartbeat, Redis liveness, workers connected, progress. */
  private async watch(): Promise<void> {
    if (this.fatal || !this.descriptor) return;
    const now = wallNow();
    try {
      const [, live, refused] = await Promise.race([
        Promise.all([
          this.redis.zadd(RUNS_KEY, Date.now(), this.runId),
          this.redis.zrangebyscore(WORKERS_KEY, Date.now() - HEARTBEAT_TTL_MS, '+inf'),
          this.redis.hgetall(runKey(this.runId, 'refused')),
        ]),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 2 s')), 2000).unref()),
      ]);
      this.lastAnswer = wallNow();
      const infos = live.length ? await this.redis.hmget(WORKER_INFO_KEY, ...live) : [];
      this.workers = infos.flatMap((s, i) => {
        if (s === null || s.length > MAX_META_BYTES || live[i] in refused) return [];
        try {
          const w = JSON.parse(s) as WorkerInfo;
          return Number.isInteger(w.threads) && w.threads > 0 ? [w] : [];
        } catch {
          return [];
        }
      });
      const waiting = this.enqueued.size - this.outcomes.size;
      if (this.workers.length > 0 || waiting === 0) this.lastWorkerSeen = now;
      const limit = this.options.noWorkerTimeoutMs ?? 60_000;
      if (now - this.lastWorkerSeen > limit) {
        const why = Object.entries(refused).map(([w, r]) => `; worker '${w}' refused this run: ${r}`).join('');
        this.fail(new ClusterError(`cluster: no fedmm worker able to take this run has been connected to ${this.target.shown} for ${Math.round(limit / 1000)} s while ${waiting} client jobs wait${why}; start one with: fedmm worker --cluster ${this.target.shown}`));
        return;
      }
      if (this.options.onStatus && now - this.lastStatus >= (this.options.statusEveryMs ?? 2000) && this.round >= 0) {
        this.lastStatus = now;
        const counts = await this.queue!.getJobCounts('wait', 'prioritized', 'active');
        this.options.onStatus({
          round: this.round, queued: counts.wait + counts.prioritized, running: counts.active, done: this.outcomes.size, total: this.enqueued.size, workers: this.workers,
        });
      }
    } catch (e) {
      const limit = this.options.unreachableMs ?? 10_000;
      if (wallNow() - this.lastAnswer > limit) {
        this.fail(new ClusterError(`${describeRedisError(this.target, e)}; no answer for ${Math.round(limit / 1000)} s`));
      }
    }
  }

  publish(global: Float32Array, vectors: Vectors): void {
    const { spec, broadcast } = this.run!;
    broadcast.set(global);
    spec.broadcastNames.forEach((name, i) => broadcast.set(vectors[name], spec.numParams * (i + 1)));
  }

  evaluate(weights: Float32Array, split: 'dev' | 'test'): Promise<Metrics> {
    return this.run!.evaluator.evaluate(weights, split);
  }

  async beginRound(round: number, firstTries: Iterable<ClientWork>): Promise<number> {
    const t0 = wallNow();
    if (!this.descriptor) await this.start();
    const { broadcast } = this.run!;
    const roundTry = this.tries.get(round) ?? 0;
    this.tries.set(round, roundTry + 1);
    this.round = round;
    this.roundTry = roundTry;
    this.enqueued.clear();
    this.outcomes.clear();
    this.active.clear();
    this.startFlags.clear();
    this.roundKeys = [];
    this.retryJobs = [];
    this.calls.clear();
    const bKey = broadcastKey(this.runId, round, roundTry);
    this.roundKeys.push(bKey);
    const children: FlowChild[] = [];
    await this.redisOp(() => this.bulk.set(bKey, new Uint8Array(broadcast.buffer, broadcast.byteOffset, broadcast.byteLength), KEY_TTL_MS));
    for (const work of firstTries) children.push(await this.childJob(work, 0));
    const at = wallNow();
    for (const c of children) this.enqueued.set(c.opts.jobId, at);
    await this.redisOp(() => this.flow!.add({
      name: `round ${round}`, queueName: roundQueue(this.runId), data: { round, roundTry }, opts: { jobId: `${round}.${roundTry}` }, children,
    }));
    // The run's first status goes out as soon as its first jobs are queued (which workers took the run), then
    // every statusEveryMs from the once-a-second watch.
    if (this.options.onStatus && this.lastStatus === 0) await this.watch();
    return wallNow() - t0;
  }

  /** The BullMQ child job of one client's attempt (its state, if any, written first). */
  private async childJob(job: ClientWork, attempt: number): Promise<FlowChild> {
    const id = jobId(job.round, this.roundTry, job.clientId, attempt);
    let state: string | null = null;
    if (job.state) {
      state = stateKey(this.runId, id);
      const bytes = serializeVectors(job.state);
      await this.redisOp(() => this.bulk.set(state!, bytes, KEY_TTL_MS));
      this.roundKeys.push(state);
    }
    this.roundKeys.push(updateKey(this.runId, id));
    if (this.keptNames.length) this.roundKeys.push(keptStateKey(this.runId, id));
    const data: ClientJobData = {
      version: this.version, digest: this.descriptor!.digest, round: job.round, roundTry: this.roundTry, client: job.clientId, attempt, state, fault: job.fault, attack: job.attack ?? null,
    };
    return { name: `client ${job.clientId}`, queueName: clientQueue(this.runId), data, opts: { jobId: id, attempts: 1 } };
  }

  /**
   * Waits for the client's job (a retry publishes a new one). The run loop's client timeout counts from when
   * a worker takes the job; when `signal` aborts (the timeout, an interrupted run) the wait ends at once and
   * whatever the worker still sends for the job is ignored.
   */
  async train(job: ClientWork, signal?: AbortSignal): Promise<TrainedClient> {
    if (this.fatal) throw this.fatal;
    const attempt = this.calls.get(job.clientId) ?? 0;
    this.calls.set(job.clientId, attempt + 1);
    const id = jobId(job.round, this.roundTry, job.clientId, attempt);
    if (attempt > 0) {
      const child = await this.childJob(job, attempt);
      this.enqueued.set(id, wallNow());
      this.retryJobs.push(id);
      await this.redisOp(() => this.queue!.add(child.name, child.data, child.opts));
    }
    if (job.started) {
      if (this.active.has(id)) Atomics.store(job.started, 0, 1);
      else this.startFlags.set(id, job.started);
    }
    const outcome = this.outcomes.get(id) ?? await new Promise<Outcome>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.waiters.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(id, {
        resolve: (o) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
      });
    });
    if (this.fatal) throw this.fatal;
    if ('error' in outcome) throw new Error(outcome.error);
    const { report } = outcome;
    const r0 = wallNow();
    const update = await this.readUpdate(updateKey(this.runId, id), report.bytes);
    const clientState = await this.readKeptState(keptStateKey(this.runId, id), report.keptBytes);
    const received = wallNow();
    let lane = this.lanesByWorker.get(report.worker);
    if (lane === undefined) this.lanesByWorker.set(report.worker, (lane = 1000 + this.lanesByWorker.size));
    // The worker's instants are on its own clock: shift them so that its `end` is when the update arrived
    // here (the time to fetch it is counted under redis, not transfer).
    const shift = received - report.end;
    return {
      update, clientState, thread: lane, start: report.start + shift, trainEnd: report.trainEnd + shift, end: received,
      queueMs: Math.max(0, report.picked - this.enqueued.get(id)!), redisMs: report.redisMs + (received - r0),
    };
  }

  /**
   * The update bytes, reading at most maxUpdateBytes + 1 whatever the worker claims or wrote, straight into
   * the ArrayBuffer the run loop decodes.
   */
  private async readUpdate(key: string, claimed: number): Promise<ArrayBuffer> {
    if (claimed > this.maxUpdateBytes) throw new Error(`update of ${claimed} bytes exceeds the bound of ${this.maxUpdateBytes}`);
    const buf = await this.redisOp(() => this.bulk.getRange(key, this.maxUpdateBytes + 1, (n) => new Uint8Array(new ArrayBuffer(n))));
    if (buf.length === 0) throw new Error('the worker reported an update that is not in Redis');
    if (buf.length > this.maxUpdateBytes) throw new Error(`update of more than ${this.maxUpdateBytes} bytes`);
    return buf.buffer as ArrayBuffer;
  }

  /**
   * The client's new private state (error-feedback residuals) when the run keeps one, read with the bound of
   * its expected vectors; the worker must have written exactly those vectors, each numParams finite values.
   */
  private async readKeptState(key: string, claimed: number): Promise<Vectors | null> {
    if (this.keptNames.length === 0) {
      if (claimed !== 0) throw new Error(`the worker reported ${claimed} bytes of client state for a run that keeps none`);
      return null;
    }
    if (claimed !== this.keptBytes) throw new Error(`client state of ${claimed} bytes, expected ${this.keptBytes}`);
    const buf = await this.redisOp(() => this.bulk.getRange(key, this.keptBytes + 1, (n) => new Uint8Array(new ArrayBuffer(n))));
    if (buf.length !== this.keptBytes) throw new Error(`client state in Redis has ${buf.length} bytes, expected ${this.keptBytes}`);
    const state = deserializeVectors(buf, 'from the worker');
    const names = Object.keys(state).sort();
    if (names.join() !== this.keptNames.join()) throw new Error(`client state holds ${names.join(', ')}, expected ${this.keptNames.join(', ')}`);
    for (const n of names) {
      const v = state[n];
      if (v.length !== this.run!.spec.numParams) throw new Error(`client state '${n}' has ${v.length} values, expected ${this.run!.spec.numParams}`);
      const bad = findNonFinite(v);
      if (bad >= 0) throw new Error(`client state '${n}' has a non-finite value at ${bad}`);
    }
    return state;
  }

  async endRound(): Promise<number> {
    const t0 = wallNow();
    const keys = this.roundKeys;
    this.roundKeys = [];
    await this.redisOp(async () => {
      if (keys.length) await this.redis.unlink(...keys);
      await this.rounds!.remove(`${this.round}.${this.roundTry}`, { removeChildren: true });
      for (const id of this.retryJobs) await this.queue!.remove(id);
    });
    return wallNow() - t0;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.run?.evaluator.close();
    // Remove the run from the cluster; after a lost Redis this gives up within a few seconds (the run's
    // keys expire on their own, and workers leave a run whose heartbeat stopped).
    const cleanUp = async () => {
      if (!this.descriptor) return;
      const id = this.runId;
      await this.redis.zrem(RUNS_KEY, id);
      await this.redis.unlink(...this.roundKeys, runKey(id, 'descriptor'), runKey(id, 'refused'));
      await this.queue!.obliterate({ force: true });
      await this.rounds!.obliterate({ force: true });
    };
    const within = (ms: number, p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]).catch(() => undefined);
    await within(5000, cleanUp());
    await within(2000, Promise.all([this.events?.close(), this.flow?.close(), this.queue?.close(), this.rounds?.close()]));
    this.bulk.close();
    this.redis.disconnect();
  }
}
