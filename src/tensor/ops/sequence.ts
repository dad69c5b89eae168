// Ops over padded batches of sequences [B, T, D] with per-sample valid lengths.
import { addGrad, allocFloat, makeOutput, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';

/**
 * Mean over the valid steps of each sequence: x[B,T,D], lengths[B] → [B,D]; out[b] = Σ_{t<len_b} x[b,t] / len_b,
 * and zeros for a sample of length 0 (a missing modality contributes nothing).
 */
export function sequenceMean(x: Tensor, lengths: Int32Array): Tensor {
  if (x.ndim !== 3) throw new Error(`sequenceMean: expected [B, T, D], got ${shapeString(x.shape)}`);
  const [B, T, D] = x.shape;
  if (lengths.length !== B) throw new Error(`sequenceMean: ${lengths.length} lengths for a batch of ${B}`);
  for (const len of lengths) {
    if (len < 0 || len > T) throw new Error(`sequenceMean: length ${len} outside [0, ${T}]`);
  }
  const v = x.data;
  const out = allocFloat(x.dtype, B * D);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (len === 0) continue;
    for (let t = 0; t < len; t++) {
      const src = (b * T + t) * D;
      for (let d = 0; d < D; d++) out[b * D + d] += v[src + d];
    }
    for (let d = 0; d < D; d++) out[b * D + d] /= len;
  }
  return makeOutput(out, [B, D], [x], (g) => {
    const gx = allocFloat(x.dtype, x.size);
    for (let b = 0; b < B; b++) {
      const len = lengths[b];
      for (let t = 0; t < len; t++) {
        const dst = (b * T + t) * D;
        for (let d = 0; d < D; d++) gx[dst + d] = g[b * D + d] / len;
      }
    }
    addGrad(x, gx, true);
  });
}

/** A [B, T] mask tensor: 1 at steps t < lengths[b], else 0 (the convention of attention masks here). */
export function lengthMask(lengths: Int32Array, T: number): Tensor {
  const m = new Float32Array(lengths.length * T);
  lengths.forEach((len, b) => m.fill(1, b * T, b * T + Math.min(len, T)));
  return new Tensor(m, [lengths.length, T]);
}
