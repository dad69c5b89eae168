// One federated round: select → broadcast → train → fold → server step, on the virtual clock.
//
// The round's clients are selected on the virtual clock (selection.ts: int(rate·N) drawn by a generator
// seeded with the round number, or the task's own schedule, or — in a differentially private run — each
// client with probability rate (Poisson sampling, what the accountant assumes); less the inactive,
// unavailable and late ones), and the clock advances by the round's virtual duration (each attempt of a
// repeated round takes it again). The broadcast — global weights and the strategy's vectors — goes through
// the wire format like the updates (optionally compressed: the clients then train from the decoded weights)
// and is published to the executor; the train step trains the clients and hands back their decoded updates
// in client-id order, and each is offered to the round's aggregator (roundAggregator: the strategy's own, else
// the run's choice — the streaming weighted mean by default, or a robust rule; a private run's DP/SecAgg
// aggregator instead), which checks its values as it folds it and decides, possibly a few updates later,
// whether it is accepted. An accepted update's client state is staged and its loss counted; a rejected one
// is dropped with its reason, as if it had never arrived. An executor that trains and folds a whole round itself
// (ClientExecutor.trainRound: the batched gpu path) takes the place of the train step and the aggregator: its
// sample-weighted mean goes to the server step, and its non-finite clients are dropped with their reason. Bytes are those of the encoded payloads: downlink =
// the broadcast's size × jobs dispatched, uplink = the sum of the updates received. With fewer than
// ceil(minClientFraction · selected) updates in the aggregate the round is tried again (or the run stops); else the
// server step updates the global weights in place and the staged client states are committed. A global
// model that is not finite after the server step stops the run (it diverged): nothing after it would mean
// anything.
import type { Aggregator, Decision } from '../aggregate/aggregator.js';
import { Rng } from '../random.js';
import type { ClientUpdate, RoundMeans, ServerStrategy, Vectors } from '../fl/strategy.js';
import type { ClientExecutor } from './executor.js';
import type { Task } from '../fl/task.js';
import { wallNow } from './client-job.js';
import { compressVector, payloadBytes, type Compression } from './compression.js';
import type { Devices } from './devices.js';
import { selectClients, type SelectionConfig } from './selection.js';
import type { RunConfig } from './config.js';
import { emptyTimings, type PhaseTimings } from './profile.js';
import { trainClients, type DroppedClient, type ReceivedUpdate, type TrainStepContext } from './train-step.js';
import type { Metrics } from '../fl/task.js';
import type { PrivacyRoundReport } from '../privacy/private-aggregator.js';
import { decodeBroadcast, encodeBroadcast, type WireVector } from './wire.js';

/** One line of metrics.jsonl. */
export interface RoundRecord {
  /** Round index, 0-based. */
  round: number;
  /** Tries this round took (> 1 when a short round was repeated). */
  attempts: number;
  /** Clients sampled (over-selection included), of those skipped as inactive (no modality or no labeled
   *  sample), unavailable at the round's start, late (past the deadline, or not needed: over-selection),
   *  then updates accepted, updates dropped, jobs retried (in the accepted attempt). */
  sampled: number;
  skipped: number;
  unavailable: number;
  late: number;
  accepted: number;
  dropped: number;
  retried: number;
  /** Sample-weighted mean local training loss of the accepted updates. */
  trainLoss: number;
  /** Bytes of the encoded broadcasts sent (one per job dispatched) and of the encoded updates received, all attempts. */
  bytesDown: number;
  bytesUp: number;
  /** Virtual clock (seconds) at the round's start, and the round's virtual duration (all attempts). */
  virtualStart: number;
  virtualSeconds: number;
  /** Present in evaluation rounds. */
  dev?: Metrics;
  test?: Metrics;
  phases: PhaseTimings;
  /** 1 − Σ local-train time / (parallel lanes × round time without evaluation and checkpoint). */
  overheadShare: number;
  droppedClients: DroppedClient[];
  /** Private runs: ε so far, the clip norm, SecAgg's survivors and costs (see docs/privacy.md). */
  privacy?: PrivacyRoundReport;
  /** Asynchronous runs (FedBuff): server steps between each arrival's dispatch and this step, mean and max. */
  staleness?: { mean: number; max: number };
}

export interface RunTotals {
  updates: number;
  dropped: number;
  retried: number;
  repeatedRounds: number;
  bytesDown: number;
  bytesUp: number;
  /** The virtual clock: seconds since the run's start. */
  virtualTime: number;
}

/** One attempt of a round's aggregation, as the run loop drives it (roundAggregator adapts an Aggregator). */
export interface RoundAggregator {
  /** Offers a decoded update (client-id order); returns the accept/reject decisions made so far, tagged by client id. */
  add(update: ClientUpdate, weight: number): Decision[];
  /** Decides the remaining updates and closes the round: the means are null when none went into them. */
  finish(): { decisions: Decision[]; means: RoundMeans | null };
  /** What the round's record reports about privacy (private aggregators only). */
  readonly privacyReport?: PrivacyRoundReport;
}

/** The run's Aggregator (src/aggregate) through the round seam: begun afresh for every attempt; vectors 'delta' and the strategy's extras. */
export function roundAggregator(aggregator: Aggregator): () => RoundAggregator {
  return () => {
    aggregator.begin();
    return {
      add: (u, weight) => aggregator.add({ tag: u.clientId, weight, vectors: { ...u.extras, delta: u.delta } }),
      finish() {
        const { decisions, aggregate } = aggregator.finish();
        if (!aggregate) return { decisions, means: null };
        const { delta, ...extras } = aggregate.vectors;
        return { decisions, means: { delta, extras, participants: aggregate.participants, totalWeight: aggregate.totalWeight } };
      },
    };
  };
}

export interface RoundContext extends TrainStepContext {
  readonly task: Task;
  readonly server: ServerStrategy;
  readonly config: Pick<RunConfig, 'seed' | 'minClientFraction' | 'onShortRound' | 'maxRoundAttempts'> & SelectionConfig;
  /** How the broadcast and the updates are compressed. */
  readonly downlink: Compression;
  readonly uplink: Compression;
  readonly devices: Devices;
  /** A fresh aggregator for one attempt of a round over its (active) clients, ascending. */
  newAggregator(round: number, clients: Int32Array): RoundAggregator;
  /** The round's draw before the inactive, unavailable and late ones are removed (private runs: Poisson sampling); default: the task's schedule, else `sampleClients`. */
  selectClients?(round: number): Int32Array;
}

/** Poisson sampling: each of the N clients joins round `round` independently with probability `rate`, ascending. */
export function poissonSampleClients(round: number, numClients: number, rate: number): Int32Array {
  const rng = new Rng(round).fork('poisson');
  const out: number[] = [];
  for (let k = 0; k < numClients; k++) if (rng.bernoulli(rate)) out.push(k);
  return Int32Array.from(out);
}

/** Runs round `round` on `global` (updated in place); counts drops, retries and repeats into `totals`. */
export async function runRound(ctx: RoundContext, round: number, global: Float32Array, totals: RunTotals): Promise<RoundRecord> {
  const { task, server, store, executor, trace, config } = ctx;
  const roundStart = wallNow();
  const virtualStart = totals.virtualTime;
  const broadcast = encodeBroadcastOf(ctx, round, global);
  let broadcastMs = wallNow() - roundStart;
  const selection = selectClients(task, ctx.devices, config, round, virtualStart, { down: broadcast.byteLength, up: updateBytes(ctx) },
    ctx.selectClients?.(round) ?? null);
  const { ids } = selection;
  const need = Math.ceil(config.minClientFraction * ids.length);
  if (ids.length === 0) {
    ctx.log(`round ${round}: none of the ${selection.sampled} sampled clients can train (${selection.inactive} lack a modality or a labeled sample, `
      + `${selection.unavailable} unavailable, ${selection.late.length} late); the global model stays as it is`);
  }
  let bytesDown = 0;
  let bytesUp = 0;
  for (let attempt = 1; ; attempt++) {
    const b0 = wallNow();
    totals.virtualTime += selection.duration;
    const received = decodeBroadcast(broadcast, { round, numParams: ctx.numParams, names: server.broadcastNames });
    executor.publish(received.global, received.vectors);
    const b1 = wallNow();
    broadcastMs += b1 - b0;
    trace?.span(0, `broadcast ${round}`, 'broadcast', b0, b1, { bytes: broadcast.byteLength });

    const timings = emptyTimings();
    const step = executor.trainRound
      ? await foldedStep(ctx, executor.trainRound.bind(executor), round, ids, timings)
      : await aggregatedStep(ctx, round, ids, timings);
    const { means, dropped, retried, lossSum, sampleSum, privacyReport } = step;
    bytesDown += step.jobsSent * broadcast.byteLength;
    bytesUp += step.bytesUp;
    totals.bytesDown += step.jobsSent * broadcast.byteLength;
    totals.bytesUp += step.bytesUp;
    const participants = means?.participants ?? 0;
    totals.dropped += dropped.length;
    totals.retried += retried;

    if (participants < need) {
      store.discard();
      const msg = `round ${round}: only ${participants} of ${ids.length} client updates accepted (need ${need})`;
      if (config.onShortRound === 'stop' || attempt >= config.maxRoundAttempts) {
        throw new Error(`${msg}; stopping after ${attempt} attempt${attempt > 1 ? 's' : ''}`);
      }
      totals.repeatedRounds++;
      ctx.log(`${msg}; repeating the round`);
      continue;
    }

    timings.broadcast = broadcastMs;
    const s0 = wallNow();
    if (means && participants > 0) server.step(global, means);
    const bad = global.findIndex((w) => !Number.isFinite(w));
    if (bad >= 0) throw new Error(`round ${round}: the model diverged: global parameter ${bad} is ${global[bad]} after the server step; lower the learning rates`);
    store.commit();
    const s1 = wallNow();
    timings.serverStep = s1 - s0;
    trace?.span(0, `server step ${round}`, 'serverStep', s0, s1);
    totals.updates += participants;
    timings.round = s1 - roundStart;
    return {
      round,
      attempts: attempt,
      sampled: selection.sampled,
      skipped: selection.inactive,
      unavailable: selection.unavailable,
      late: selection.late.length,
      accepted: participants,
      dropped: dropped.length,
      retried,
      trainLoss: sampleSum > 0 ? lossSum / sampleSum : NaN,
      bytesDown,
      bytesUp,
      virtualStart,
      virtualSeconds: totals.virtualTime - virtualStart,
      phases: timings,
      overheadShare: 0,
      droppedClients: dropped,
      ...(privacyReport ? { privacy: privacyReport } : {}),
    };
  }
}

/** What one attempt's train step hands to the rest of the round. */
interface StepOutcome {
  means: RoundMeans | null;
  /** Failed and rejected clients, by client id. */
  dropped: DroppedClient[];
  retried: number;
  jobsSent: number;
  bytesUp: number;
  /** Σ loss·samples and Σ samples over the accepted updates. */
  lossSum: number;
  sampleSum: number;
  privacyReport?: PrivacyRoundReport;
}

/** The train step through the executor's jobs, one decoded update at a time into the round's aggregator. */
async function aggregatedStep(ctx: RoundContext, round: number, ids: Int32Array, timings: PhaseTimings): Promise<StepOutcome> {
  const { server, executor, trace } = ctx;
  const aggregator = ctx.newAggregator(round, ids);
  let lossSum = 0;
  let sampleSum = 0;
  const offered = new Map<number, ReceivedUpdate>();
  const rejected: DroppedClient[] = [];
  const settle = (decisions: Decision[]): void => {
    for (const d of decisions) {
      const { update: u, clientState } = offered.get(d.tag)!;
      offered.delete(d.tag);
      if (d.rejected !== null) {
        rejected.push({ client: u.clientId, reason: d.rejected });
        ctx.log(`round ${round}: dropped client ${u.clientId}: ${d.rejected}`);
        continue;
      }
      stageClientState(ctx, u, clientState);
      lossSum += u.loss * u.numSamples;
      sampleSum += u.numSamples;
    }
  };
  const outcome = await trainClients(ctx, round, ids, timings, (received) => {
    const u = received.update;
    const a = wallNow();
    offered.set(u.clientId, received);
    settle(aggregator.add(u, server.weight(u)));
    const b = wallNow();
    timings.aggregate += b - a;
    trace?.span(0, `fold ${u.clientId}`, 'aggregate', a, b);
  });
  if (executor.endRound) timings.redis += await executor.endRound();
  const { retried, dropped: failed } = outcome;
  const f0 = wallNow();
  const { decisions, means } = aggregator.finish();
  settle(decisions);
  timings.aggregate += wallNow() - f0;
  const dropped = [...failed, ...rejected].sort((x, y) => x.client - y.client);
  return { means, dropped, retried, jobsSent: outcome.jobsSent, bytesUp: outcome.bytesUp, lossSum, sampleSum, privacyReport: aggregator.privacyReport };
}

/**
 * The train step of an executor that trains and folds the round itself (the batched gpu path): its means go
 * straight to the server step. Nothing is encoded; the uplink counts what the accepted updates would have sent.
 */
async function foldedStep(ctx: RoundContext, trainRound: NonNullable<ClientExecutor['trainRound']>, round: number, ids: Int32Array,
  timings: PhaseTimings): Promise<StepOutcome> {
  const folded = await trainRound(round, ids, ctx.signal);
  timings.localTrain += folded.trainMs;
  timings.aggregate += folded.foldMs;
  timings.transfer += folded.transferMs;
  let lossSum = 0;
  let sampleSum = 0;
  for (const c of folded.accepted) {
    lossSum += c.loss * c.numSamples;
    sampleSum += c.numSamples;
  }
  for (const d of folded.dropped) ctx.log(`round ${round}: dropped client ${d.client}: ${d.reason}`);
  return {
    means: folded.means, dropped: [...folded.dropped].sort((x, y) => x.client - y.client), retried: 0, jobsSent: ids.length,
    bytesUp: folded.accepted.length * updateBytes(ctx), lossSum, sampleSum,
  };
}

/** The round's broadcast, encoded: the global weights and the strategy's vectors, compressed as ctx.downlink. */
export function encodeBroadcastOf(ctx: RoundContext, round: number, global: Float32Array): ArrayBuffer {
  const { downlink, server } = ctx;
  const rng = new Rng(ctx.config.seed).fork(`broadcast/${round}`);
  const wire = (name: string, v: Float32Array): WireVector => (downlink.kind === 'none' ? v : compressVector(v, downlink, rng.fork(name)));
  const vectors: Record<string, WireVector> = {};
  for (const name of server.broadcastNames) vectors[name] = wire(name, server.broadcast(name));
  return encodeBroadcast(round, wire('global', global), vectors);
}

/** An update's encoded size: the scheme's payload for the delta and each extra, plus the header (~60 bytes). */
export function updateBytes(ctx: RoundContext): number {
  const vectors = 1 + ctx.server.extraNames.length;
  return 64 + vectors * (6 + payloadBytes(ctx.uplink, ctx.numParams));
}

/** Stages a client's next state: the strategy's (from the update) and the client's private residuals. */
export function stageClientState(ctx: RoundContext, u: ClientUpdate, clientState: Vectors | null): void {
  const { server, store } = ctx;
  if (!server.nextClientState && !clientState) return;
  const previous = store.get(u.clientId);
  store.stage(u.clientId, { ...(server.nextClientState ? server.nextClientState(previous, u) : previous), ...clientState });
}
