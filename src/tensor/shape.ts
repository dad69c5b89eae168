// Shape arithmetic shared by the ops: sizes, broadcasting, axis normalisation.
import type { FloatArray } from '../backend/kernels.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Resolves a possibly negative axis against a rank, or throws naming the op. */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) {
    throw new Error(`${op}: axis ${axis} out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${shapeString(a)} and ${shapeString(b)} cannot be broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Splits a shape around one axis: [outer, n, inner]. */
export function aroundAxis(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

/**
 * For an input of shape `inShape` broadcast to `outShape`, the input's flat index of every output element.
 * Returns null when no mapping is needed (same shape).
 */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array | null {
  if (sameShape(inShape, outShape)) return null;
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const o = rank - inShape.length + i;
    strides[o] = inShape[i] === 1 ? 0 : s;
    s *= inShape[i];
  }
  const total = numel(outShape);
  const map = new Int32Array(total);
  const counter = new Array<number>(rank).fill(0);
  let idx = 0;
  for (let flat = 0; flat < total; flat++) {
    map[flat] = idx;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      idx += strides[d];
      if (counter[d] < outShape[d]) break;
      idx -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return map;
}

/** Sums a gradient of shape `outShape` down to the broadcast input's shape `inShape`. */
export function reduceToShape(g: FloatArray, outShape: Shape, inShape: Shape): FloatArray {
  const map = broadcastIndex(inShape, outShape);
  if (!map) return g;
  const r = new (g.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(numel(inShape));
  for (let i = 0; i < map.length; i++) r[map[i]] += g[i];
  return r;
}
