// Asynchronous FL: FedBuff (Nguyen et al., "Federated Learning with Buffered Asynchronous Aggregation",
// AISTATS 2022) on the virtual clock. Each "round" of an asynchronous run is one server step.
//
// Schedule — decided on the virtual clock alone, never by real arrival order, so a seed fixes it whatever
// the number of workers and their timing:
//   - `concurrency` M clients train at once. A free slot takes a client drawn uniformly (stream
//     async/<dispatch count> of the seed) among those active, available at that virtual time, not in flight
//     and not already in the current buffer; it trains from the current global model (version s = server
//     steps applied so far) and arrives after its virtual duration (download + local training + upload, as a
//     synchronous round's client: selection.ts).
//   - Arrivals are taken in virtual-time order (ties: lower client id, then earlier dispatch). Each frees its
//     slot at once (filled at that time, from the same model version); the K-th arrival (`buffer` K) closes
//     the buffer, and the freed slot is filled after the server step, from the new version.
//   - When nothing is in flight and no client is available, the clock jumps to the first moment one is (it
//     never stalls). A buffer that cannot fill — every active client has reported into it — closes early.
// Server step s, over the buffer's arrivals i (client trained from version v_i, staleness τ_i = s − v_i,
// n_i samples, delta Δ_i):
//     Δ = Σ_i n_i · (1 + τ_i)^(−a) · Δ_i / Σ_i n_i          (a = stalenessExponent; FedBuff's default 0.5)
// then the strategy's server step on Δ (FedAvg: w += serverLr · Δ; FedOpt: its optimizer). The staleness
// factor is not normalised away: a buffer of stale updates moves the model less (FedBuff's Algorithm 1
// scales by s(τ) and divides by K; here by the sample total, as FedAvg weighs clients). Updates are folded
// in (version, client id) order; a rejected update drops out of both sums. A client is trained only when its
// arrival is taken (from its version's weights, kept as snapshots while a client in flight needs them), so
// memory is O(P · distinct versions in flight) and one buffer's updates are folded as they stream in.
import { Rng } from '../random.js';
import type { Task } from '../fl/task.js';
import { wallNow } from './client-job.js';
import type { Decision } from '../aggregate/aggregator.js';
import type { Devices } from './devices.js';
import { emptyTimings } from './profile.js';
import { encodeBroadcastOf, stageClientState, updateBytes, type RoundContext, type RoundRecord, type RunTotals } from './round.js';
import { clientSeconds, type PayloadBytes } from './selection.js';
import { trainClients, type DroppedClient, type ReceivedUpdate } from './train-step.js';
import { decodeBroadcast } from './wire.js';

export interface FedBuffConfig {
  /** Clients training at once, M. */
  readonly concurrency: number;
  /** Arrivals per server step, K. */
  readonly buffer: number;
  /** a in the staleness weight (1 + τ)^−a. */
  readonly stalenessExponent: number;
}

/** One client job in flight: the model version it trains from, its dispatch index and virtual times. */
export interface InFlight {
  readonly client: number;
  readonly version: number;
  readonly dispatch: number;
  readonly start: number;
  readonly finish: number;
}

/** The schedule between server steps: the jobs in flight (arrival order) and how many were dispatched. */
export interface AsyncSchedule {
  readonly inFlight: readonly InFlight[];
  readonly dispatched: number;
}

/** An asynchronous run's state between steps: the schedule and the model versions its jobs train from. */
export interface AsyncRunState {
  schedule: AsyncSchedule;
  /** Global weights of every version a job in flight trains from, except the current one. */
  versions: Map<number, Float32Array>;
}

/** What the schedule depends on. */
export interface ScheduleEnv {
  readonly numClients: number;
  readonly seed: number;
  readonly concurrency: number;
  readonly buffer: number;
  readonly devices: Devices;
  isActive(client: number): boolean;
  /** A job's virtual seconds (download + local training + upload). */
  seconds(client: number): number;
}

/** One buffer: its arrivals in order, the virtual time it closes, and the schedule after it. */
export interface BufferFill {
  readonly arrivals: readonly InFlight[];
  readonly now: number;
  readonly schedule: AsyncSchedule;
}

/** FedBuff's staleness weight (1 + τ)^−a. */
export function stalenessWeight(staleness: number, exponent: number): number {
  return exponent === 0 ? 1 : Math.pow(1 + staleness, -exponent);
}

/** The arrival order: earlier finish, then lower client id, then earlier dispatch. */
function arrivesBefore(a: InFlight, b: InFlight): boolean {
  return a.finish < b.finish || (a.finish === b.finish && (a.client < b.client || (a.client === b.client && a.dispatch < b.dispatch)));
}

/** Random draws tried before a full scan of the population. */
const DRAWS_BEFORE_SCAN = 32;

/**
 * Fills buffer `step` from `schedule` at virtual time `now` (pure: the schedule given is not changed). The
 * arrivals are empty only when no client can ever report.
 */
export function fillBuffer(env: ScheduleEnv, schedule: AsyncSchedule, step: number, now: number): BufferFill {
  const inFlight = schedule.inFlight.slice();
  let dispatched = schedule.dispatched;
  const busy = new Set(inFlight.map((f) => f.client));
  const arrivals: InFlight[] = [];
  const eligible = (k: number, t: number) => !busy.has(k) && env.isActive(k) && env.devices.available(k, t);
  const dispatch = (client: number, t: number): void => {
    busy.add(client);
    const job: InFlight = { client, version: step, dispatch: dispatched++, start: t, finish: t + env.seconds(client) };
    let i = inFlight.length;
    while (i > 0 && arrivesBefore(job, inFlight[i - 1])) i--;
    inFlight.splice(i, 0, job);
  };
  const pick = (t: number): number => {
    const rng = new Rng(env.seed).fork(`async/${dispatched}`);
    for (let i = 0; i < DRAWS_BEFORE_SCAN; i++) {
      const k = rng.int(env.numClients);
      if (eligible(k, t)) return k;
    }
    const all: number[] = [];
    for (let k = 0; k < env.numClients; k++) if (eligible(k, t)) all.push(k);
    return all.length === 0 ? -1 : all[rng.int(all.length)];
  };
  const fillSlots = (t: number): void => {
    while (inFlight.length < env.concurrency) {
      const k = pick(t);
      if (k < 0) return;
      dispatch(k, t);
    }
  };
  fillSlots(now);
  while (arrivals.length < env.buffer) {
    if (inFlight.length === 0) {
      // Idle: jump to the first moment a free client is available (it is dispatched then), or close early.
      let next = Infinity;
      let first = -1;
      for (let k = 0; k < env.numClients; k++) {
        if (busy.has(k) || !env.isActive(k)) continue;
        const t = env.devices.nextAvailable(k, now);
        if (t < next) {
          next = t;
          first = k;
        }
      }
      if (first < 0) break;
      now = next;
      dispatch(first, now);
      fillSlots(now);
      continue;
    }
    const job = inFlight.shift()!;
    now = job.finish;
    arrivals.push(job);
    if (arrivals.length < env.buffer) fillSlots(now);
  }
  return { arrivals, now, schedule: { inFlight, dispatched } };
}

/** The schedule's environment in a run. */
export function scheduleEnv(task: Task, devices: Devices, fedbuff: FedBuffConfig, seed: number, localEpochs: number, bytes: PayloadBytes): ScheduleEnv {
  return {
    numClients: task.numClients, seed, concurrency: fedbuff.concurrency, buffer: fedbuff.buffer, devices,
    isActive: (k) => task.isActive?.(k) ?? true,
    seconds: (k) => clientSeconds(task, devices, k, localEpochs, bytes),
  };
}

/** Runs server step `step` of an asynchronous run on `global` (updated in place); `state` advances with it. */
export async function runAsyncRound(ctx: RoundContext, fedbuff: FedBuffConfig, state: AsyncRunState, step: number, global: Float32Array,
  totals: RunTotals): Promise<RoundRecord> {
  const { task, server, store, executor, trace } = ctx;
  const roundStart = wallNow();
  const virtualStart = totals.virtualTime;
  const bytes = { down: encodeBroadcastOf(ctx, step, global).byteLength, up: updateBytes(ctx) };
  const env = scheduleEnv(task, ctx.devices, fedbuff, ctx.config.seed, ctx.config.localEpochs, bytes);
  const fill = fillBuffer(env, state.schedule, step, virtualStart);
  if (fill.arrivals.length === 0) {
    throw new Error(`round ${step}: no client can report: each of the ${task.numClients} clients is inactive or never available`);
  }
  if (fill.arrivals.length < fedbuff.buffer) {
    ctx.log(`round ${step}: the buffer closed with ${fill.arrivals.length} of ${fedbuff.buffer} arrivals: every other active client has reported into it`);
  }
  // The weights of every version a job still in flight will train from (this one's before the step changes it).
  const versions = new Map<number, Float32Array>();
  for (const f of fill.schedule.inFlight) {
    if (versions.has(f.version)) continue;
    versions.set(f.version, f.version === step ? global.slice() : state.versions.get(f.version)!);
  }
  const groups = new Map<number, number[]>();
  for (const a of fill.arrivals) groups.set(a.version, [...(groups.get(a.version) ?? []), a.client]);

  const timings = emptyTimings();
  const aggregator = ctx.newAggregator(step, Int32Array.from(fill.arrivals, (a) => a.client).sort());
  const offered = new Map<number, { received: ReceivedUpdate; weight: number; discount: number }>();
  const rejected: DroppedClient[] = [];
  let lossSum = 0;
  let sampleSum = 0;
  let weightSum = 0;
  let discountedSum = 0;
  const settle = (decisions: Decision[]): void => {
    for (const d of decisions) {
      const { received, weight, discount } = offered.get(d.tag)!;
      offered.delete(d.tag);
      const u = received.update;
      if (d.rejected !== null) {
        rejected.push({ client: u.clientId, reason: d.rejected });
        ctx.log(`round ${step}: dropped client ${u.clientId}: ${d.rejected}`);
        continue;
      }
      stageClientState(ctx, u, received.clientState);
      lossSum += u.loss * u.numSamples;
      sampleSum += u.numSamples;
      weightSum += weight;
      discountedSum += weight * discount;
    }
  };
  let bytesDown = 0;
  let bytesUp = 0;
  let retried = 0;
  const failed: DroppedClient[] = [];
  for (const version of [...groups.keys()].sort((a, b) => a - b)) {
    const ids = Int32Array.from(groups.get(version)!).sort();
    const discount = stalenessWeight(step - version, fedbuff.stalenessExponent);
    const b0 = wallNow();
    const broadcast = encodeBroadcastOf(ctx, version, version === step ? global : state.versions.get(version)!);
    const received = decodeBroadcast(broadcast, { round: version, numParams: ctx.numParams, names: server.broadcastNames });
    executor.publish(received.global, received.vectors);
    const b1 = wallNow();
    timings.broadcast += b1 - b0;
    trace?.span(0, `broadcast ${version}`, 'broadcast', b0, b1, { bytes: broadcast.byteLength });
    const outcome = await trainClients(ctx, version, ids, timings, (r) => {
      const u = r.update;
      const a = wallNow();
      const weight = server.weight(u);
      offered.set(u.clientId, { received: r, weight, discount });
      settle(aggregator.add(u, weight * discount));
      const b = wallNow();
      timings.aggregate += b - a;
      trace?.span(0, `fold ${u.clientId}`, 'aggregate', a, b);
    });
    bytesDown += outcome.jobsSent * broadcast.byteLength;
    bytesUp += outcome.bytesUp;
    retried += outcome.retried;
    failed.push(...outcome.dropped);
  }
  const f0 = wallNow();
  const { decisions, means } = aggregator.finish();
  settle(decisions);
  timings.aggregate += wallNow() - f0;
  const dropped = [...failed, ...rejected].sort((x, y) => x.client - y.client);
  const participants = means?.participants ?? 0;

  const s0 = wallNow();
  if (means && participants > 0) {
    // The aggregator's mean is Σ n·s(τ)·Δ / Σ n·s(τ); FedBuff's update is Σ n·s(τ)·Δ / Σ n.
    const scale = discountedSum / weightSum;
    const delta = means.delta;
    for (let i = 0; i < delta.length; i++) delta[i] *= scale;
    server.step(global, means);
  } else {
    ctx.log(`round ${step}: none of the ${fill.arrivals.length} arrivals was accepted; the global model stays as it is`);
  }
  const bad = global.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new Error(`round ${step}: the model diverged: global parameter ${bad} is ${global[bad]} after the server step; lower the learning rates`);
  store.commit();
  const s1 = wallNow();
  timings.serverStep = s1 - s0;
  trace?.span(0, `server step ${step}`, 'serverStep', s0, s1);

  state.schedule = fill.schedule;
  state.versions = versions;
  totals.virtualTime = fill.now;
  totals.updates += participants;
  totals.dropped += dropped.length;
  totals.retried += retried;
  totals.bytesDown += bytesDown;
  totals.bytesUp += bytesUp;
  timings.round = s1 - roundStart;
  const staleness = fill.arrivals.map((a) => step - a.version);
  return {
    round: step,
    attempts: 1,
    sampled: fill.arrivals.length,
    skipped: 0,
    unavailable: 0,
    late: 0,
    accepted: participants,
    dropped: dropped.length,
    retried,
    trainLoss: sampleSum > 0 ? lossSum / sampleSum : NaN,
    bytesDown,
    bytesUp,
    virtualStart,
    virtualSeconds: fill.now - virtualStart,
    phases: timings,
    overheadShare: 0,
    droppedClients: dropped,
    staleness: { mean: staleness.reduce((x, y) => x + y, 0) / staleness.length, max: Math.max(...staleness) },
  };
}
