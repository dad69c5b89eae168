// Fixed-point encoding of float vectors in Z_{2^32}, so that masks (uniform in Z_{2^32}) cancel exactly.
//
// A value x is clipped to [−range, range] and encoded as q = round(x·scale) mod 2^32 (two's complement).
// The scale is the largest power of two with maxSummands·range·scale ≤ 2^31 − 1, so the sum of up to
// maxSummands encoded values never wraps: decoding the sum mod 2^32 as a signed 32-bit integer and dividing
// by the scale gives the sum of the rounded values exactly. Each value's rounding error is ≤ 1/(2·scale)
// ≤ maxSummands·range/2^31; clipping changes values outside the range (counted, so a run can report it).

export interface FixedPoint {
  /** Values are clipped to [−range, range]. */
  readonly range: number;
  /** Units per 1.0: a power of two. */
  readonly scale: number;
  /** Number of encoded values whose sum is guaranteed not to wrap. */
  readonly maxSummands: number;
}

export function fixedPoint(range: number, maxSummands: number): FixedPoint {
  if (!(range > 0) || !Number.isFinite(range)) throw new Error(`fixedPoint: range must be a finite number > 0, got ${range}`);
  if (!Number.isInteger(maxSummands) || maxSummands < 1) throw new Error(`fixedPoint: maxSummands must be an integer ≥ 1, got ${maxSummands}`);
  const scale = 2 ** Math.floor(Math.log2((2 ** 31 - 1) / (maxSummands * range)));
  if (!(scale * range * maxSummands <= 2 ** 31 - 1)) throw new Error('fixedPoint: scale computation overflowed');
  if (scale * range < 1) throw new Error(`fixedPoint: range ${range} × ${maxSummands} summands leaves no precision in 32 bits`);
  return { range, scale, maxSummands };
}

/** Encodes x[P] into out[P]; returns how many values were clipped. A non-finite value is refused. */
export function encodeFixed(x: Float32Array, fp: FixedPoint, out: Uint32Array): number {
  if (out.length !== x.length) throw new Error(`encodeFixed: out has ${out.length} values, expected ${x.length}`);
  const { range, scale } = fp;
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    let v = x[i];
    if (!Number.isFinite(v)) throw new Error(`encodeFixed: non-finite value at index ${i}`);
    if (v > range) (v = range), clipped++;
    else if (v < -range) (v = -range), clipped++;
    out[i] = Math.round(v * scale); // Uint32Array stores ToUint32: negative values wrap to two's complement
  }
  return clipped;
}

/** Decodes a sum in Z_{2^32}[P] (signed interpretation) into out[P] = sum / scale. */
export function decodeFixedSum(sum: Uint32Array, fp: FixedPoint, out: Float32Array): Float32Array {
  if (out.length !== sum.length) throw new Error(`decodeFixedSum: out has ${out.length} values, expected ${sum.length}`);
  const inv = 1 / fp.scale;
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] | 0) * inv;
  return out;
}
