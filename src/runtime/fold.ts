// Folding client updates in the round's client order (ascending id) through a small reorder buffer, so a seed
// fixes the aggregate bit for bit whatever the number of workers or their timing.
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
