// Coordinate-wise robust aggregators over K updates of P values each (inputs must be finite).
import { aggregateOps } from './ops.js';

function checked(fn: string, updates: Float32Array[], out: Float32Array | undefined): Float32Array {
  if (updates.length === 0) throw new Error(`${fn}: needs at least one update`);
  const P = updates[0].length;
  updates.forEach((u, k) => {
    if (!(u instanceof Float32Array)) throw new Error(`${fn}: updates[${k}] must be a Float32Array`);
    if (u.length !== P) throw new Error(`${fn}: updates[${k}] has ${u.length} values, updates[0] has ${P}`);
  });
  const ops = aggregateOps();
  updates.forEach((u, k) => {
    const bad = ops.findNonFinite(u);
    if (bad >= 0) throw new Error(`${fn}: updates[${k}] has a non-finite value at index ${bad}`);
  });
  const o = out ?? new Float32Array(P);
  if (o.length !== P) throw new Error(`${fn}: out has ${o.length} values, expected ${P}`);
  return o;
}

/** out[P] = coordinate-wise median of updates[K][P]; for even K the mean of the two middle values. */
export function median(updates: Float32Array[], out?: Float32Array): Float32Array {
  const o = checked('median', updates, out);
  aggregateOps().median(updates, o);
  return o;
}

/**
 * out[P] = coordinate-wise β-trimmed mean: per coordinate, drop the floor(β·K) smallest and floor(β·K)
 * largest values and average the rest (0 ≤ β < 0.5).
 */
export function trimmedMean(updates: Float32Array[], beta: number, out?: Float32Array): Float32Array {
  if (!(beta >= 0 && beta < 0.5)) throw new Error(`trimmedMean: beta must be in [0, 0.5), got ${beta}`);
  const o = checked('trimmedMean', updates, out);
  const trim = Math.floor(beta * updates.length);
  if (2 * trim >= updates.length) throw new Error('trimmedMean: trimming removes every update');
  aggregateOps().trimmedMean(updates, trim, o);
  return o;
}
