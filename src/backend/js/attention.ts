// Reference FedMultimodal fuse_base attention (scoring MLP, masked softmax over time, weighted sum),
// forward and backward, over the reference linear kernels.
import { ATTENTION_MASKED_SCORE, type AttentionDims, type FloatArray } from '../kernels.js';
import { linearBackward, linearForward } from './linear.js';

function like(a: FloatArray, n: number): FloatArray {
  return a instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** h[B,T,D], mask[B,T] → u[B,T,hidden] (null: forward only, u goes to a scratch buffer), a[B,heads,T], out[B,heads·D]. */
export function attentionFusionForward(h: FloatArray, mask: FloatArray, w1: FloatArray, b1: FloatArray | null, w2: FloatArray,
  b2: FloatArray | null, uOut: FloatArray | null, a: FloatArray, out: FloatArray, d: AttentionDims): void {
  const { B, T, D, hidden, heads } = d;
  const rows = B * T;
  const u = uOut ?? like(a, rows * hidden);
  linearForward(h, w1, b1, 'tanh', null, u, u, rows, hidden, D);
  const s = like(a, rows * heads);
  linearForward(u, w2, b2, 'none', null, s, s, rows, heads, hidden);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < heads; k++) {
      const ak = (b * heads + k) * T;
      let m = -Infinity;
      for (let t = 0; t < T; t++) {
        const v = mask[b * T + t] === 0 ? ATTENTION_MASKED_SCORE : s[(b * T + t) * heads + k];
        a[ak + t] = v;
        m = Math.max(m, v);
      }
      let sum = 0;
      for (let t = 0; t < T; t++) sum += Math.exp(a[ak + t] - m);
      const lse = Math.log(sum);
      for (let t = 0; t < T; t++) a[ak + t] = Math.exp(a[ak + t] - m - lse);
      const o = (b * heads + k) * D;
      for (let j = 0; j < D; j++) {
        let acc = 0;
        for (let t = 0; t < T; t++) acc += a[ak + t] * h[(b * T + t) * D + j];
        out[o + j] = acc;
      }
    }
  }
}

/** gOut[B,heads·D] → gh[B,T,D], gw1[hidden,D], gb1[hidden], gw2[heads,hidden], gb2[heads] (each optional). */
export function attentionFusionBackward(h: FloatArray, mask: FloatArray, w1: FloatArray, w2: FloatArray, u: FloatArray, a: FloatArray,
  gOut: FloatArray, gh: FloatArray | null, gw1: FloatArray | null, gb1: FloatArray | null, gw2: FloatArray | null,
  gb2: FloatArray | null, d: AttentionDims): void {
  const { B, T, D, hidden, heads } = d;
  const rows = B * T;
  // Through the weighted sum: gA[b,k,t] = gOut[b,k,:]·h[b,t,:]; gh[b,t,:] = Σ_k a[b,k,t]·gOut[b,k,:].
  // Through the softmax: gS[b,t,k] = a·(gA − Σ_t a·gA), 0 at masked steps (masked_fill passes no gradient).
  const gS = like(gOut, rows * heads);
  const ghDirect = like(gOut, rows * D);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < heads; k++) {
      const ak = (b * heads + k) * T;
      const go = (b * heads + k) * D;
      let dot = 0;
      const gA = like(gOut, T);
      for (let t = 0; t < T; t++) {
        let acc = 0;
        const hr = (b * T + t) * D;
        for (let j = 0; j < D; j++) {
          acc += gOut[go + j] * h[hr + j];
          ghDirect[hr + j] += a[ak + t] * gOut[go + j];
        }
        gA[t] = acc;
        dot += a[ak + t] * acc;
      }
      for (let t = 0; t < T; t++) gS[(b * T + t) * heads + k] = mask[b * T + t] === 0 ? 0 : a[ak + t] * (gA[t] - dot);
    }
  }
  // Through the scoring MLP: s = u·w2ᵀ + b2, u = tanh(h·w1ᵀ + b1).
  const gu = like(gOut, rows * hidden);
  linearBackward(u, w2, gS, 'none', null, gS, gu, gw2, gb2, rows, heads, hidden);
  const ghMlp = gh ? like(gOut, rows * D) : null;
  linearBackward(h, w1, u, 'tanh', null, gu, ghMlp, gw1, gb1, rows, hidden, D);
  if (gh && ghMlp) for (let i = 0; i < rows * D; i++) gh[i] = ghDirect[i] + ghMlp[i];
}
