import type { FloatArray } from '../kernels.js';

/**
 * Reference GEMM: c[M,N] = alpha · op(a)[M,K] · op(b)[K,N] + beta · c.
 * a is [M,K] ([K,M] if transA); b is [K,N] ([N,K] if transB). Loop orders keep the innermost loop
 * unit-stride where the layout allows it.
 */
export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  a: FloatArray, b: FloatArray, beta: number, c: FloatArray): void {
  if (beta === 0) c.fill(0, 0, M * N);
  else if (beta !== 1) for (let i = 0; i < M * N; i++) c[i] *= beta;
  if (!transB) {
    // c[i,:] += (alpha·a[i,k]) · b[k,:]
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let k = 0; k < K; k++) {
        const aik = alpha * (transA ? a[k * M + i] : a[i * K + k]);
        const bk = k * N;
        for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
      }
    }
  } else {
    // c[i,j] += alpha · dot(a[i,:], b[j,:])
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        if (transA) for (let k = 0; k < K; k++) s += a[k * M + i] * b[bj + k];
        else {
          const ai = i * K;
          for (let k = 0; k < K; k++) s += a[ai + k] * b[bj + k];
        }
        c[ci + j] += alpha * s;
      }
    }
  }
}
