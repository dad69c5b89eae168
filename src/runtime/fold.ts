// Folding client updates into the round's averages, independently of arrival order: updates are folded in
// the round's client order (ascending id) through a small reorder buffer, so a seed fixes the sums bit for
// bit whatever the number of workers or their timing. Sums are kept in float64.
import type { ClientUpdate, RoundMeans } from '../fl/strategy.js';

/** Σ wᵢ·xᵢ and Σ wᵢ for the delta and each extra, in float64. */
export class RoundAccumulator {
  private readonly delta: Float64Array;
  private readonly extras: Record<string, Float64Array> = {};
  private weight = 0;
  private count = 0;

  constructor(readonly numParams: number, readonly extraNames: readonly string[]) {
    this.delta = new Float64Array(numParams);
    for (const n of extraNames) this.extras[n] = new Float64Array(numParams);
  }

  add(u: ClientUpdate, w: number): void {
    if (!(w > 0 && Number.isFinite(w))) throw new Error(`aggregation: weight of client ${u.clientId} is ${w} (must be > 0)`);
    axpy(this.delta, w, u.delta);
    for (const n of this.extraNames) axpy(this.extras[n], w, u.extras[n]);
    this.weight += w;
    this.count++;
  }

  get participants(): number {
    return this.count;
  }

  means(): RoundMeans {
    if (this.count === 0) throw new Error('aggregation: no update to average');
    const inv = 1 / this.weight;
    const scale = (s: Float64Array) => {
      const out = new Float32Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = s[i] * inv;
      return out;
    };
    const extras: Record<string, Float32Array> = {};
    for (const n of this.extraNames) extras[n] = scale(this.extras[n]);
    return { delta: scale(this.delta), extras, participants: this.count, totalWeight: this.weight };
  }
}

function axpy(y: Float64Array, a: number, x: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
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
