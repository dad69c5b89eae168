// The worker's side of the cluster (`fedmm worker --cluster`): finds the runs published in Redis, checks
// that it can compute each one exactly as its coordinator expects (same fedmm version, same descriptor
// digest, a task with the same parameters and clients from its own data), then pulls the run's client jobs
// with a BullMQ Worker and trains them in its own Piscina pool. Each update is written once (SET NX) under
// its job's key — round, round try, client, attempt — so a redelivered job cannot replace a result.
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Piscina } from 'piscina';
import { createTask, type TaskSpec } from '../fl/task.js';
import type { RunSetup } from '../runtime/client-job.js';
import { wallNow } from '../runtime/client-job.js';
import { deserializeVectors } from '../runtime/client-state.js';
import { loadBuiltins, loadPlugins } from '../runtime/plugins.js';
import { WIRE_VERSION } from '../runtime/wire.js';
import { BulkChannel } from './bulk.js';
import { trainThreadFile, type TrainThreadData, type TrainThreadJob, type TrainThreadResult } from './train-thread.js';
import { bullConnection, connect, describeRedisError, type ClusterTarget } from './connection.js';
import {
  broadcastKey, clientQueue, digestOf, HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS, keptStateKey, KEY_TTL_MS, MAX_META_BYTES, PREFIX, RUNS_KEY, runKey,
  updateKey, WORKER_INFO_KEY, WORKERS_KEY, type ClientJobData, type ClientJobReport, type RunDescriptor, type WorkerInfo,
} from './protocol.js';

export interface ClusterWorkerOptions {
  readonly target: ClusterTarget;
  /** Shown in the coordinator's progress; default host-pid. */
  readonly name?: string;
  /** Piscina threads, and BullMQ jobs taken at once. */
  readonly threads: number;
  /** This build's fedmm version: runs published by another version are refused. */
  readonly version: string;
  /** Real data on this machine (replaces the path of a run's real-data source). */
  readonly dataDir?: string | null;
  readonly log?: (line: string) => void;
  /** Stops the worker (its jobs in progress finish first). */
  readonly signal?: AbortSignal;
  /** A job whose worker stops renewing its lock for this long is redelivered (BullMQ lockDuration; default 30 s). */
  readonly lockMs?: number;
  /**
   * For the fault tests ($FEDMM_TEST_HOLD_FIRST_JOB_MS): the first job taken is held this long before training,
   * after a line saying so, which lets a test kill or pause the worker exactly while it owns a job.
   */
  readonly holdFirstJobMs?: number;
}

interface JoinedRun {
  readonly descriptor: RunDescriptor;
  readonly task: TaskSpec;
  readonly worker: Worker<ClientJobData, ClientJobReport>;
  /** Broadcast buffers by key (the latest two round tries). */
  readonly broadcasts: Map<string, Promise<SharedArrayBuffer>>;
}

/** The run's task spec as this machine reads it: a real-data source points at dataDir when one is given. */
function localTask(task: TaskSpec, dataDir: string | null): TaskSpec {
  const source = (task as { source?: { kind?: string; path?: string } }).source;
  return dataDir && typeof source?.path === 'string' ? { ...task, source: { ...source, path: dataDir } } as TaskSpec : task;
}

/** Why this worker cannot compute a run exactly as its coordinator does, or null when it can. */
async function refusal(d: RunDescriptor, version: string, task: TaskSpec): Promise<string | null> {
  if (d.version !== version) return `it was started by fedmm ${d.version}, this worker runs fedmm ${version}`;
  if (d.wireVersion !== WIRE_VERSION) return `it uses update format ${d.wireVersion}, this worker writes ${WIRE_VERSION}`;
  const { runId: _id, digest, ...fields } = d;
  if (digestOf(fields) !== digest) return `its descriptor does not match its config digest ${digest}`;
  try {
    await loadBuiltins();
    await loadPlugins(d.plugins);
    const t = await createTask(task);
    if (t.numParams !== d.numParams || t.numClients !== d.numClients) {
      return `its task here has ${t.numParams} parameters and ${t.numClients} clients, the coordinator's ${d.numParams} and ${d.numClients} (different data? see --data-dir)`;
    }
  } catch (e) {
    return `cannot build its task here: ${(e as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** Runs until the signal aborts; throws a ClusterError when Redis cannot be reached or refuses the credentials. */
export async function runClusterWorker(o: ClusterWorkerOptions): Promise<void> {
  const log = o.log ?? ((line: string) => console.warn(line));
  const name = o.name ?? `${hostname()}-${process.pid}`;
  const redis: Redis = await connect(o.target, `fedmm-worker-${name}`);
  let outage = false;
  redis.on('error', (e) => {
    if (!outage) log(`fedmm worker: ${describeRedisError(o.target, e)}; reconnecting`);
    outage = true;
  });
  redis.on('ready', () => {
    if (outage) log(`fedmm worker: connected to ${o.target.shown} again`);
    outage = false;
  });
  const bulk = new BulkChannel(o.target, `fedmm-worker-${name}-bulk`);
  const threadData: TrainThreadData = { target: o.target, name: `fedmm-worker-${name}-thread` };
  const pool = new Piscina<TrainThreadJob, TrainThreadResult>({
    filename: trainThreadFile(), minThreads: o.threads, maxThreads: o.threads, idleTimeout: 60_000, workerData: threadData,
  });
  const runs = new Map<string, JoinedRun>();
  const refused = new Set<string>();
  const joining = new Set<string>();
  const doneAt: number[] = [];
  let updates = 0;
  let holding = (o.holdFirstJobMs ?? 0) > 0;

  const readBroadcast = async (run: JoinedRun, data: ClientJobData): Promise<SharedArrayBuffer> => {
    const d = run.descriptor;
    const key = broadcastKey(d.runId, data.round, data.roundTry);
    let p = run.broadcasts.get(key);
    if (!p) {
      const bytes = 4 * d.numParams * (1 + d.broadcastNames.length);
      p = bulk.getRange(key, bytes + 1, (n) => {
        if (n !== bytes) throw new Error(`broadcast ${key} has ${n} bytes, expected ${bytes}`);
        return new Uint8Array(new SharedArrayBuffer(bytes));
      }).then((buf) => buf.buffer as SharedArrayBuffer);
      p.catch(() => run.broadcasts.delete(key));
      run.broadcasts.set(key, p);
      for (const k of [...run.broadcasts.keys()].slice(0, -2)) run.broadcasts.delete(k);
    }
    return p;
  };

  const trainJob = async (run: JoinedRun, job: Job<ClientJobData, ClientJobReport>): Promise<ClientJobReport> => {
    const picked = wallNow();
    const data = job.data;
    const d = run.descriptor;
    if (data.version !== o.version) throw new UnrecoverableError(`worker '${name}' refuses job ${job.id}: it comes from fedmm ${data.version}, this worker runs fedmm ${o.version}`);
    if (data.digest !== d.digest) throw new UnrecoverableError(`worker '${name}' refuses job ${job.id}: config digest ${data.digest}, the run's is ${d.digest}`);
    if (holding) {
      holding = false;
      log(`fedmm worker: holding job ${job.id} for ${o.holdFirstJobMs} ms ($FEDMM_TEST_HOLD_FIRST_JOB_MS)`);
      await new Promise((r) => setTimeout(r, o.holdFirstJobMs));
    }
    const r0 = wallNow();
    const broadcast = await readBroadcast(run, data);
    let state = null;
    if (data.state !== null) {
      const buf = await redis.getBuffer(data.state);
      if (buf === null) throw new Error(`client state ${data.state} is missing`);
      state = deserializeVectors(buf, `client ${data.client}'s state`);
    }
    const redisMs = wallNow() - r0;
    const setup: RunSetup = {
      runId: d.runId, task: run.task, algorithm: d.algorithm, algorithmParams: d.algorithmParams, local: d.local, seed: d.seed, plugins: d.plugins,
      broadcast, broadcastNames: d.broadcastNames, numParams: d.numParams, compression: d.compression,
    };
    const work = { setup, round: data.round, clientId: data.client, state, fault: data.fault, attack: data.attack };
    const result = await pool.run({ job: work, key: updateKey(d.runId, `${job.id}`), keptKey: keptStateKey(d.runId, `${job.id}`), ttlMs: KEY_TTL_MS });
    updates++;
    doneAt.push(Date.now());
    return { worker: name, bytes: result.bytes, keptBytes: result.keptBytes, picked, start: result.start, trainEnd: result.trainEnd, end: result.end, redisMs: redisMs + result.redisMs };
  };

  const join = async (runId: string): Promise<void> => {
    const raw = await redis.getrange(runKey(runId, 'descriptor'), 0, MAX_META_BYTES);
    if (raw === '' || raw.length > MAX_META_BYTES) return;
    let d: RunDescriptor;
    try {
      d = JSON.parse(raw) as RunDescriptor;
    } catch {
      refused.add(runId);
      return;
    }
    const task = localTask(d.task, o.dataDir ?? null);
    const why = d.runId === runId ? await refusal(d, o.version, task) : 'its descriptor names another run';
    if (why !== null) {
      refused.add(runId);
      log(`fedmm worker: refusing run ${runId}: ${why}`);
      await redis.hset(runKey(runId, 'refused'), name, why);
      await redis.pexpire(runKey(runId, 'refused'), KEY_TTL_MS);
      return;
    }
    const run: JoinedRun = {
      descriptor: d, task, broadcasts: new Map(),
      worker: new Worker<ClientJobData, ClientJobReport>(clientQueue(runId), (job) => trainJob(run, job), {
        connection: bullConnection(o.target), prefix: PREFIX, concurrency: o.threads,
        lockDuration: o.lockMs ?? 30_000, stalledInterval: Math.max(1000, (o.lockMs ?? 30_000) / 2), maxStalledCount: 5,
      }),
    };
    run.worker.on('error', () => undefined);
    runs.set(runId, run);
    log(`fedmm worker: joined run ${runId} (${d.algorithm}, ${d.numClients} clients, ${d.numParams} parameters)`);
  };

  const leave = async (runId: string): Promise<void> => {
    const run = runs.get(runId)!;
    runs.delete(runId);
    await run.worker.close();
    // A finished run's coordinator has obliterated the queue; what this worker's BullMQ calls recreated since goes too.
    if (!(await redis.exists(runKey(runId, 'descriptor')))) await redis.unlink(`${PREFIX}:${clientQueue(runId)}:meta`);
  };

  const tick = async (): Promise<void> => {
    const now = Date.now();
    while (doneAt.length && doneAt[0] < now - 60_000) doneAt.shift();
    const window = Math.min(60, Math.max(1, (now - started) / 1000));
    const info: WorkerInfo = { name, host: hostname(), pid: process.pid, version: o.version, threads: o.threads, updates, updatesPerSecond: doneAt.length / window };
    await redis.zadd(WORKERS_KEY, now, name);
    await redis.hset(WORKER_INFO_KEY, name, JSON.stringify(info));
    const live = new Set(await redis.zrangebyscore(RUNS_KEY, now - HEARTBEAT_TTL_MS, '+inf'));
    for (const id of live) {
      if (runs.has(id) || refused.has(id) || joining.has(id)) continue;
      joining.add(id);
      await join(id).finally(() => joining.delete(id));
    }
    for (const id of [...runs.keys()]) if (!live.has(id)) await leave(id);
  };

  const started = Date.now();
  log(`fedmm worker '${name}': ${o.threads} threads, connected to ${o.target.shown}`);
  await new Promise<void>((resolve) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      tick().catch(() => undefined).finally(() => (busy = false));
    }, Math.min(1000, HEARTBEAT_EVERY_MS));
    void tick().catch(() => undefined);
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    if (o.signal?.aborted) stop();
    o.signal?.addEventListener('abort', stop, { once: true });
  });
  // Jobs in progress finish (up to the lock time); with Redis gone, the worker gives up on saying goodbye.
  const within = (ms: number, p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]).catch(() => undefined);
  await within(o.lockMs ?? 30_000, Promise.all([...runs.keys()].map(leave)));
  await pool.destroy();
  bulk.close();
  await within(1000, Promise.all([redis.zrem(WORKERS_KEY, name), redis.hdel(WORKER_INFO_KEY, name)]));
  redis.disconnect();
}
