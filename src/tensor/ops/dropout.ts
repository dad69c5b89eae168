// Inverted dropout: zero each element with probability p, scale survivors by 1/(1 − p).
import type { FloatArray } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import { defaultRng, type Rng } from '../../random.js';
import { addGrad, allocFloat, allocKernelOutput, makeOutput, type DType, Tensor } from '../tensor.js';

const stateWords = new Uint32Array(4);

/**
 * A dropout mask [n] of 0 (probability p) and 1/(1 − p): one 32-bit draw of `rng` per element, dropped when
 * it falls below p·2³² (the draws and bits are the same on every backend; see the dropoutMask kernel).
 */
export function dropoutMask(dtype: DType, n: number, p: number, rng: Rng): FloatArray {
  const mask = allocKernelOutput(dtype, n);
  rng.readWords(stateWords);
  kernels().dropoutMask(stateWords, p * 4294967296, p === 1 ? 0 : 1 / (1 - p), mask);
  rng.writeWords(stateWords);
  return mask;
}

export function checkDropoutProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
}

export function dropout(x: Tensor, p: number, training: boolean, rng: Rng = defaultRng()): Tensor {
  checkDropoutProbability(p);
  if (!training || p === 0) return x;
  const n = x.size;
  const mask = dropoutMask(x.dtype, n, p, rng);
  const out = allocFloat(x.dtype, n);
  const v = x.data;
  for (let i = 0; i < n; i++) out[i] = v[i] * mask[i];
  return makeOutput(out, x.shape, [x], (g) => {
    const gx = allocFloat(x.dtype, n);
    for (let i = 0; i < n; i++) gx[i] = g[i] * mask[i];
    addGrad(x, gx, true);
  });
}
