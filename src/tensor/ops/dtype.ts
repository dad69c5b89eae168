// Operands of a kernel call in one dtype: an op computes in its result dtype (float64 if any input is).
import type { FloatArray } from '../../backend/kernels.js';
import { allocFloat, type DType, type Tensor } from '../tensor.js';

/** t's values as `dtype` (the same array when it already is; a converted copy otherwise). */
export function dataIn(t: Tensor, dtype: DType): FloatArray {
  if (t.dtype === dtype) return t.data;
  const a = allocFloat(dtype, t.size);
  a.set(t.data);
  return a;
}
