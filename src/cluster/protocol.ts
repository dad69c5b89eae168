// What the coordinator and the workers share in Redis: the key and queue layout (the one place that names
// them), the run descriptor, the job data and the result a worker reports, with their validation.
//
// Layout (prefix `fedmm`, every run's keys under its run id):
//   fedmm:runs                         sorted set  run id → last coordinator heartbeat (ms)
//   fedmm:workers                      sorted set  worker name → last heartbeat (ms)
//   fedmm:workers:info                 hash        worker name → WorkerInfo JSON
//   fedmm:run:<id>:descriptor          string      RunDescriptor JSON
//   fedmm:run:<id>:refused             hash        worker name → why it refuses the run
//   fedmm:run:<id>:broadcast:<r>.<t>   string      float32 LE [global | broadcast vector 0 | …] of round r, try t
//   fedmm:run:<id>:state:<r>.<t>.<c>.<a>   string  client c's persistent state (client-state.ts layout)
//   fedmm:run:<id>:update:<r>.<t>.<c>.<a>  string  the client's msgpack update (wire.ts), written once (NX)
//   fedmm:run:<id>:kept:<r>.<t>.<c>.<a>    string  the client's new private state (top-k's error-feedback
//                                                  residuals, client-state.ts layout), written once (NX)
//   BullMQ queues (prefix fedmm): run-<id> (one job per client), run-<id>-rounds (the flow's parent per round)
//
// A run id is `<lineage>-<session>`: the lineage names the run across coordinator restarts (a hash of the
// host and the run's output directory; random for a run without one), the session one coordinator process.
// A coordinator that starts or resumes a lineage removes what earlier sessions of it left behind.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ClientAttack, InjectedFault, RunSpec } from '../runtime/client-job.js';
import type { Compression } from '../runtime/compression.js';
import { WIRE_VERSION } from '../runtime/wire.js';

export const PREFIX = 'fedmm';
export const RUNS_KEY = `${PREFIX}:runs`;
export const WORKERS_KEY = `${PREFIX}:workers`;
export const WORKER_INFO_KEY = `${PREFIX}:workers:info`;
/** A worker or coordinator whose heartbeat is older than this is gone. */
export const HEARTBEAT_TTL_MS = 10_000;
export const HEARTBEAT_EVERY_MS = 2_000;
/** Keys a run writes expire after this long even if its coordinator dies before cleaning up. */
export const KEY_TTL_MS = 24 * 3600_000;
/** Largest descriptor, worker info or job result a reader accepts. */
export const MAX_META_BYTES = 1 << 20;

/** The lineage of a run writing to `outDir` on this host (null: a run without an output directory, never resumed). */
export function runLineage(outDir: string | null): string {
  const source = outDir === null ? randomBytes(16).toString('hex') : `${hostname()}:${resolve(outDir)}`;
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}
export const newRunId = (lineage: string): string => `${lineage}-${randomBytes(4).toString('hex')}`;
/** SCAN patterns of every key of every session of a lineage: the run's keys and its BullMQ queues'. */
export const lineagePatterns = (lineage: string): string[] => [`${PREFIX}:run:${lineage}-*`, `${PREFIX}:run-${lineage}-*`];
export const runKey = (runId: string, what: string): string => `${PREFIX}:run:${runId}:${what}`;
export const clientQueue = (runId: string): string => `run-${runId}`;
export const roundQueue = (runId: string): string => `run-${runId}-rounds`;
export const broadcastKey = (runId: string, round: number, roundTry: number): string => runKey(runId, `broadcast:${round}.${roundTry}`);
/** Job id of one client's try: round, round try (a short round is repeated), client, attempt (a retry after a failure). */
export const jobId = (round: number, roundTry: number, client: number, attempt: number): string => `${round}.${roundTry}.${client}.${attempt}`;
export const stateKey = (runId: string, id: string): string => runKey(runId, `state:${id}`);
export const updateKey = (runId: string, id: string): string => runKey(runId, `update:${id}`);
export const keptStateKey = (runId: string, id: string): string => runKey(runId, `kept:${id}`);

/** Everything a worker needs to train any client of a run (written once by the coordinator). */
export interface RunDescriptor extends RunSpec {
  readonly runId: string;
  /** fedmm version of the coordinator. */
  readonly version: string;
  readonly wireVersion: number;
  readonly numClients: number;
  /** How clients compress their updates (top-k's residuals come back under the job's kept key). */
  readonly compression: Compression;
  /** digestOf(the fields above but runId). */
  readonly digest: string;
}

/** The fields that decide what a worker computes: a worker refuses a job whose digest differs from its own. */
export function digestOf(d: Omit<RunDescriptor, 'digest' | 'runId'>): string {
  const fields = {
    version: d.version, wireVersion: d.wireVersion, task: d.task, algorithm: d.algorithm, algorithmParams: d.algorithmParams,
    local: d.local, seed: d.seed, plugins: d.plugins, broadcastNames: d.broadcastNames, numParams: d.numParams, numClients: d.numClients,
    compression: d.compression,
  };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}

export function describeRun(fields: Omit<RunDescriptor, 'digest' | 'wireVersion'>): RunDescriptor {
  const withWire = { ...fields, wireVersion: WIRE_VERSION };
  return { ...withWire, digest: digestOf(withWire) };
}

/** BullMQ job data of one client's training (JSON). */
export interface ClientJobData {
  readonly version: string;
  readonly digest: string;
  readonly round: number;
  readonly roundTry: number;
  readonly client: number;
  readonly attempt: number;
  /** Key of the client's state, or null when it has none. */
  readonly state: string | null;
  readonly fault: InjectedFault | null;
  /** Set when this client simulates an attacker (RunConfig.attack). */
  readonly attack: ClientAttack | null;
}

/** What a worker reports for a finished job (its BullMQ return value). Instants are the worker's wall clock (ms). */
export interface ClientJobReport {
  readonly worker: string;
  /** Bytes written under the update key. */
  readonly bytes: number;
  /** Bytes written under the kept-state key (0: the client keeps no private state). */
  readonly keptBytes: number;
  readonly picked: number;
  readonly start: number;
  readonly trainEnd: number;
  readonly end: number;
  /** Worker time spent reading the broadcast and state and writing the update. */
  readonly redisMs: number;
}

/** Checks a worker's report (never trusted): throws a one-line Error. */
export function parseReport(raw: unknown): ClientJobReport {
  let x: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length > MAX_META_BYTES) throw new Error(`job report of ${raw.length} bytes`);
    try {
      x = JSON.parse(raw);
    } catch {
      throw new Error('job report is not JSON');
    }
  }
  if (typeof x !== 'object' || x === null) throw new Error('job report is not an object');
  const r = x as Record<string, unknown>;
  if (typeof r.worker !== 'string' || r.worker.length > 200) throw new Error('job report lacks the worker name');
  for (const k of ['bytes', 'keptBytes', 'picked', 'start', 'trainEnd', 'end', 'redisMs']) {
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k]) || (r[k] as number) < 0) throw new Error(`job report field '${k}' is ${String(r[k])}`);
  }
  return r as unknown as ClientJobReport;
}

/** A worker's heartbeat record. */
export interface WorkerInfo {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly threads: number;
  /** Updates written since the worker started, and over the last minute per second. */
  readonly updates: number;
  readonly updatesPerSecond: number;
}
