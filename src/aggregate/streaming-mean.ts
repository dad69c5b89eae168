// Weighted mean of client updates folded in as they arrive, in O(P) memory, reading each update once.
//
// Precision: a float64 accumulator (acc[i] += c·u[i], in add order), so N updates carry at most
// ~N·2⁻⁵³·Σ|c·u| rounding error before the one final rounding to float32 (test/aggregate.test.ts checks
// 10,000 updates against an exact sum).
//
// Bandwidth: add() only validates the length and the weight and keeps a REFERENCE to the update (no copy).
// Every `pending` updates (and at flush()/result()) the group is folded in one pass: accOut = accIn + Σ c·u,
// 64 outputs at a time in registers while every update of the group is added, so each update is read from
// memory once and the float64 accumulator (16 B of traffic per element) once per group, not once per update.
// The NaN/Inf check rides on that pass: an Inf/NaN in any c·u makes the output non-finite, which costs one
// subtraction per OUTPUT element. The accumulator is double-buffered (accIn is kept until the group is
// accepted), so when a group turns out non-finite — rare — the slow path finds the bad update(s) and refolds
// the group without them from the untouched accIn: a rejected update leaves the mean exactly (bit for bit) as
// if it had never been added, at the cost of one extra pass only when an update is actually bad.
// The first group after construction or reset() reads no accumulator (its sums start from zero), reset()
// writes nothing, and resultWithWaiting() folds the last group straight into the float32 mean (its sums are
// neither stored nor read back; flush() + result() only when that group holds a bad update): a round of n
// groups moves the K·P·4 bytes of its updates, 16·P·(n − 1) of accumulator and 4·P of mean.
// Memory: P·16 bytes (two accumulators) + the references to at most `pending` waiting updates.
// Threads (native ops only): `threads` > 1 splits P across that many threads in every fold (element-wise, so
// the bits are the same for any thread count).
import type { AggregateOps } from './ops.js';
import { aggregateOps } from './ops.js';

export interface StreamingMeanOptions {
  /** Updates held (by reference) before a fold: 1–32, default 8. */
  pending?: number;
  /** Which implementation runs (default: the active backend's). */
  ops?: AggregateOps;
  /** Threads that share P in the native fold (1–64, default 1; the TypeScript ops use one). */
  threads?: number;
}

/** An update refused when its group was folded: the tag given to add() and a one-line reason. */
export interface Rejection {
  readonly tag: number;
  readonly reason: string;
}

export class StreamingMean {
  readonly size: number;
  readonly pending: number;
  private readonly ops: AggregateOps;
  private readonly threads: number;
  /** accumulated sums (accepted updates only; stale, and never read, while none is accepted) and the group fold's output */
  private acc: Float64Array;
  private next: Float64Array;
  private readonly waiting: Float32Array[] = [];
  private readonly waitingWeights: number[] = [];
  private readonly waitingTags: number[] = [];
  private readonly coefficients: Float64Array;
  private rejections: Rejection[] = [];
  private totalWeight = 0;
  private accepted = 0;
  private offered = 0;

  constructor(size: number, options: StreamingMeanOptions = {}) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`StreamingMean: size must be a non-negative integer, got ${size}`);
    const pending = options.pending ?? 8;
    if (!Number.isInteger(pending) || pending < 1 || pending > 32) {
      throw new Error(`StreamingMean: pending must be an integer in 1..32, got ${pending}`);
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new Error(`StreamingMean: threads must be an integer in 1..64, got ${threads}`);
    }
    this.size = size;
    this.pending = pending;
    this.threads = threads;
    this.ops = options.ops ?? aggregateOps();
    this.acc = new Float64Array(size);
    this.next = new Float64Array(size);
    this.coefficients = new Float64Array(pending);
  }

  /** Updates accepted (folded without error) since construction or reset(); waiting ones are not counted. */
  get count(): number {
    return this.accepted;
  }

  /** Sum of the accepted updates' weights. */
  get weight(): number {
    return this.totalWeight;
  }

  /** Updates added but not folded yet. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Queues update[P] with weight w > 0 (the mean is Σ w·u / Σ w). A wrong length or weight is refused here
   * with an error; the values are checked when the group is folded, and an update with an Inf or NaN is then
   * rejected (see flush()) and leaves the mean exactly as if it had never been added.
   * The mean keeps a reference to `update` until it is folded: do not modify it before the next flush() or
   * result(). `tag` names the update in rejections (default: its position among all add() calls).
   * `scale` (default 1) multiplies the update's values but not its weight: Σ w·s·u / Σ w (norm clipping).
   */
  add(update: Float32Array, weight = 1, tag = this.offered, scale = 1): void {
    if (!(update instanceof Float32Array)) throw new Error('StreamingMean.add: update must be a Float32Array');
    if (update.length !== this.size) {
      throw new Error(`StreamingMean.add: update has ${update.length} values, expected ${this.size}`);
    }
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new Error(`StreamingMean.add: weight must be a positive finite number, got ${weight}`);
    }
    if (!(scale >= 0) || !Number.isFinite(scale)) throw new Error(`StreamingMean.add: scale must be a finite number ≥ 0, got ${scale}`);
    if (this.waiting.length === this.pending) this.rejections.push(...flushTogether([this]));
    this.offered++;
    this.waiting.push(update);
    this.waitingWeights.push(weight);
    this.coefficients[this.waiting.length - 1] = weight * scale;
    this.waitingTags.push(tag);
  }

  /**
   * Folds the waiting updates; returns every rejection since the last flush() (in add order), including
   * those of groups folded when add() found the group full.
   */
  flush(): Rejection[] {
    const found = [...this.rejections, ...flushTogether([this])];
    this.rejections = [];
    return found;
  }

  /** out[P] = Σ w·u / Σ w over the accepted updates (float32); flushes first (its rejections stay for flush()). */
  result(out: Float32Array = new Float32Array(this.size)): Float32Array {
    if (out.length < this.size) throw new Error(`StreamingMean.result: out has ${out.length} values, needs ${this.size}`);
    this.rejections.push(...flushTogether([this]));
    if (this.accepted === 0) throw new Error('StreamingMean.result: no updates were accepted');
    this.ops.finishMean(this.acc, this.totalWeight, out, this.threads);
    return out;
  }

  /** weight once every waiting update is accepted (added one by one, as folding them adds them: the same bits). */
  get weightWithWaiting(): number {
    let w = this.totalWeight;
    for (const x of this.waitingWeights) w += x;
    return w;
  }

  /**
   * out[P] = the mean of the accepted and the waiting updates in one pass that folds the waiting group
   * without writing the accumulator (a round's last group is then read once and its sums never stored): the
   * bits flush() then result() give when no waiting update is bad. Returns false when some waiting update is
   * bad (out is then garbage: use flush() and result()) and when no update is waiting.
   * The mean itself is left as it was, waiting group included: reset() before adding to it again.
   */
  resultWithWaiting(out: Float32Array): boolean {
    if (out.length < this.size) throw new Error(`StreamingMean.resultWithWaiting: out has ${out.length} values, needs ${this.size}`);
    const G = this.waiting.length;
    if (G === 0) return false;
    const W = this.weightWithWaiting;
    return this.ops.foldFinish(this.accepted === 0 ? null : this.acc, this.waiting, this.coefficients, G, W, out, this.threads);
  }

  /** Back to no updates (buffers are kept; waiting updates and unreported rejections are dropped). */
  reset(): void {
    this.waiting.length = 0;
    this.waitingWeights.length = 0;
    this.waitingTags.length = 0;
    this.rejections = [];
    this.totalWeight = 0;
    this.accepted = 0;
    this.offered = 0;
  }

  /** The waiting updates' tags, in add order (for flushTogether). */
  waitingTagList(): readonly number[] {
    return this.waitingTags;
  }

  /**
   * Folds the waiting group minus `excluded` (tags) into the spare accumulator; returns the tags it finds bad
   * (with reasons), empty when the fold is good and ready to commit(). Not committed: the mean is unchanged.
   */
  stageGroup(excluded: ReadonlySet<number>): Map<number, string> {
    const bad = new Map<number, string>();
    const idx = this.waiting.flatMap((_, g) => (excluded.has(this.waitingTags[g]) ? [] : [g]));
    if (this.foldIndices(idx)) return bad;
    // Slow path (some product was Inf/NaN): name the updates holding a non-finite value …
    for (const g of idx) {
      const at = this.ops.findNonFinite(this.waiting[g]);
      if (at >= 0) bad.set(this.waitingTags[g], `non-finite value (${this.waiting[g][at]}) at index ${at}`);
    }
    if (bad.size > 0) return bad;
    // … or, all values being finite, the first update whose weighted values overflow float64 when folded.
    for (let n = 1; n <= idx.length; n++) {
      if (!this.foldIndices(idx.slice(0, n))) {
        bad.set(this.waitingTags[idx[n - 1]], `weighted values overflow float64 (weight ${this.waitingWeights[idx[n - 1]]})`);
        return bad;
      }
    }
    throw new Error('StreamingMean: a non-finite group fold had no bad update (unreachable)');
  }

  /** Makes the staged fold (without `excluded`) the mean, and empties the group. */
  commitGroup(excluded: ReadonlySet<number>): void {
    this.waiting.forEach((_, g) => {
      if (excluded.has(this.waitingTags[g])) return;
      this.totalWeight += this.waitingWeights[g];
      this.accepted++;
    });
    if (this.waitingTags.some((t) => !excluded.has(t))) [this.acc, this.next] = [this.next, this.acc];
    this.waiting.length = 0;
    this.waitingWeights.length = 0;
    this.waitingTags.length = 0;
  }

  /** next = acc + Σ_{g ∈ idx} c_g·u_g (from zero, acc unread, while no update is accepted); true iff finite. */
  private foldIndices(idx: readonly number[]): boolean {
    const ups = idx.map((g) => this.waiting[g]);
    const c = Float64Array.from(idx, (g) => this.coefficients[g]);
    return this.ops.foldGroup(this.accepted === 0 ? null : this.acc, this.next, ups, c, ups.length, this.threads);
  }
}

/**
 * Folds the waiting groups of several means that accept or reject each update together (an update's delta
 * and its extras): an update found bad in any of them is excluded from all, and every mean is refolded from
 * its untouched accumulator without it. The means must hold the same tags in the same order. Returns the
 * rejections in add order.
 */
export function flushTogether(means: readonly StreamingMean[]): Rejection[] {
  if (means.length === 0) return [];
  const tags = [...means[0].waitingTagList()];
  if (tags.length === 0) return [];
  for (const m of means) {
    const t = m.waitingTagList();
    if (t.length !== tags.length || t.some((x, i) => x !== tags[i])) throw new Error('flushTogether: the means hold different updates');
  }
  const reasons = new Map<number, string>();
  for (;;) {
    let grew = false;
    for (const m of means) {
      for (const [tag, reason] of m.stageGroup(new Set(reasons.keys()))) {
        if (!reasons.has(tag)) {
          reasons.set(tag, reason);
          grew = true;
        }
      }
      if (grew) break;
    }
    if (!grew) break;
  }
  const excluded = new Set(reasons.keys());
  for (const m of means) m.commitGroup(excluded);
  return tags.filter((t) => reasons.has(t)).map((tag) => ({ tag, reason: reasons.get(tag)! }));
}
