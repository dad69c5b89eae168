// Row plans for broadcasting binary ops.
//
// Two shapes broadcast to an output shape; adjacent axes along which both inputs behave alike (both
// broadcast, or both not) are merged, so the output is walked as rows of its last merged axis. Along a
// row each input advances with stride 1, or stride 0 where it is broadcast. Same-shape and scalar cases
// become one row; a bias [N] over [R, N] becomes R rows of N. Ops then run tight loops per row instead
// of one closure call or one index lookup per element.
import { broadcastShapes, numel, type Shape } from '../shape.js';

export interface RowPlan {
  /** Output shape. */
  shape: number[];
  /** Number of rows and their length: rows · n = numel(shape). */
  rows: number;
  n: number;
  /** Stride of each input along a row: 1, or 0 where it is broadcast. */
  aStride: number;
  bStride: number;
  /** Offset of each row's first element in each input. */
  aOffsets: Int32Array;
  bOffsets: Int32Array;
}

/** Merged axes: sizes, and per input the stride of each axis (0 where broadcast). */
function mergeAxes(a: Shape, b: Shape, out: Shape): { sizes: number[]; sa: number[]; sb: number[] } {
  const rank = out.length;
  const pad = (s: Shape) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(a);
  const pb = pad(b);
  const sizes: number[] = [];
  const bcastA: boolean[] = [];
  const bcastB: boolean[] = [];
  for (let d = 0; d < rank; d++) {
    if (out[d] === 1) continue;
    const ba = pa[d] === 1;
    const bb = pb[d] === 1;
    const last = sizes.length - 1;
    if (last >= 0 && bcastA[last] === ba && bcastB[last] === bb) sizes[last] *= out[d];
    else {
      sizes.push(out[d]);
      bcastA.push(ba);
      bcastB.push(bb);
    }
  }
  const strides = (bcast: boolean[]) => {
    const s = new Array<number>(sizes.length);
    let acc = 1;
    for (let d = sizes.length - 1; d >= 0; d--) {
      s[d] = bcast[d] ? 0 : acc;
      if (!bcast[d]) acc *= sizes[d];
    }
    return s;
  };
  return { sizes, sa: strides(bcastA), sb: strides(bcastB) };
}

export function rowPlan(a: Shape, b: Shape, op: string): RowPlan {
  const shape = broadcastShapes(a, b, op);
  const { sizes, sa, sb } = mergeAxes(a, b, shape);
  if (numel(shape) === 0) {
    return { shape, rows: 0, n: 0, aStride: 0, bStride: 0, aOffsets: new Int32Array(0), bOffsets: new Int32Array(0) };
  }
  if (sizes.length === 0) {
    // Every axis has size 1 (or the tensors are scalars): one row of one element.
    return { shape, rows: 1, n: 1, aStride: 0, bStride: 0, aOffsets: new Int32Array(1), bOffsets: new Int32Array(1) };
  }
  const last = sizes.length - 1;
  const n = sizes[last];
  const rows = numel(shape) / n;
  const aOffsets = new Int32Array(rows);
  const bOffsets = new Int32Array(rows);
  const counter = new Array<number>(last).fill(0);
  let oa = 0;
  let ob = 0;
  for (let r = 0; r < rows; r++) {
    aOffsets[r] = oa;
    bOffsets[r] = ob;
    for (let d = last - 1; d >= 0; d--) {
      counter[d]++;
      oa += sa[d];
      ob += sb[d];
      if (counter[d] < sizes[d]) break;
      oa -= sa[d] * counter[d];
      ob -= sb[d] * counter[d];
      counter[d] = 0;
    }
  }
  return { shape, rows, n, aStride: sa[last] === 0 ? 0 : 1, bStride: sb[last] === 0 ? 0 : 1, aOffsets, bOffsets };
}
