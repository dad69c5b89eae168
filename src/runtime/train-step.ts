// A round's train step: dispatch the selected clients to the executor (at most `window` ahead of the oldest
// unfolded one), retry a failed job once, decode and validate each returning update, and hand the accepted
// ones to `fold` in the round's client order (ascending id) through a reorder buffer — so what is folded does
// not depend on arrival order or on the number of workers. Decoding checks the message and the header only;
// the values are checked by the round's aggregator as it folds them (one pass over each update). A client whose
// job fails or whose message is malformed is dropped with a one-line reason; it never reaches the fold. An
// executor that publishes a whole round at once (beginRound: the cluster) gets every client's first try before
// the dispatch starts; a failure of the executor itself (ExecutorUnavailable) stops the run instead of dropping
// clients. A job that runs past the client timeout is stopped (its worker replaced) and the client dropped; when
// the run's signal aborts, every job in flight is stopped and the step rejects with RunInterrupted at once. Every
// payload received counts into the round's uplink bytes, accepted or not.
import type { Vectors } from '../fl/strategy.js';
import { wallNow, type ClientAttack, type ClientWork, type InjectedFault } from './client-job.js';
import { ExecutorUnavailable, type ClientExecutor, type TrainedClient } from './executor.js';
import type { ClientStateStore } from './client-state.js';
import { ReorderBuffer } from './fold.js';
import type { PhaseTimings, TraceWriter } from './profile.js';
import { decodeUpdate, WireError, type DecodedUpdate } from './wire.js';

export interface DroppedClient {
  client: number;
  reason: string;
}

export interface TrainStepContext {
  readonly executor: ClientExecutor;
  readonly store: ClientStateStore;
  readonly numParams: number;
  /** Vectors every update must carry (the strategy's extraNames). */
  readonly extraNames: readonly string[];
  /** Jobs in flight ahead of the oldest unfolded client; 0 = 4 per lane. */
  readonly window: number;
  readonly retryFailed: boolean;
  /** A client job running longer than this is stopped and the client dropped; 0 = no limit. */
  readonly clientTimeoutMs: number;
  /** Aborts the step (Ctrl-C): jobs in flight are stopped and the step rejects with RunInterrupted. */
  readonly signal: AbortSignal | null;
  /** A client's training sample count: the largest `n` its update may claim. */
  clientSize(clientId: number): number;
  /** Refuses a decoded update the run cannot fold (throws WireError; e.g. an averaging weight out of range). */
  checkUpdate(update: DecodedUpdate): void;
  /** The fault to inject into this try of a client's job, if any. */
  faultFor(round: number, client: number): InjectedFault | null;
  /** The attack this client simulates (RunConfig.attack), if it is one of the attackers. */
  attackFor(client: number): ClientAttack | null;
  readonly trace: TraceWriter | null;
  log(line: string): void;
}

export interface TrainStepOutcome {
  retried: number;
  dropped: DroppedClient[];
  /** Jobs dispatched, retries included: each one downloaded the round's broadcast. */
  jobsSent: number;
  /** Bytes of every encoded update received. */
  bytesUp: number;
}

/** An accepted update and the client's new private state (compression residuals), if it keeps any. */
export interface ReceivedUpdate {
  readonly update: DecodedUpdate;
  readonly clientState: Vectors | null;
}

/** The run was interrupted (its signal aborted) in the middle of a round's train step. */
export class RunInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'RunInterrupted';
  }
}

/** One job's client timeout: its start flag (shared with the job) and when the flag was first seen set. */
interface Clock {
  readonly started: Int32Array;
  since: number;
  readonly onTimeout: () => void;
}

/**
 * Client timeouts that count only the time a job trains, not the time it waits in the executor's queue or
 * for a fresh worker to load the run: each job sets its shared start flag when it begins training, and a
 * timer (every ≤ 250 ms while jobs run) starts a job's clock when it sees the flag.
 */
class JobClocks {
  private readonly clocks = new Set<Clock>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly timeoutMs: number) {}

  /** A start flag for a job, and `onTimeout` called once it has trained longer than the timeout. */
  add(onTimeout: () => void): Clock {
    const clock: Clock = { started: new Int32Array(new SharedArrayBuffer(4)), since: 0, onTimeout };
    if (this.timeoutMs <= 0) return clock;
    this.clocks.add(clock);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), Math.min(250, Math.max(10, this.timeoutMs / 10)));
      this.timer.unref();
    }
    return clock;
  }

  remove(clock: Clock): void {
    this.clocks.delete(clock);
    if (this.clocks.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const c of this.clocks) {
      if (c.since === 0) {
        if (Atomics.load(c.started, 0) === 1) c.since = now;
      } else if (now - c.since > this.timeoutMs) {
        this.remove(c);
        c.onTimeout();
      }
    }
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** Trains clients `ids` (ascending) of `round`; `fold` sees each accepted update in id order. */
export async function trainClients(ctx: TrainStepContext, round: number, ids: Int32Array, timings: PhaseTimings,
  fold: (received: ReceivedUpdate) => void): Promise<TrainStepOutcome> {
  const { executor, trace } = ctx;
  const n = ids.length;
  // Each client's first try takes its injected fault once, whether the executor publishes the round up front or not.
  const firstFaults = Array.from(ids, (clientId) => ctx.faultFor(round, clientId));
  const work = (slot: number, attempt: number): ClientWork => {
    const clientId = ids[slot];
    return { round, clientId, state: ctx.store.get(clientId), fault: attempt === 0 ? firstFaults[slot] : ctx.faultFor(round, clientId), attack: ctx.attackFor(clientId) };
  };
  if (executor.beginRound) {
    timings.redis += await executor.beginRound(round, (function* firstTries() {
      for (let slot = 0; slot < n; slot++) yield work(slot, 0);
    })());
  }
  const window = ctx.window || 4 * executor.lanes;
  const dropped: DroppedClient[] = [];
  let retried = 0;
  let jobsSent = 0;
  let bytesUp = 0;
  const reorder = new ReorderBuffer<ReceivedUpdate>(n, (_slot, r) => r && fold(r));
  return new Promise<TrainStepOutcome>((resolvePromise, rejectPromise) => {
    let next = 0;
    let done = 0;
    let settled = false;
    const clocks = new JobClocks(ctx.clientTimeoutMs);
    const reject = (e: unknown) => {
      settled = true;
      rejectPromise(e);
    };
    if (ctx.signal?.aborted) {
      reject(new RunInterrupted());
      return;
    }
    const drop = (slot: number, reason: string) => {
      dropped.push({ client: ids[slot], reason });
      ctx.log(`round ${round}: dropped client ${ids[slot]}: ${reason}`);
      reorder.deliver(slot, null);
    };
    const received = (slot: number, res: TrainedClient): void => {
      const clientId = ids[slot];
      const at = wallNow();
      bytesUp += res.update.byteLength;
      timings.localTrain += res.trainEnd - res.start;
      timings.encode += res.end - res.trainEnd;
      timings.transfer += Math.max(0, at - res.end);
      timings.queue += res.queueMs ?? 0;
      timings.redis += res.redisMs ?? 0;
      trace?.span(res.thread, `client ${clientId}`, 'train', res.start, res.trainEnd, { round });
      trace?.span(res.thread, `encode ${clientId}`, 'encode', res.trainEnd, res.end);
      let update: DecodedUpdate;
      try {
        update = decodeUpdate(res.update, { round, clientId, numParams: ctx.numParams, extraNames: ctx.extraNames, maxSamples: ctx.clientSize(clientId), checkValues: false });
        ctx.checkUpdate(update);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        timings.decode += wallNow() - at;
        drop(slot, e.reason);
        return;
      }
      const end = wallNow();
      timings.decode += end - at;
      trace?.span(0, `decode ${clientId}`, 'decode', at, end, { bytes: res.update.byteLength });
      reorder.deliver(slot, { update, clientState: res.clientState });
    };
    const pump = (): void => {
      if (settled) return;
      if (done === n) {
        resolvePromise({ retried, dropped, jobsSent, bytesUp });
        return;
      }
      while (next < n && next < reorder.cursor + window) launch(next++, 0);
    };
    const launch = (slot: number, attempt: number): void => {
      const clientId = ids[slot];
      const job = new AbortController();
      let timedOut = false;
      const clock = clocks.add(() => {
        timedOut = true;
        job.abort();
      });
      const stop = () => job.abort();
      ctx.signal?.addEventListener('abort', stop, { once: true });
      const finished = () => {
        clocks.remove(clock);
        ctx.signal?.removeEventListener('abort', stop);
      };
      jobsSent++;
      executor.train({ ...work(slot, attempt), started: clock.started }, job.signal).then(
        (res) => {
          finished();
          if (settled) return;
          done++;
          received(slot, res);
        },
        (err: unknown) => {
          finished();
          if (settled) return;
          if (err instanceof ExecutorUnavailable) throw err;
          if (ctx.signal?.aborted) {
            reject(new RunInterrupted());
            return;
          }
          if (timedOut) {
            done++;
            drop(slot, `no update within the client timeout of ${ctx.clientTimeoutMs / 1000} s; its job was stopped`);
            return;
          }
          if (ctx.retryFailed && attempt === 0) {
            retried++;
            ctx.log(`round ${round}: client ${clientId} failed (${firstLine(err)}); retrying once`);
            launch(slot, 1);
            return;
          }
          done++;
          drop(slot, `worker failed: ${firstLine(err)}`);
        },
      ).then(pump).catch(reject);
    };
    pump();
  });
}
