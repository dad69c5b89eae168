// Reference losses with their gradients: softmax cross-entropy and BCE with logits (mean reduction).
import type { FloatArray } from '../kernels.js';

/** logits[N,C], targets[N] → mean cross-entropy; probs[N,C] = row softmax. */
export function crossEntropyForward(logits: FloatArray, targets: Int32Array, probs: FloatArray, N: number, C: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[row + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += probs[row + c] = Math.exp(logits[row + c] - m);
    for (let c = 0; c < C; c++) probs[row + c] /= s;
    total += m + Math.log(s) - logits[row + targets[n]];
  }
  return total / N;
}

/** gx[N,C] = (probs − onehot(targets))·scale. */
export function crossEntropyBackward(probs: FloatArray, targets: Int32Array, scale: number, gx: FloatArray, N: number, C: number): void {
  for (let i = 0; i < N * C; i++) gx[i] = probs[i] * scale;
  for (let n = 0; n < N; n++) gx[n * C + targets[n]] -= scale;
}

/** Mean of max(x,0) − x·y + log1p(exp(−|x|)) over [n]. */
export function bceWithLogitsForward(x: FloatArray, y: FloatArray, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    total += Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return total / n;
}

/** gx[n] = (σ(x) − y)·scale. */
export function bceWithLogitsBackward(x: FloatArray, y: FloatArray, scale: number, gx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const sig = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    gx[i] = (sig - y[i]) * scale;
  }
}
