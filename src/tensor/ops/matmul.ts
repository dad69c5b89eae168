// Matrix product, batched, with transpose flags, through the backend's GEMM.
import type { FloatArray } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import { addGrad, allocFloat, allocKernelOutput, makeOutput, resultDtype, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';

export interface MatmulOptions {
  /** Use the transpose of a's last two axes. */
  transA?: boolean;
  /** Use the transpose of b's last two axes. */
  transB?: boolean;
}

/**
 * c[..., M, N] = op(a)[..., M, K] · op(b)[..., K, N]. Batch axes of a and b must be equal, or one of the
 * two is a plain matrix shared by every batch entry (a weight).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) {
    throw new Error(`matmul: operands need at least 2 axes, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) {
    throw new Error(`matmul: inner sizes differ: ${shapeString(a.shape)}${transA ? 'ᵀ' : ''} · ${shapeString(b.shape)}${transB ? 'ᵀ' : ''}`);
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const countA = batchA.reduce((p, d) => p * d, 1);
  const countB = batchB.reduce((p, d) => p * d, 1);
  let batch: number[];
  if (batchA.length && batchB.length) {
    if (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i])) {
      throw new Error(`matmul: batch axes differ: ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
    }
    batch = batchA;
  } else batch = batchA.length ? batchA : batchB;
  const count = Math.max(countA, countB);
  const sharedA = batchA.length === 0;
  const sharedB = batchB.length === 0;

  const dtype = resultDtype(a, b);
  const out = allocKernelOutput(dtype, count * M * N);
  const k = kernels();
  const x = a.data;
  const y = b.data;
  const sa = M * K;
  const sb = K * N;
  const sc = M * N;
  if (sharedB && !transA) {
    // A batch of row blocks against one matrix is a single GEMM of count·M rows.
    k.gemm(false, transB, count * M, N, K, 1, x, y, 0, out);
  } else {
    for (let i = 0; i < count; i++) {
      k.gemm(transA, transB, M, N, K, 1,
        sharedA ? x : x.subarray(i * sa, (i + 1) * sa),
        sharedB ? y : y.subarray(i * sb, (i + 1) * sb), 0, out.subarray(i * sc, (i + 1) * sc));
    }
  }

  // A shared operand's gradient is written by the first of `count` GEMMs (beta 0), so none must stay zero.
  const gradBuffer = count > 0 ? allocKernelOutput : allocFloat;
  return makeOutput(out, [...batch, M, N], [a, b], (g) => {
    const kb = kernels();
    if (a.requiresGrad) {
      const ga = gradBuffer(dtype, a.size);
      // d op(a) = g · op(b)ᵀ ; stored as a is: transA ⇒ da = op(b) · gᵀ.
      if (sharedB && !transA) kb.gemm(false, !transB, count * M, K, N, 1, g, y, 0, ga);
      else {
        for (let i = 0; i < count; i++) {
          const gi = g.subarray(i * sc, (i + 1) * sc);
          const bi = sharedB ? y : y.subarray(i * sb, (i + 1) * sb);
          const dst = sharedA ? ga : ga.subarray(i * sa, (i + 1) * sa);
          const beta = sharedA && i > 0 ? 1 : 0;
          if (transA) kb.gemm(transB, true, K, M, N, 1, bi, gi, beta, dst);
          else kb.gemm(false, !transB, M, K, N, 1, gi, bi, beta, dst);
        }
      }
      addGrad(a, ga, true);
    }
    if (b.requiresGrad) {
      const gb = gradBuffer(dtype, b.size);
      // d op(b) = op(a)ᵀ · g ; stored as b is: transB ⇒ db = gᵀ · op(a).
      if (sharedB && !transA) {
        if (transB) kb.gemm(true, false, N, K, count * M, 1, g, x, 0, gb);
        else kb.gemm(true, false, K, N, count * M, 1, x, g, 0, gb);
      } else {
        for (let i = 0; i < count; i++) {
          const gi = g.subarray(i * sc, (i + 1) * sc);
          const ai = sharedA ? x : x.subarray(i * sa, (i + 1) * sa);
          const dst = sharedB ? gb : gb.subarray(i * sb, (i + 1) * sb);
          const beta = sharedB && i > 0 ? 1 : 0;
          if (transB) kb.gemm(true, transA, N, K, M, 1, gi, ai, beta, dst);
          else kb.gemm(!transA, false, K, N, M, 1, ai, gi, beta, dst);
        }
      }
      addGrad(b, gb, true);
    }
  });
}
