// Step arenas: the float32 buffers that one training step allocates (activations, saved tensors, gradients,
// dropout masks), carved from one block that is reused every step instead of allocated and collected.
//
// Inside `withArena(arena, fn)` every float32 `allocFloat` takes the next zeroed slice of the arena's block;
// when the block is too small (the first step, or a larger batch), the slice is allocated as before and the
// block grows to the step's total at the next `withArena`. So after one step of a given shape the step
// allocates no float buffers. Everything taken is reused by the next step on the same arena: only code whose
// results do not outlive the step (a loss and gradients folded into persistent buffers) may run in one.
// Float64 (gradient checks) and persistent buffers (parameters, optimizer state, tensors made by the
// Tensor constructors) never come from an arena.

/** Slices are aligned to 16 floats (64 bytes), the widest vector the kernels load. */
const ALIGN = 16;

export class Arena {
  private block = new Float32Array(0);
  private used = 0;
  /** Floats the current step asked for (aligned), which sizes the block for the next one. */
  private demand = 0;
  /** The same for int32 index buffers (max-pooling argmax). */
  private indexBlock = new Int32Array(0);
  private indexUsed = 0;
  private indexDemand = 0;

  /** Floats in the block. */
  get capacity(): number {
    return this.block.length;
  }

  /** A float32 buffer of n elements (zeroed unless `zero` is false), valid until the arena's next step. */
  take(n: number, zero = true): Float32Array {
    const size = Math.ceil(n / ALIGN) * ALIGN;
    this.demand += size;
    if (this.used + size > this.block.length) return new Float32Array(n);
    const slice = this.block.subarray(this.used, this.used + n);
    if (zero) slice.fill(0);
    this.used += size;
    return slice;
  }

  /** An int32 buffer of n elements for a kernel to overwrite (not zeroed), valid until the arena's next step. */
  takeIndices(n: number): Int32Array {
    const size = Math.ceil(n / ALIGN) * ALIGN;
    this.indexDemand += size;
    if (this.indexUsed + size > this.indexBlock.length) return new Int32Array(n);
    const slice = this.indexBlock.subarray(this.indexUsed, this.indexUsed + n);
    this.indexUsed += size;
    return slice;
  }

  /** Starts a step: everything taken before is free again; grows the blocks to the last step's demand. */
  reset(): void {
    if (this.demand > this.block.length) this.block = new Float32Array(this.demand);
    if (this.indexDemand > this.indexBlock.length) this.indexBlock = new Int32Array(this.indexDemand);
    this.used = 0;
    this.demand = 0;
    this.indexUsed = 0;
    this.indexDemand = 0;
  }
}

let active: Arena | null = null;

/** The arena allocations come from now, or null. */
export function activeArena(): Arena | null {
  return active;
}

/** Runs one step with its float32 buffers taken from `arena` (reset first). Steps do not nest. */
export function withArena<T>(arena: Arena, fn: () => T): T {
  if (active) throw new Error('withArena: a step arena is already active');
  arena.reset();
  active = arena;
  try {
    return fn();
  } finally {
    active = null;
  }
}
