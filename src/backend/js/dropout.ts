// Reference dropout mask: xoshiro128** (src/random.ts) stepped over a state of four 32-bit words.
import type { FloatArray } from '../kernels.js';

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** mask[i] = next draw < threshold ? 0 : scale, one draw per element; state[4] advances in place. */
export function dropoutMask(state: Uint32Array, threshold: number, scale: number, mask: FloatArray): void {
  let s0 = state[0];
  let s1 = state[1];
  let s2 = state[2];
  let s3 = state[3];
  for (let i = 0; i < mask.length; i++) {
    const draw = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    mask[i] = draw < threshold ? 0 : scale;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}
