// Weighted mean of client updates folded in as they arrive, in O(P) memory.
//
// Precision: a float64 accumulator (acc[i] += w·u[i], in arrival order), so N updates carry at most
// ~N·2⁻⁵³·Σ|w·u| rounding error before the one final rounding to float32 (test/aggregate.test.ts checks
// 10,000 updates against an exact sum: within ½ ulp of float32 + 10⁴·2⁻⁵³·Σ|w·u|/Σw).
// Bandwidth: a float64 read-modify-write costs 16 B per 4 B of update, so add() copies each update into one
// of `pending` float32 slots (default 4; the copy doubles as the NaN/Inf scan) and every `pending` updates
// are folded in one pass over P-tiles: the accumulator is then read and written once per `pending` updates,
// and the additions per element still happen in arrival order (bit-identical to folding one at a time).
// Memory: P·8 (accumulator) + pending·P·4 bytes, whatever the number of updates. Measured (BENCHMARKS.md):
// about 0.5–0.6 of a read-only pass over the same bytes on one thread, short of the 0.85 target.
// Threads (native ops only): `threads` > 1 splits P across that many threads in every copy and fold
// (element-wise, so the result has the same bits for any thread count).
import type { AggregateOps } from './ops.js';
import { aggregateOps } from './ops.js';

export interface StreamingMeanOptions {
  /** Updates buffered before a fold (1–16, default 4). */
  pending?: number;
  /** Which implementation runs (default: the active backend's). */
  ops?: AggregateOps;
  /** Threads that share P in the native copy/fold passes (1–64, default 1; the TypeScript ops use one). */
  threads?: number;
}

export class StreamingMean {
  readonly size: number;
  private readonly ops: AggregateOps;
  private readonly acc: Float64Array;
  private readonly slots: Float32Array[];
  private readonly slotWeights: Float64Array;
  private readonly threads: number;
  private filled = 0;
  private totalWeight = 0;
  private added = 0;

  constructor(size: number, options: StreamingMeanOptions = {}) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`StreamingMean: size must be a non-negative integer, got ${size}`);
    const pending = options.pending ?? 4;
    if (!Number.isInteger(pending) || pending < 1 || pending > 16) {
      throw new Error(`StreamingMean: pending must be an integer in 1..16, got ${pending}`);
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new Error(`StreamingMean: threads must be an integer in 1..64, got ${threads}`);
    }
    this.threads = threads;
    this.size = size;
    this.ops = options.ops ?? aggregateOps();
    this.acc = new Float64Array(size);
    this.slots = Array.from({ length: pending }, () => new Float32Array(size));
    this.slotWeights = new Float64Array(pending);
  }

  /** Number of updates accepted since construction or reset(). */
  get count(): number {
    return this.added;
  }

  /** Sum of the accepted updates' weights. */
  get weight(): number {
    return this.totalWeight;
  }

  /**
   * Folds update[P] in with weight w > 0. An update with an Inf or NaN (or the wrong length, or a bad
   * weight) is rejected with an error and leaves the mean unchanged. The caller may reuse `update` at once.
   */
  add(update: Float32Array, weight = 1): void {
    if (!(update instanceof Float32Array)) throw new Error('StreamingMean.add: update must be a Float32Array');
    if (update.length !== this.size) {
      throw new Error(`StreamingMean.add: update has ${update.length} values, expected ${this.size}`);
    }
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new Error(`StreamingMean.add: weight must be a positive finite number, got ${weight}`);
    }
    const slot = this.slots[this.filled];
    const bad = this.ops.copyCheck(update, slot, this.threads);
    if (bad >= 0) {
      throw new Error(`StreamingMean.add: update has a non-finite value (${update[bad]}) at index ${bad}; rejected`);
    }
    this.slotWeights[this.filled] = weight;
    this.filled++;
    this.totalWeight += weight;
    this.added++;
    if (this.filled === this.slots.length) this.flush();
  }

  /** out[P] = Σ w·u / Σ w (float32); throws if nothing was added. */
  result(out: Float32Array = new Float32Array(this.size)): Float32Array {
    if (this.added === 0) throw new Error('StreamingMean.result: no updates were added');
    if (out.length < this.size) throw new Error(`StreamingMean.result: out has ${out.length} values, needs ${this.size}`);
    this.flush();
    this.ops.finishMean(this.acc, this.totalWeight, out, this.threads);
    return out;
  }

  /** Back to no updates (buffers are kept). */
  reset(): void {
    this.acc.fill(0);
    this.filled = 0;
    this.totalWeight = 0;
    this.added = 0;
  }

  private flush(): void {
    if (this.filled === 0) return;
    this.ops.fold(this.acc, this.slots, this.slotWeights, this.filled, this.threads);
    this.filled = 0;
  }
}
