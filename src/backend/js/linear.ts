// Reference Linear → activation (→ dropout mask), forward and backward, over the reference GEMM.
import type { Activation, FloatArray } from '../kernels.js';
import { gemm } from './gemm.js';

/** y[M,N] = act(x[M,K] · w[N,K]ᵀ + bias[N]); out[M,N] = y ⊙ mask (mask null: out = y). */
export function linearForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, act: Activation, mask: FloatArray | null,
  y: FloatArray, out: FloatArray, M: number, N: number, K: number): void {
  if (bias) for (let m = 0; m < M; m++) y.set(bias.subarray(0, N), m * N);
  gemm(false, true, M, N, K, 1, x, w, bias ? 1 : 0, y);
  const n = M * N;
  if (act === 'relu') {
    for (let i = 0; i < n; i++) {
      const v = y[i];
      y[i] = v > 0 || v !== v ? v : 0;
    }
  } else if (act === 'tanh') {
    for (let i = 0; i < n; i++) y[i] = Math.tanh(y[i]);
  }
  if (mask) for (let i = 0; i < n; i++) out[i] = y[i] * mask[i];
  else if (out !== y) for (let i = 0; i < n; i++) out[i] = y[i];
}

/** gOut[M,N] → gx[M,K], gw[N,K], gBias[N] (each optional). */
export function linearBackward(x: FloatArray, w: FloatArray, y: FloatArray, act: Activation, mask: FloatArray | null,
  gOut: FloatArray, gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, M: number, N: number, K: number): void {
  const n = M * N;
  const gz = gOut instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let g = mask ? gOut[i] * mask[i] : gOut[i];
    if (act === 'relu') g = y[i] > 0 ? g : 0;
    else if (act === 'tanh') g *= 1 - y[i] * y[i];
    gz[i] = g;
  }
  if (gx) gemm(false, false, M, K, N, 1, gz, w, 0, gx);
  if (gw) gemm(true, false, N, K, M, 1, gz, x, 0, gw);
  if (gBias) {
    gBias.fill(0, 0, N);
    for (let m = 0; m < M; m++) for (let j = 0; j < N; j++) gBias[j] += gz[m * N + j];
  }
}
