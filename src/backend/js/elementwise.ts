// Reference flat-buffer elementwise kernels of a training step: gradient accumulation and the gradient norm's
// sum of squares (squaredNorm) and rescaling (clip_grad_norm_). The native addon runs the same arithmetic in the same order.
import type { FloatArray } from '../kernels.js';

/** acc[n] += g[n] (stored in acc's dtype). */
export function accumulate(acc: FloatArray, g: FloatArray): void {
  for (let i = 0; i < acc.length; i++) acc[i] += g[i];
}

/** Σ x[i]² in float64 over 8 partial sums (lane i mod 8 over whole blocks of 8, the tail into lane 0), combined as a tree. */
export function squaredNorm(x: FloatArray): number {
  const s = new Float64Array(8);
  const body = x.length & ~7;
  for (let i = 0; i < body; i++) s[i & 7] += x[i] * x[i];
  for (let i = body; i < x.length; i++) s[0] += x[i] * x[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/** x[n] *= s: for float32 x, s is rounded to float32 first and each product rounded to float32. */
export function scale(x: FloatArray, s: number): void {
  if (x instanceof Float64Array) {
    for (let i = 0; i < x.length; i++) x[i] *= s;
    return;
  }
  const sf = Math.fround(s);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i] * sf);
}
