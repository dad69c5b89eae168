import type { Conv1dDims, FloatArray } from '../kernels.js';

/**
 * The output steps lo whose input position lo·stride + k − padding falls inside [0, L): [first, last].
 * Iterating only these keeps the inner loops free of bounds tests (zero padding contributes nothing).
 */
function validRange(k: number, d: Conv1dDims): [number, number] {
  const shift = k - d.padding;
  const first = Math.max(0, Math.ceil(-shift / d.stride));
  const last = Math.min(d.Lout - 1, Math.floor((d.L - 1 - shift) / d.stride));
  return [first, last];
}

/**
 * Reference conv1d (cross-correlation, zero padding):
 * out[b,co,lo] = bias[co] + Σ_{ci,k} w[co,ci,k] · x[b,ci,lo·stride + k − padding].
 * x[B,Cin,L], w[Cout,Cin,K], bias[Cout] or null, out[B,Cout,Lout] (overwritten).
 */
export function conv1dForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, d: Conv1dDims): void {
  const { B, Cin, L, Cout, K, stride, padding, Lout } = d;
  for (let b = 0; b < B; b++) {
    for (let co = 0; co < Cout; co++) {
      const o = (b * Cout + co) * Lout;
      out.fill(bias ? bias[co] : 0, o, o + Lout);
      for (let ci = 0; ci < Cin; ci++) {
        const xi = (b * Cin + ci) * L;
        const wi = (co * Cin + ci) * K;
        for (let k = 0; k < K; k++) {
          const wk = w[wi + k];
          const [first, last] = validRange(k, d);
          let src = xi + first * stride + k - padding;
          for (let lo = first; lo <= last; lo++, src += stride) out[o + lo] += wk * x[src];
        }
      }
    }
  }
}

/**
 * Reference conv1d backward. Given gOut[B,Cout,Lout]:
 * gx[B,Cin,L] = Σ_{co,k} w[co,ci,k] · gOut[b,co,lo] at l = lo·stride + k − padding;
 * gw[Cout,Cin,K] = Σ_{b,lo} gOut[b,co,lo] · x[b,ci,lo·stride + k − padding];  gBias[Cout] = Σ_{b,lo} gOut[b,co,lo].
 * Each output is overwritten; null skips it.
 */
export function conv1dBackward(x: FloatArray, w: FloatArray, gOut: FloatArray,
  gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, d: Conv1dDims): void {
  const { B, Cin, L, Cout, K, stride, padding, Lout } = d;
  if (gx) gx.fill(0, 0, B * Cin * L);
  if (gw) gw.fill(0, 0, Cout * Cin * K);
  if (gBias) gBias.fill(0, 0, Cout);
  for (let b = 0; b < B; b++) {
    for (let co = 0; co < Cout; co++) {
      const o = (b * Cout + co) * Lout;
      if (gBias) {
        let s = 0;
        for (let lo = 0; lo < Lout; lo++) s += gOut[o + lo];
        gBias[co] += s;
      }
      for (let ci = 0; ci < Cin; ci++) {
        const xi = (b * Cin + ci) * L;
        const wi = (co * Cin + ci) * K;
        for (let k = 0; k < K; k++) {
          const [first, last] = validRange(k, d);
          const start = xi + first * stride + k - padding;
          if (gw) {
            let s = 0;
            for (let lo = first, src = start; lo <= last; lo++, src += stride) s += gOut[o + lo] * x[src];
            gw[wi + k] += s;
          }
          if (gx) {
            const wk = w[wi + k];
            for (let lo = first, dst = start; lo <= last; lo++, dst += stride) gx[dst] += wk * gOut[o + lo];
          }
        }
      }
    }
  }
}
