import type { FloatArray } from '../kernels.js';

/** x[rows, L] → out[rows, Lout], argmax[rows, Lout]; Lout = floor((L − kernel) / stride) + 1. NaN wins. */
export function maxPool1dForward(x: FloatArray, out: FloatArray, argmax: Int32Array,
  rows: number, L: number, kernel: number, stride: number): void {
  const Lout = Math.floor((L - kernel) / stride) + 1;
  for (let r = 0; r < rows; r++) {
    const xr = r * L;
    const orow = r * Lout;
    for (let o = 0; o < Lout; o++) {
      const start = o * stride;
      let best = start;
      let bestValue = x[xr + start];
      for (let k = 1; k < kernel && !Number.isNaN(bestValue); k++) {
        const v = x[xr + start + k];
        if (v > bestValue || Number.isNaN(v)) {
          bestValue = v;
          best = start + k;
        }
      }
      out[orow + o] = bestValue;
      argmax[orow + o] = best;
    }
  }
}

/** gx[rows, L] = Σ over windows of gOut[rows, Lout] routed to each window's argmax. */
export function maxPool1dBackward(gOut: FloatArray, argmax: Int32Array, gx: FloatArray,
  rows: number, L: number, Lout: number): void {
  gx.fill(0, 0, rows * L);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < Lout; o++) gx[r * L + argmax[r * Lout + o]] += gOut[r * Lout + o];
  }
}
