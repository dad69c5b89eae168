// Softmax and log-softmax along an axis, fused (max-shifted for stability) with hand-written backward.
// Fused rather than composed from exp/sum/div: it is numerically stable and makes one pass instead of five.
import { addGrad, allocFloat, makeOutput, Tensor } from '../tensor.js';
import { aroundAxis, normAxis } from '../shape.js';

/** For each [o, ·, i] line of x viewed as [outer, n, inner]: its max and log Σ exp(x − max). */
function lineStats(x: Tensor["data"], n: number, inner: number, o: number, i: number): [number, number] {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, x[(o * n + k) * inner + i]);
  if (m === -Infinity) m = 0; // an all −∞ line then yields NaN, as in PyTorch
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(x[(o * n + k) * inner + i] - m);
  return [m, Math.log(s)];
}

/** y = exp(x − max) / Σ exp(x − max); dx = y ⊙ (g − Σ g ⊙ y). */
export function softmax(t: Tensor, axis = -1): Tensor {
  const ax = normAxis(axis, t.ndim, 'softmax');
  const [outer, n, inner] = aroundAxis(t.shape, ax);
  const x = t.data;
  const y = allocFloat(t.dtype, x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const [m, lse] = lineStats(x, n, inner, o, i);
      for (let k = 0; k < n; k++) {
        const j = (o * n + k) * inner + i;
        y[j] = Math.exp(x[j] - m - lse);
      }
    }
  }
  return makeOutput(y, t.shape, [t], (g) => {
    const ga = allocFloat(t.dtype, x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let dot = 0;
        for (let k = 0; k < n; k++) {
          const j = (o * n + k) * inner + i;
          dot += g[j] * y[j];
        }
        for (let k = 0; k < n; k++) {
          const j = (o * n + k) * inner + i;
          ga[j] = y[j] * (g[j] - dot);
        }
      }
    }
    addGrad(t, ga, true);
  });
}

/** y = x − max − log Σ exp(x − max); dx = g − softmax(x) · Σ g. */
export function logSoftmax(t: Tensor, axis = -1): Tensor {
  const ax = normAxis(axis, t.ndim, 'logSoftmax');
  const [outer, n, inner] = aroundAxis(t.shape, ax);
  const x = t.data;
  const y = allocFloat(t.dtype, x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const [m, lse] = lineStats(x, n, inner, o, i);
      for (let k = 0; k < n; k++) {
        const j = (o * n + k) * inner + i;
        y[j] = x[j] - m - lse;
      }
    }
  }
  return makeOutput(y, t.shape, [t], (g) => {
    const ga = allocFloat(t.dtype, x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let gs = 0;
        for (let k = 0; k < n; k++) gs += g[(o * n + k) * inner + i];
        for (let k = 0; k < n; k++) {
          const j = (o * n + k) * inner + i;
          ga[j] = g[j] - Math.exp(y[j]) * gs;
        }
      }
    }
    addGrad(t, ga, true);
  });
}
