// Folding client updates into the round's averages, independently of arrival order: updates are folded in
// the round's client order (ascending id) through a small reorder buffer, so a seed fixes the sums bit for
// bit whatever the number of workers or their timing. Sums are kept in float64 (src/aggregate's StreamingMean).
import { flushTogether, StreamingMean } from '../aggregate/streaming-mean.js';
import type { ClientUpdate, RoundMeans } from '../fl/strategy.js';

/** Weighted means of the delta and each extra: one StreamingMean (float64 sums) per vector. */
export class RoundAccumulator {
  private readonly delta: StreamingMean;
  private readonly extras: Record<string, StreamingMean> = {};

  constructor(readonly numParams: number, readonly extraNames: readonly string[]) {
    this.delta = new StreamingMean(numParams);
    for (const n of extraNames) this.extras[n] = new StreamingMean(numParams);
  }

  add(u: ClientUpdate, w: number): void {
    if (this.delta.waitingCount === this.delta.pending) this.flush();
    this.delta.add(u.delta, w);
    for (const n of this.extraNames) this.extras[n].add(u.extras[n], w);
  }

  /** Updates accepted so far (folds the waiting ones first; the decoder has already refused non-finite ones). */
  get participants(): number {
    this.flush();
    return this.delta.count;
  }

  private flush(): void {
    const rejected = flushTogether([this.delta, ...this.extraNames.map((n) => this.extras[n])]);
    if (rejected.length > 0) throw new Error(`round fold: update ${rejected[0].tag} rejected after decoding: ${rejected[0].reason}`);
  }

  means(): RoundMeans {
    this.flush();
    const extras: Record<string, Float32Array> = {};
    for (const n of this.extraNames) extras[n] = this.extras[n].result();
    return { delta: this.delta.result(), extras, participants: this.delta.count, totalWeight: this.delta.weight };
  }
}

/**
 * Reorder buffer over slots 0..n-1 (the round's clients in id order): deliver(i, x) in any order; `fold`
 * sees every delivered value in slot order, and null for a slot whose client failed.
 */
export class ReorderBuffer<T> {
  private readonly pending = new Map<number, T | null>();
  private next = 0;

  constructor(readonly size: number, private readonly fold: (slot: number, value: T | null) => void) {}

  deliver(slot: number, value: T | null): void {
    if (slot < this.next || this.pending.has(slot) || slot >= this.size) throw new Error(`reorder buffer: slot ${slot} delivered twice or out of range`);
    this.pending.set(slot, value);
    while (this.pending.has(this.next)) {
      const v = this.pending.get(this.next)!;
      this.pending.delete(this.next);
      this.fold(this.next++, v);
    }
  }

  /** Slots folded so far (every slot below this one). */
  get cursor(): number {
    return this.next;
  }

  /** Values waiting for an earlier slot. */
  get buffered(): number {
    return this.pending.size;
  }
}
