// Robust aggregation rules over K updates of P values each (inputs must be finite): coordinate-wise median
// and trimmed mean, Krum and Multi-Krum (Blanchard et al. 2017), Bulyan (El Mhamdi et al. 2018). They are
// unweighted, as in the papers (a weight would let a Byzantine client claim a large sample count).
import { aggregateOps } from './ops.js';
import { StreamingMean } from './streaming-mean.js';

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

/** out[P] = coordinate-wise trimmed mean dropping exactly `trim` values at each end (2·trim < K). */
export function trimmedMeanCount(updates: Float32Array[], trim: number, out?: Float32Array): Float32Array {
  const o = checked('trimmedMean', updates, out);
  if (!Number.isInteger(trim) || trim < 0 || 2 * trim >= updates.length) {
    throw new Error(`trimmedMean: trimming ${trim} at each end of ${updates.length} updates is refused (needs 2·trim < K)`);
  }
  aggregateOps().trimmedMean(updates, trim, o);
  return o;
}

/** Refuses f Byzantine updates among n that the rule cannot tolerate (one line naming the rule's bound). */
export function checkByzantine(rule: string, n: number, f: number, minN: (f: number) => number, bound: string): void {
  if (!Number.isInteger(f) || f < 0) throw new Error(`${rule}: f must be a non-negative integer, got ${f}`);
  if (2 * f >= n) throw new Error(`${rule}: f = ${f} Byzantine of n = ${n} updates is refused: f must be < n/2`);
  if (n < minN(f)) throw new Error(`${rule}: n = ${n} updates cannot tolerate f = ${f} Byzantine (${rule} needs n ≥ ${bound} = ${minN(f)})`);
}

/** d[K·K]: squared L2 distances between the updates (float64, the ops' fixed summation order). */
export function pairwiseDistances(updates: Float32Array[]): Float64Array {
  checked('pairwiseDistances', updates, undefined);
  return distances(updates);
}

function distances(updates: Float32Array[]): Float64Array {
  const K = updates.length;
  const d = new Float64Array(K * K);
  aggregateOps().pairwiseSqDist(updates, d, updates[0].length);
  return d;
}

/**
 * Krum scores (Blanchard et al. 2017) within `among` (indices into the K×K distances d): for each, the sum of
 * its max(1, |among| − f − 2) smallest squared distances to the others (capped at |among| − 1).
 */
function krumScores(d: Float64Array, K: number, among: readonly number[], f: number): Float64Array {
  const r = among.length;
  const m = Math.min(r - 1, Math.max(1, r - f - 2));
  return Float64Array.from(among, (i) => {
    const row = among.filter((j) => j !== i).map((j) => d[i * K + j]).sort((a, b) => a - b);
    let s = 0;
    for (let t = 0; t < m; t++) s += row[t];
    return s;
  });
}

/** The index (into among) of the lowest score; ties go to the earlier one. */
function lowest(scores: Float64Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] < scores[best]) best = i;
  return best;
}

/**
 * Multi-Krum selection: the m updates with the lowest Krum scores (ties → lower index), ascending by index.
 * m = 1 is Krum. Needs n ≥ 2f + 3.
 */
export function krumSelect(updates: Float32Array[], f: number, m = 1): number[] {
  checked('krumSelect', updates, undefined);
  return selectKrum(updates, f, m);
}

function selectKrum(updates: Float32Array[], f: number, m: number): number[] {
  const n = updates.length;
  checkByzantine('krum', n, f, (g) => 2 * g + 3, '2f + 3');
  if (!Number.isInteger(m) || m < 1 || m > n - f) throw new Error(`multi-krum: m must be an integer in 1..n − f = ${n - f}, got ${m}`);
  const d = distances(updates);
  const all = updates.map((_, i) => i);
  const scores = krumScores(d, n, all, f);
  return all.sort((a, b) => scores[a] - scores[b] || a - b).slice(0, m).sort((a, b) => a - b);
}

/**
 * Bulyan's selection (El Mhamdi et al. 2018): θ = n − 2f updates chosen one at a time by Krum among those not
 * chosen yet (scores recomputed on the remaining set), ascending by index. Needs n ≥ 4f + 3.
 */
export function bulyanSelect(updates: Float32Array[], f: number): number[] {
  checked('bulyanSelect', updates, undefined);
  return selectBulyan(updates, f);
}

function selectBulyan(updates: Float32Array[], f: number): number[] {
  const n = updates.length;
  checkByzantine('bulyan', n, f, (g) => 4 * g + 3, '4f + 3');
  const d = distances(updates);
  const remaining = updates.map((_, i) => i);
  const chosen: number[] = [];
  while (chosen.length < n - 2 * f) {
    const pick = lowest(krumScores(d, n, remaining, f));
    chosen.push(remaining[pick]);
    remaining.splice(pick, 1);
  }
  return chosen.sort((a, b) => a - b);
}

/** out[P] = the update Krum selects (a copy). */
export function krum(updates: Float32Array[], f: number, out?: Float32Array): Float32Array {
  const o = checked('krum', updates, out);
  o.set(updates[selectKrum(updates, f, 1)[0]]);
  return o;
}

/** out[P] = unweighted mean of the m updates Multi-Krum selects (default m = n − f), summed in float64. */
export function multiKrum(updates: Float32Array[], f: number, m = updates.length - f, out?: Float32Array): Float32Array {
  const o = checked('multiKrum', updates, out);
  return uniformMean(selectKrum(updates, f, m).map((i) => updates[i]), o);
}

/**
 * out[P] = Bulyan: the θ = n − 2f updates of bulyanSelect, then per coordinate the mean of the β = θ − 2f
 * values closest to their median.
 */
export function bulyan(updates: Float32Array[], f: number, out?: Float32Array): Float32Array {
  const o = checked('bulyan', updates, out);
  const chosen = selectBulyan(updates, f).map((i) => updates[i]);
  aggregateOps().closestToMedianMean(chosen, chosen.length - 2 * f, o);
  return o;
}

/** out[P] = Σ u / K over the given updates, in float64 (their order). */
export function uniformMean(updates: Float32Array[], out: Float32Array): Float32Array {
  const sm = new StreamingMean(out.length);
  updates.forEach((u) => sm.add(u, 1));
  return sm.result(out);
}
