// Client devices on the virtual clock: each client's compute speed, bandwidth and availability, drawn from
// documented distributions or read from FedScale-format traces (docs/runtime.md, "Virtual clock").
//
// Drawn (per client from the stream device/<id> of the run's seed, lazily, so 100,000 clients cost nothing
// until sampled):
//   speed     log-normal, median 50 samples/s, σ = 0.7 (log space)       local training throughput
//   down      log-normal, median 2.5 MB/s (20 Mbit/s), σ = 0.8           broadcast download
//   up        down / 4 (asymmetric access links)                         update upload
//   always available
// FedScale traces (JSON renditions of its client_device_capacity and client_behave_trace pickles; client k
// uses the trace's k mod count-th entry, in the file's key order):
//   capacity      { "<id>": { "computation": ms per sample (inference), "communication": kbit/s } }
//                 speed = 1000 / (3 · computation) samples/s (training ≈ 3× inference, as FedScale);
//                 down = up = communication · 125 bytes/s
//   availability  { "<id>": { "active": [s…], "inactive": [s…], "finish_time": s, … } }
//                 available at t when active[i] ≤ t mod finish_time < inactive[i] for some i
import { readFileSync } from 'node:fs';
import { Rng } from '../random.js';

export interface DeviceProfile {
  /** Local training throughput, samples per second. */
  readonly speed: number;
  /** Download and upload bandwidth, bytes per second. */
  readonly down: number;
  readonly up: number;
}

export interface Devices {
  profile(client: number): DeviceProfile;
  /** Whether the client can be reached at virtual time t (seconds). */
  available(client: number, t: number): boolean;
  /** The first virtual time ≥ t at which the client can be reached; Infinity when never. */
  nextAvailable(client: number, t: number): number;
}

/** One line naming the trace file and what is wrong. */
export class TraceError extends Error {
  constructor(path: string, what: string) {
    super(`trace ${path}: ${what}`);
    this.name = 'TraceError';
  }
}

function drawnProfile(seed: number, client: number): DeviceProfile {
  const rng = new Rng(seed).fork(`device/${client}`);
  const speed = 50 * Math.exp(0.7 * rng.normal());
  const down = 2.5e6 * Math.exp(0.8 * rng.normal());
  return { speed, down, up: down / 4 };
}

function readTraceObject(path: string): [string, unknown][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TraceError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TraceError(path, `is not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TraceError(path, 'must be a JSON object of client id → entry');
  const entries = Object.entries(json);
  if (entries.length === 0) throw new TraceError(path, 'has no clients');
  for (const [id, e] of entries) if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new TraceError(path, `client '${id}' is not an object`);
  return entries;
}

function positive(path: string, id: string, entry: Record<string, unknown>, key: string): number {
  const v = entry[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TraceError(path, `client '${id}': '${key}' must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads a FedScale device-capacity trace (JSON). */
export function readCapacityTrace(path: string): DeviceProfile[] {
  return readTraceObject(path).map(([id, raw]) => {
    const e = raw as Record<string, unknown>;
    const computation = positive(path, id, e, 'computation');
    const communication = positive(path, id, e, 'communication');
    return { speed: 1000 / (3 * computation), down: communication * 125, up: communication * 125 };
  });
}

interface AvailabilityPattern {
  readonly active: Float64Array;
  readonly inactive: Float64Array;
  readonly period: number;
}

/** Reads a FedScale availability (behaviour) trace (JSON). */
export function readAvailabilityTrace(path: string): AvailabilityPattern[] {
  return readTraceObject(path).map(([id, raw]) => {
    const e = raw as Record<string, unknown>;
    const period = positive(path, id, e, 'finish_time');
    const times = (key: 'active' | 'inactive'): Float64Array => {
      const v = e[key];
      if (!Array.isArray(v) || v.some((t) => typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
        throw new TraceError(path, `client '${id}': '${key}' must be a list of non-negative seconds`);
      }
      return Float64Array.from(v as number[]);
    };
    const active = times('active');
    const inactive = times('inactive');
    if (active.length === 0) throw new TraceError(path, `client '${id}': 'active' is empty (the client would never be available)`);
    if (inactive.length !== active.length) throw new TraceError(path, `client '${id}': ${active.length} 'active' and ${inactive.length} 'inactive' times (one inactive time closes each active one)`);
    for (let i = 0; i < active.length; i++) {
      if (!(active[i] < inactive[i]) || (i > 0 && active[i] < inactive[i - 1])) {
        throw new TraceError(path, `client '${id}': interval ${i} [${active[i]}, ${inactive[i]}) is empty or overlaps the one before`);
      }
    }
    return { active, inactive, period };
  });
}

function isActiveAt(p: AvailabilityPattern, t: number): boolean {
  const x = t % p.period;
  for (let i = 0; i < p.active.length; i++) if (p.active[i] <= x && x < p.inactive[i]) return true;
  return false;
}

/** The first time ≥ t inside one of the pattern's intervals (those starting past finish_time never open). */
function nextActive(p: AvailabilityPattern, t: number): number {
  if (isActiveAt(p, t)) return t;
  const x = t % p.period;
  const periodStart = t - x;
  let first = Infinity;
  for (let i = 0; i < p.active.length; i++) {
    const a = p.active[i];
    if (a >= p.period) continue;
    if (a > x) return periodStart + a;
    first = Math.min(first, a);
  }
  return periodStart + p.period + first;
}

/** The run's devices: drawn, or from the traces given (either may be null). */
export function createDevices(seed: number, capacityTrace: string | null, availabilityTrace: string | null): Devices {
  const capacity = capacityTrace === null ? null : readCapacityTrace(capacityTrace);
  const availability = availabilityTrace === null ? null : readAvailabilityTrace(availabilityTrace);
  return {
    profile: (client) => (capacity ? capacity[client % capacity.length] : drawnProfile(seed, client)),
    available: (client, t) => (availability ? isActiveAt(availability[client % availability.length], t) : true),
    nextAvailable: (client, t) => (availability ? nextActive(availability[client % availability.length], t) : t),
  };
}
