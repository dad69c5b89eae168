// Round aggregators: how the server combines one round's client updates into the vectors its step uses.
//
// The runtime offers each update of a round to the strategy's aggregator in client-id order (whatever the
// arrival order or the number of workers), then asks for the aggregate. An update carries named vectors of
// P floats each: 'delta' (w_local − w_global) and the strategy's extras (e.g. SCAFFOLD's 'dc'), a weight
// (the strategy's: sample count for FedAvg) and a tag (the runtime's: the client's slot in the round).
//
// Acceptance is per update and may be decided late: add() returns the decisions made by then (possibly for
// earlier updates: the streaming mean checks values when a group is folded) and finish() the rest, always in
// offer order. A rejected update leaves the aggregate exactly as if it had never been offered.
//
// To add an aggregator (DP noise, secure-aggregation unmasking, …): implement Aggregator and register an
// AggregatorKind with registerAggregator(); `--aggregator NAME` then selects it for any algorithm.
import { aggregateOps } from './ops.js';
import { flushTogether, StreamingMean } from './streaming-mean.js';

/** One client's update as an aggregator sees it. */
export interface AggregatorInput {
  /** Names the update in decisions (the runtime uses the client's slot in the round). Unique per round. */
  readonly tag: number;
  /** Positive finite averaging weight (the strategy's). */
  readonly weight: number;
  /** Every vector the aggregator was created for ('delta' and the strategy's extras), each of P floats. The
   *  aggregator may keep references until finish(): the caller must not modify them before. */
  readonly vectors: Readonly<Record<string, Float32Array>>;
}

/** The fate of one offered update: `rejected` is null when accepted, else a one-line reason. */
export interface Decision {
  readonly tag: number;
  readonly rejected: string | null;
}

/** A round's result: one vector per name, and what it was made of. */
export interface Aggregate {
  readonly vectors: Readonly<Record<string, Float32Array>>;
  /** Accepted updates. */
  readonly participants: number;
  /** Σ weight over the accepted updates. */
  readonly totalWeight: number;
}

export interface Aggregator {
  readonly name: string;
  /** True when it holds every update of the round until finish() (memory O(P·clients)); false: O(P). */
  readonly keepsAllUpdates: boolean;
  /** Starts a round, forgetting everything offered before. */
  begin(): void;
  /** Offers an update; returns the decisions made by now that were not returned yet, in offer order. */
  add(input: AggregatorInput): Decision[];
  /**
   * Decides every remaining update; the aggregate is null when none was accepted. Its vectors may be the
   * aggregator's own buffers, reused by the next round: they are valid until the next begin().
   */
  finish(): { decisions: Decision[]; aggregate: Aggregate | null };
}

/** What an aggregator is built for. */
export interface AggregatorContext {
  readonly numParams: number;
  /** The vectors every update carries: 'delta' first, then the strategy's extras. */
  readonly vectorNames: readonly string[];
  /** Threads the native folds may use (default 1). */
  readonly threads?: number;
}

/** The user's choice (CLI --aggregator, --trim, --byzantine, --clip-norm; RunConfig.aggregator). */
export interface AggregatorSpec {
  readonly name: string;
  /** trimmed-mean: fraction trimmed at each end, in [0, 0.5). */
  readonly trim?: number;
  /** krum, multi-krum, bulyan (and optionally median, trimmed-mean): assumed Byzantine clients f per round. */
  readonly byzantine?: number;
  /** norm-clip: maximum L2 norm of each delta. */
  readonly clipNorm?: number;
}

export interface AggregatorKind {
  readonly name: string;
  /** One line for --help. */
  readonly description: string;
  readonly keepsAllUpdates: boolean;
  /** Spec fields it reads (others are refused). */
  readonly params: readonly ('trim' | 'byzantine' | 'clipNorm')[];
  /** Refuses a bad spec with one line; `perRound`, when known, is the number of updates a round offers. */
  check(spec: AggregatorSpec, perRound?: number): void;
  create(spec: AggregatorSpec, ctx: AggregatorContext): Aggregator;
}

const kinds = new Map<string, AggregatorKind>();

export function registerAggregator(kind: AggregatorKind): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind.name)) throw new Error(`registerAggregator: invalid name '${kind.name}'`);
  kinds.set(kind.name, kind);
}

export function aggregatorNames(): string[] {
  return [...kinds.keys()];
}

export function getAggregatorKind(name: string): AggregatorKind {
  const k = kinds.get(name);
  if (!k) throw new Error(`unknown aggregator '${name}'; known: ${aggregatorNames().join(', ')}`);
  return k;
}

const PARAM_FLAGS = { trim: '--trim', byzantine: '--byzantine', clipNorm: '--clip-norm' } as const;

/** Validates a spec against its kind (unknown name, parameters it does not take, bad values). */
export function checkAggregatorSpec(spec: AggregatorSpec, perRound?: number): AggregatorKind {
  const kind = getAggregatorKind(spec.name);
  for (const p of ['trim', 'byzantine', 'clipNorm'] as const) {
    if (spec[p] !== undefined && !kind.params.includes(p)) {
      throw new Error(`aggregator ${spec.name} takes no ${PARAM_FLAGS[p]} (it takes ${kind.params.map((q) => PARAM_FLAGS[q]).join(', ') || 'no parameters'})`);
    }
  }
  if (spec.byzantine !== undefined && !(Number.isInteger(spec.byzantine) && spec.byzantine >= 0)) {
    throw new Error(`aggregator ${spec.name}: --byzantine must be a non-negative integer, got ${spec.byzantine}`);
  }
  kind.check(spec, perRound);
  return kind;
}

export function createAggregator(spec: AggregatorSpec, ctx: AggregatorContext): Aggregator {
  const kind = checkAggregatorSpec(spec);
  if (ctx.vectorNames[0] !== 'delta') throw new Error(`aggregator ${spec.name}: the first vector must be 'delta'`);
  return kind.create(spec, ctx);
}

function checkInput(name: string, input: AggregatorInput, ctx: AggregatorContext): string | null {
  if (!(input.weight > 0) || !Number.isFinite(input.weight)) return `weight ${input.weight} is not a positive finite number`;
  for (const v of ctx.vectorNames) {
    const x = input.vectors[v];
    if (!(x instanceof Float32Array)) return `vector '${v}' is missing`;
    if (x.length !== ctx.numParams) return `vector '${v}' has ${x.length} values, expected ${ctx.numParams}`;
  }
  if (Object.keys(input.vectors).length !== ctx.vectorNames.length) return `${name}: unexpected vectors ${Object.keys(input.vectors).join(', ')}`;
  return null;
}

// ---- streaming: the weighted mean and norm-bounded averaging (O(P) memory) ----

/**
 * Σ wᵢ·sᵢ·xᵢ / Σ wᵢ per vector, with StreamingMeans folded together (an update bad in any vector is
 * rejected from all). sᵢ = 1 for the mean; norm-clip scales each delta to ‖Δ‖ ≤ C (extras unscaled).
 */
class StreamingAggregator implements Aggregator {
  readonly keepsAllUpdates = false;
  private readonly means: StreamingMean[];
  /** The round's results, one per vector, reused every round: a fresh buffer costs a page fault per 4 KiB
   *  page when first written (on the 2-vCPU VM, 17–127 ms for 4 MB: as long as folding 400 MB of updates). */
  private readonly results: Float32Array[];
  private decided: Decision[] = [];
  private offered: number[] = [];

  constructor(readonly name: string, private readonly ctx: AggregatorContext, private readonly clipNorm: number | null) {
    this.means = ctx.vectorNames.map(() => new StreamingMean(ctx.numParams, { threads: ctx.threads ?? 1 }));
    this.results = ctx.vectorNames.map(() => new Float32Array(ctx.numParams));
  }

  begin(): void {
    for (const m of this.means) m.reset();
    this.decided = [];
    this.offered = [];
  }

  add(input: AggregatorInput): Decision[] {
    const bad = checkInput(this.name, input, this.ctx);
    if (bad) return this.decideNow(input.tag, bad);
    let scale = 1;
    if (this.clipNorm !== null) {
      // the norm pass reads the delta once more (norm-clip reads each delta twice; its extras once)
      const norm = Math.sqrt(aggregateOps().sumSquares(input.vectors.delta));
      if (!Number.isFinite(norm)) return this.decideNow(input.tag, 'delta has a non-finite value or norm');
      if (norm > this.clipNorm) scale = this.clipNorm / norm;
    }
    if (this.means[0].waitingCount === this.means[0].pending) this.fold();
    this.means.forEach((m, i) => m.add(input.vectors[this.ctx.vectorNames[i]], input.weight, input.tag, i === 0 ? scale : 1));
    this.offered.push(input.tag);
    return this.take();
  }

  finish(): { decisions: Decision[]; aggregate: Aggregate | null } {
    const delta = this.means[0];
    const vectors: Record<string, Float32Array> = {};
    this.ctx.vectorNames.forEach((n, i) => (vectors[n] = this.results[i]));
    // the common case, every waiting update good: the last group goes straight into the results
    if (this.means.every((m, i) => m.resultWithWaiting(this.results[i]))) {
      const aggregate = { vectors, participants: delta.count + delta.waitingCount, totalWeight: delta.weightWithWaiting };
      for (const tag of this.offered) this.decided.push({ tag, rejected: null });
      this.offered = [];
      return { decisions: this.take(), aggregate };
    }
    this.fold();
    const decisions = this.take();
    if (delta.count === 0) return { decisions, aggregate: null };
    this.means.forEach((m, i) => m.result(this.results[i]));
    return { decisions, aggregate: { vectors, participants: delta.count, totalWeight: delta.weight } };
  }

  private decideNow(tag: number, reason: string): Decision[] {
    // an update refused before folding is decided after every earlier one still waiting (offer order)
    this.fold();
    this.decided.push({ tag, rejected: reason });
    return this.take();
  }

  private fold(): void {
    const rejected = new Map(flushTogether(this.means).map((r) => [r.tag, r.reason]));
    for (const tag of this.offered) this.decided.push({ tag, rejected: rejected.get(tag) ?? null });
    this.offered = [];
  }

  private take(): Decision[] {
    const d = this.decided;
    this.decided = [];
    return d;
  }
}

registerAggregator({
  name: 'mean',
  description: 'weighted mean (FedAvg), streamed: O(P) memory, each update read once',
  keepsAllUpdates: false,
  params: [],
  check() {},
  create: (_spec, ctx) => new StreamingAggregator('mean', ctx, null),
});

registerAggregator({
  name: 'norm-clip',
  description: 'weighted mean of deltas clipped to L2 norm --clip-norm C (Sun et al. 2019), streamed: O(P) memory',
  keepsAllUpdates: false,
  params: ['clipNorm'],
  check(spec) {
    if (spec.clipNorm === undefined) throw new Error('aggregator norm-clip needs --clip-norm C (the maximum L2 norm of a delta)');
    if (!(spec.clipNorm > 0) || !Number.isFinite(spec.clipNorm)) throw new Error(`aggregator norm-clip: --clip-norm must be a positive number, got ${spec.clipNorm}`);
  },
  create: (spec, ctx) => new StreamingAggregator('norm-clip', ctx, spec.clipNorm!),
});
