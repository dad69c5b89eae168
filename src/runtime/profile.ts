// Profiling: per-round phase timings (into the metrics.jsonl record) and an optional Chrome trace-event
// file (JSON array format; Perfetto and chrome://tracing open it) with one track per worker thread and one
// for the main thread.
import { appendFileSync, writeFileSync } from 'node:fs';

/** Milliseconds per phase of one round. Worker phases are summed over the round's clients. */
export interface PhaseTimings {
  /** Main thread: writing the global weights (and broadcast vectors) into the shared buffer. */
  broadcast: number;
  /** Workers: local training, summed over clients. */
  localTrain: number;
  /** Workers: msgpack encoding, summed over clients. */
  encode: number;
  /** Worker finished → main thread received, summed over clients. */
  transfer: number;
  /** Cluster: client jobs waiting in the queue before a worker picked them up, summed over clients. */
  queue: number;
  /** Cluster: Redis round trips (broadcast, enqueue, state and update reads and writes, clean-up), both sides. */
  redis: number;
  /** Main thread: decoding and validating updates. */
  decode: number;
  /** Main thread: folding updates into the round's sums (and staging client state). */
  aggregate: number;
  /** Main thread: the strategy's server step. */
  serverStep: number;
  /** Main thread: dev and test evaluation (0 in rounds without). */
  evaluate: number;
  /** Main thread: writing the checkpoint (0 in rounds without). */
  checkpoint: number;
  /** Wall clock of the whole round. */
  round: number;
}

export function emptyTimings(): PhaseTimings {
  return { broadcast: 0, localTrain: 0, encode: 0, transfer: 0, queue: 0, redis: 0, decode: 0, aggregate: 0, serverStep: 0, evaluate: 0, checkpoint: 0, round: 0 };
}

interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

/** Streams trace events into a JSON array file; close() ends the array. */
export class TraceWriter {
  private first = true;
  private readonly named = new Set<number>();
  private buffer: string[] = [];

  constructor(readonly path: string) {
    writeFileSync(path, '[\n');
    this.thread(0, 'main');
  }

  private push(e: TraceEvent): void {
    this.buffer.push((this.first ? '' : ',\n') + JSON.stringify(e));
    this.first = false;
  }

  private thread(tid: number, name: string): void {
    if (this.named.has(tid)) return;
    this.named.add(tid);
    this.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid, args: { name } });
  }

  /** A complete event: start and end are ms since the Unix epoch. */
  span(tid: number, name: string, cat: string, start: number, end: number, args?: Record<string, unknown>): void {
    this.thread(tid, tid === 0 ? 'main' : `worker ${tid}`);
    this.push({ name, cat, ph: 'X', ts: Math.round(start * 1000), dur: Math.max(0, Math.round((end - start) * 1000)), pid: 1, tid, args });
  }

  flush(): void {
    if (this.buffer.length) appendFileSync(this.path, this.buffer.join(''));
    this.buffer = [];
  }

  close(): void {
    this.flush();
    appendFileSync(this.path, '\n]\n');
  }
}
