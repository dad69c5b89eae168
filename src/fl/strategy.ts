// The Strategy interface: one federated algorithm = client-side hooks (run inside the worker, around
// local SGD) + a server side (averaging weights and the server step, on the main thread).
//
// A new algorithm is ONE file: implement Strategy and call registerStrategy(...) at module load; list the
// file in RunConfig.plugins so the workers import it too. Built-ins live in ./strategies/.
import type { Aggregator, AggregatorSpec } from '../aggregate/aggregator.js';
import type { Metrics } from './task.js';

/** Local training as FedMultimodal: SGD with momentum, weight decay, gradient-norm clipping. */
export interface LocalTrainConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Max global L2 norm of the gradient (clip_grad_norm_); 0 disables clipping. */
  readonly gradClip: number;
}

/** Algorithm parameters after validation (numbers and strings only, so they cross threads as JSON). */
export type StrategyParams = Readonly<Record<string, number | string>>;

/** Named flat vectors (each of length P unless a strategy says otherwise). */
export type Vectors = Readonly<Record<string, Float32Array>>;

/** What a client hook sees about the client and the round. */
export interface ClientContext {
  readonly round: number;
  readonly clientId: number;
  readonly numClasses: number;
  /** Per class: the client's sample count. */
  readonly labelHistogram: Int32Array;
  /** The global weights of this round (read-only). */
  readonly global: Float32Array;
  /** Server vectors broadcast this round (e.g. SCAFFOLD's c). */
  readonly broadcast: Vectors;
  /** The client's persistent state from earlier rounds; null on its first participation. */
  readonly state: Vectors | null;
  readonly local: LocalTrainConfig;
  readonly params: StrategyParams;
}

/** Client-side hooks (all optional). */
export interface ClientHooks {
  /** Per-class logit scale for this client's training (FedRS), length C; null = none. Called once per client. */
  classScale?(ctx: ClientContext): Float32Array | null;
  /** Adds the algorithm's term to the local gradient: after clipping, before the SGD step. */
  adjustGradient?(grad: Float32Array, params: Float32Array, ctx: ClientContext): void;
  /** Vectors sent with the update (names must be the server's extraNames). `delta` = w_local − w_global. */
  extras?(ctx: ClientContext, outcome: { readonly delta: Float32Array; readonly steps: number }): Vectors;
}

/** A validated client update as the server folds it. */
export interface ClientUpdate {
  readonly clientId: number;
  readonly round: number;
  readonly numSamples: number;
  readonly loss: number;
  readonly metrics: Metrics;
  readonly steps: number;
  /** w_local − w_global, length P. */
  readonly delta: Float32Array;
  readonly extras: Vectors;
}

/**
 * The round's aggregate of the delta and of every extra over the accepted updates: by default the weighted
 * means Σ wᵢ·xᵢ / Σ wᵢ; with a robust aggregator (median, Krum, …) whatever that rule gives.
 */
export interface RoundMeans {
  readonly delta: Float32Array;
  readonly extras: Vectors;
  /** Number of accepted updates. */
  readonly participants: number;
  readonly totalWeight: number;
}

/** Server state that a checkpoint saves (scalars and flat buffers). */
export interface ServerState {
  readonly scalars: Record<string, number>;
  readonly buffers: Record<string, Float32Array>;
}

export interface ServerContext {
  readonly numParams: number;
  /** All training clients, N (SCAFFOLD's c update divides by it). */
  readonly numClients: number;
  readonly local: LocalTrainConfig;
  /** The run's aggregator choice (RunConfig.aggregator; default the streaming weighted mean). */
  readonly aggregator: AggregatorSpec;
}

export interface ServerStrategy {
  /** Names of the vectors every update of this algorithm must carry (checked on decode). */
  readonly extraNames: readonly string[];
  /** Names of the server vectors broadcast to clients each round. */
  readonly broadcastNames: readonly string[];
  /** The server vector `name` (length P), written into the round's shared broadcast buffer. */
  broadcast(name: string): Float32Array;
  /** Averaging weight of an accepted update (FedAvg: sample count; SCAFFOLD: 1). */
  weight(update: ClientUpdate): number;
  /**
   * The strategy's own round aggregator (src/aggregate/aggregator.ts), used instead of the run's
   * `aggregator` choice; absent for the built-ins, which take the run's (default: the streaming mean).
   */
  readonly aggregator?: Aggregator;
  /** The round's server step: updates `global` in place from the round's means. */
  step(global: Float32Array, means: RoundMeans): void;
  /** The client's persistent state after its accepted update; undefined = the strategy keeps none. */
  nextClientState?(previous: Vectors | null, update: ClientUpdate): Vectors;
  saveState(): ServerState;
  loadState(state: ServerState): void;
}

export interface Strategy {
  readonly name: string;
  /** One-line description for help texts. */
  readonly description: string;
  /** Validates the algorithm's parameters and fills defaults; throws a one-line error. */
  params(raw: Readonly<Record<string, unknown>>): StrategyParams;
  readonly client: ClientHooks;
  server(params: StrategyParams, ctx: ServerContext): ServerStrategy;
}

const registry = new Map<string, Strategy>();

export function registerStrategy(strategy: Strategy): void {
  if (!/^[a-z][a-z0-9-]*$/.test(strategy.name)) throw new Error(`registerStrategy: invalid name '${strategy.name}'`);
  registry.set(strategy.name, strategy);
}

export function getStrategy(name: string): Strategy {
  const s = registry.get(name);
  if (!s) throw new Error(`unknown algorithm '${name}'; known: ${strategyNames().join(', ')}`);
  return s;
}

export function strategyNames(): string[] {
  return [...registry.keys()].sort();
}

/** Reads a numeric parameter with a default and a validity check (one-line errors). */
export function numberParam(raw: Readonly<Record<string, unknown>>, key: string, fallback: number,
  ok: (v: number) => boolean, rule: string, algorithm: string): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${algorithm}: ${key} must be ${rule}, got ${String(v)}`);
  return v;
}

/** Rejects parameters an algorithm does not know (catches typos such as 'mu' for FedAvg). */
export function onlyParams(raw: Readonly<Record<string, unknown>>, known: readonly string[], algorithm: string): void {
  for (const k of Object.keys(raw)) {
    if (raw[k] !== undefined && !known.includes(k)) {
      throw new Error(`${algorithm}: unknown parameter '${k}' (accepted: ${known.join(', ') || 'none'})`);
    }
  }
}

/** A server with no persistent state that adds serverLr × the weighted mean delta (FedAvg, FedProx, FedRS). */
export function averagingServer(serverLr: number): ServerStrategy {
  return {
    extraNames: [],
    broadcastNames: [],
    broadcast(name) {
      throw new Error(`averaging server broadcasts nothing (asked for '${name}')`);
    },
    weight: (u) => u.numSamples,
    step(global, means) {
      const d = means.delta;
      for (let i = 0; i < global.length; i++) global[i] += serverLr * d[i];
    },
    saveState: () => ({ scalars: {}, buffers: {} }),
    loadState() {},
  };
}
