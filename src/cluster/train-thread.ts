// The cluster worker's Piscina thread (loaded from dist/src/cluster/train-thread.js): trains one client job
// exactly as a local worker thread does (runtime/client-job.ts), then writes the update — and the client's new
// private state, if it keeps one (top-k's residuals) — to Redis from this thread, once (SET NX) under the job's keys. The update's bytes never cross to the worker's main thread,
// whose heap then holds no 1.7 MB buffers to collect (BullMQ's bookkeeping lives there).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';
import { runClientJob, wallNow, type ClientJob } from '../runtime/client-job.js';
import { serializeVectors } from '../runtime/client-state.js';
import { BulkChannel } from './bulk.js';
import type { ClusterTarget } from './connection.js';

/** The pool's workerData: where the thread writes. */
export interface TrainThreadData {
  readonly target: ClusterTarget;
  readonly name: string;
}

export interface TrainThreadJob {
  readonly job: ClientJob;
  /** The update's key, the kept state's key, and how long they live. */
  readonly key: string;
  readonly keptKey: string;
  readonly ttlMs: number;
}

/** Wall-clock instants (ms since the Unix epoch), the update's and the kept state's sizes; `redisMs`: the writes. */
export interface TrainThreadResult {
  readonly bytes: number;
  readonly keptBytes: number;
  readonly start: number;
  readonly trainEnd: number;
  readonly end: number;
  readonly redisMs: number;
}

/** dist/src/cluster/train-thread.js, whether this module runs compiled or from the TypeScript sources. */
export function trainThreadFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js') ? join(dirname(here), 'train-thread.js') : resolve(dirname(here), '../../dist/src/cluster/train-thread.js');
  if (!existsSync(file)) throw new Error(`cluster: worker script ${file} is missing; build first (npx tsc -p tsconfig.json)`);
  return file;
}

let bulk: BulkChannel | null = null;

export default async function trainThread({ job, key, keptKey, ttlMs }: TrainThreadJob): Promise<TrainThreadResult> {
  const result = await runClientJob(job);
  const { target, name } = workerData as TrainThreadData;
  bulk ??= new BulkChannel(target, name);
  const w0 = wallNow();
  const kept = result.clientState ? serializeVectors(result.clientState) : null;
  if (kept) await bulk.set(keptKey, kept, ttlMs, true);
  await bulk.set(key, new Uint8Array(result.update), ttlMs, true);
  return {
    bytes: result.update.byteLength, keptBytes: kept?.byteLength ?? 0, start: result.start, trainEnd: result.trainEnd, end: result.end, redisMs: wallNow() - w0,
  };
}
