import type { FloatArray } from '../kernels.js';

/**
 * Reference GEMM: c[M,N] = alpha · op(a)[M,K] · op(b)[K,N] + beta · c.
 * a is [M,K] ([K,M] if transA); b is [K,N] ([N,K] if transB).
 *
 * Both operands are first packed K-contiguous (ap[M,K] = op(a), bp[N,K] = op(b)ᵀ), so every output element
 * is one dot product over contiguous memory; 4×4 output blocks keep 16 sums in registers and load each
 * operand value once per 4 multiply-adds. Sums are accumulated in double precision (JS numbers).
 */
export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  a: FloatArray, b: FloatArray, beta: number, c: FloatArray): void {
  const ap = transA ? transposed(a, K, M) : a;
  const bp = transB ? b : transposed(b, K, N);
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    for (let j = 0; j < N4; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = ap[a0 + k], x1 = ap[a1 + k], x2 = ap[a2 + k], x3 = ap[a3 + k];
        const y0 = bp[b0 + k], y1 = bp[b1 + k], y2 = bp[b2 + k], y3 = bp[b3 + k];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      store(c, i * N + j, alpha, beta, c00, c01, c02, c03);
      store(c, (i + 1) * N + j, alpha, beta, c10, c11, c12, c13);
      store(c, (i + 2) * N + j, alpha, beta, c20, c21, c22, c23);
      store(c, (i + 3) * N + j, alpha, beta, c30, c31, c32, c33);
    }
  }
  // Edges: the last M % 4 rows (all columns) and the last N % 4 columns of the blocked rows.
  for (let i = 0; i < M; i++) {
    for (let j = i < M4 ? N4 : 0; j < N; j++) {
      const ai = i * K;
      const bj = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += ap[ai + k] * bp[bj + k];
      const o = i * N + j;
      c[o] = beta === 0 ? alpha * s : alpha * s + beta * c[o];
    }
  }
}

/** c[o..o+3] = alpha · (s0..s3) + beta · c (beta = 0 overwrites, ignoring NaN in c). */
function store(c: FloatArray, o: number, alpha: number, beta: number, s0: number, s1: number, s2: number, s3: number): void {
  if (beta === 0) {
    c[o] = alpha * s0;
    c[o + 1] = alpha * s1;
    c[o + 2] = alpha * s2;
    c[o + 3] = alpha * s3;
  } else {
    c[o] = alpha * s0 + beta * c[o];
    c[o + 1] = alpha * s1 + beta * c[o + 1];
    c[o + 2] = alpha * s2 + beta * c[o + 2];
    c[o + 3] = alpha * s3 + beta * c[o + 3];
  }
}

/** x[rows, cols] → xᵀ[cols, rows], in the same precision. */
function transposed(x: FloatArray, rows: number, cols: number): FloatArray {
  const t = new (x.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) t[q * rows + r] = x[r * cols + q];
  }
  return t;
}
