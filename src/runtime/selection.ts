// A round's selection on the virtual clock (FedScale's and Papaya's deadline and over-selection).
//
// The round wants k = int(rate·N) clients (at least 1). It draws ceil(overSelect · k) of the N clients
// without replacement from a generator seeded with the round (so every algorithm sees the same schedule;
// a private run's Poisson sampling or a task that prescribes its schedule, Task.scheduleClients, gives the
// clients itself, and the round then wants all of them),
// keeps the active ones (Task.isActive) that are available at the round's start (Devices.available), and
// gives each its virtual duration
//     download (broadcast bytes / down) + local training (epochs · samples / speed) + upload (update bytes / up).
// In order of finishing (ties: lower id) the first k report; with a deadline, only those finishing by it.
// The others are late: they never train. The round lasts until its last reporting client finishes — or
// until the deadline when a client missed it. A round in which no client can report never leaves the clock
// where it was (the next round would find the same clients away): it lasts the deadline when there is one,
// else until the first of its drawn active clients becomes available again, else (every drawn client lacks
// data, or none will ever be available) as long as its slowest drawn client would have taken.
import { Rng } from '../random.js';
import type { Task } from '../fl/task.js';
import type { Devices } from './devices.js';

export interface SelectionConfig {
  readonly clientRate: number;
  /** Draw this many times the clients wanted (≥ 1). */
  readonly overSelect: number;
  /** Virtual seconds a client has to report; 0 = no deadline. */
  readonly deadline: number;
  readonly localEpochs: number;
}

export interface Selection {
  /** Clients drawn, of those inactive (cannot train), unavailable at the round's start, and late. */
  readonly sampled: number;
  readonly inactive: number;
  readonly unavailable: number;
  readonly late: readonly number[];
  /** The clients that train, ascending. */
  readonly ids: Int32Array;
  /** Virtual seconds the round lasts. */
  readonly duration: number;
}

/** Bytes a client downloads (the broadcast) and uploads (one update). */
export interface PayloadBytes {
  readonly down: number;
  readonly up: number;
}

/** A client's virtual seconds for one job: download + local training (epochs · samples / speed) + upload. */
export function clientSeconds(task: Task, devices: Devices, client: number, localEpochs: number, bytes: PayloadBytes): number {
  const d = devices.profile(client);
  return bytes.down / d.down + (localEpochs * task.clientData(client).size) / d.speed + bytes.up / d.up;
}

/** The round's draw: `count` of N clients without replacement, by a generator seeded with the round, ascending. */
export function sampleClients(round: number, numClients: number, rate: number, overSelect = 1): Int32Array {
  const k = Math.max(1, Math.floor(rate * numClients));
  return new Rng(round).sampleWithoutReplacement(numClients, Math.min(numClients, Math.ceil(overSelect * k))).sort();
}

/**
 * Selects round `round`'s clients at virtual time `now`; bytes are the broadcast's and one update's.
 * `prescribed`: the run's own draw (a private run's Poisson sampling, which the accountant assumes), or null.
 */
export function selectClients(task: Task, devices: Devices, config: SelectionConfig, round: number, now: number,
  bytes: PayloadBytes, prescribed: Int32Array | null = null): Selection {
  // The run or the task may prescribe the round's clients (Poisson sampling, FedMultimodal's own schedule); then it wants all of them.
  const scheduled = prescribed ?? task.scheduleClients?.(round, config.clientRate) ?? null;
  const wanted = scheduled ? scheduled.length : Math.max(1, Math.floor(config.clientRate * task.numClients));
  const drawn = scheduled ?? sampleClients(round, task.numClients, config.clientRate, config.overSelect);
  const active = task.isActive ? drawn.filter((k) => task.isActive!(k)) : drawn;
  const available = active.filter((k) => devices.available(k, now));
  const seconds = (id: number) => clientSeconds(task, devices, id, config.localEpochs, bytes);
  const timed = Array.from(available, (id) => ({ id, seconds: seconds(id) })).sort((a, b) => a.seconds - b.seconds || a.id - b.id);
  const reporting = timed.slice(0, wanted).filter((c) => config.deadline === 0 || c.seconds <= config.deadline);
  // The server waits until the deadline when one of the clients it needed has not reported by then.
  const waitedForDeadline = reporting.length < Math.min(wanted, timed.length);
  const ids = Int32Array.from(reporting, (c) => c.id).sort();
  const reported = new Set(ids);
  let duration = waitedForDeadline ? config.deadline : reporting.reduce((m, c) => Math.max(m, c.seconds), 0);
  if (ids.length === 0) duration = idleRoundSeconds(devices, config, drawn, active, now, seconds);
  return {
    sampled: drawn.length,
    inactive: drawn.length - active.length,
    unavailable: active.length - available.length,
    late: timed.filter((c) => !reported.has(c.id)).map((c) => c.id),
    ids,
    duration,
  };
}

/** How long a round in which no client reports lasts (> 0; see the header). */
function idleRoundSeconds(devices: Devices, config: SelectionConfig, drawn: Int32Array, active: Int32Array, now: number,
  seconds: (id: number) => number): number {
  if (config.deadline > 0) return config.deadline;
  let next = Infinity;
  for (const k of active) next = Math.min(next, devices.nextAvailable(k, now));
  if (next > now && next < Infinity) return next - now;
  let slowest = 0;
  for (const k of drawn) slowest = Math.max(slowest, seconds(k));
  return slowest;
}
