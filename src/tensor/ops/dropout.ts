// Inverted dropout: zero each element with probability p, scale survivors by 1/(1 − p).
import { defaultRng, type Rng } from '../../random.js';
import { addGrad, allocFloat, makeOutput, Tensor } from '../tensor.js';

export function dropout(x: Tensor, p: number, training: boolean, rng: Rng = defaultRng()): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const n = x.size;
  const scale = p === 1 ? 0 : 1 / (1 - p);
  // Drop when a uniform 32-bit draw falls below p·2³² (one draw per element).
  const threshold = p * 4294967296;
  const mask = allocFloat(x.dtype, n);
  for (let i = 0; i < n; i++) mask[i] = rng.nextU32() < threshold ? 0 : scale;
  const out = allocFloat(x.dtype, n);
  const v = x.data;
  for (let i = 0; i < n; i++) out[i] = v[i] * mask[i];
  return makeOutput(out, x.shape, [x], (g) => {
    const gx = allocFloat(x.dtype, n);
    for (let i = 0; i < n; i++) gx[i] = g[i] * mask[i];
    addGrad(x, gx, true);
  });
}
