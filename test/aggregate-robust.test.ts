// The round aggregators (src/aggregate/aggregator.ts, robust-aggregators.ts) and the robust rules behind them:
// known values, the native ops against the TypeScript reference through whole aggregators (bit for bit, odd
// and even sizes, ties), refusal of f ≥ n/2 and of rounds too small for Krum/Bulyan, and exact rejection of
// a bad update by every aggregator.
import { afterAll, describe, expect, it } from 'vitest';
import {
  aggregatorNames, bulyan, checkAggregatorSpec, createAggregator, getAggregatorKind, krum, krumSelect, median, multiKrum, trimmedMeanCount,
  type Aggregate, type AggregatorSpec,
} from '../src/aggregate/index.js';
import { useBackend } from '../src/backend/index.js';
import { Rng } from '../src/random.js';
import { bitsOf, nativeBuilt, randF32 } from './helpers/native.js';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

const SPECS: AggregatorSpec[] = [
  { name: 'mean' }, { name: 'norm-clip', clipNorm: 3 }, { name: 'median' }, { name: 'trimmed-mean', trim: 0.2 },
  { name: 'trimmed-mean', byzantine: 1 }, { name: 'krum', byzantine: 1 }, { name: 'multi-krum', byzantine: 1 },
  { name: 'bulyan', byzantine: 1 },
];

/** Runs an aggregator over the updates (delta + one extra), returning its aggregate and rejected tags. */
function aggregate(spec: AggregatorSpec, deltas: Float32Array[], extras: Float32Array[], weights: number[]): { agg: Aggregate; rejected: number[] } {
  const P = deltas[0].length;
  const a = createAggregator(spec, { numParams: P, vectorNames: ['delta', 'dc'] });
  a.begin();
  const rejected: number[] = [];
  const note = (ds: { tag: number; rejected: string | null }[]) => ds.forEach((d) => { if (d.rejected) rejected.push(d.tag); });
  deltas.forEach((d, k) => note(a.add({ tag: k, weight: weights[k], vectors: { delta: d, dc: extras[k] } })));
  const { decisions, aggregate: agg } = a.finish();
  note(decisions);
  if (!agg) throw new Error('no aggregate');
  return { agg, rejected };
}

describe('robust rules: known values', () => {
  it('Krum and Multi-Krum pick the honest cluster; Bulyan and the median ignore the outliers', () => {
    const honest = [f32(1, 1), f32(1.1, 0.9), f32(0.9, 1.1), f32(1, 1.05), f32(1.05, 1), f32(0.95, 0.95), f32(1.02, 0.98)];
    const attackers = [f32(-50, 80), f32(60, -40)];
    const ups = [...honest, ...attackers];
    expect(krumSelect(ups, 2)).toHaveLength(1);
    expect(krumSelect(ups, 2)[0]).toBeLessThan(7);
    expect(krumSelect(ups, 2, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const mk = multiKrum(ups, 2);
    expect(mk[0]).toBeCloseTo(honest.reduce((s, u) => s + u[0], 0) / 7, 6);
    for (const r of [krum(ups, 2), bulyan(ups, 1), median(ups)]) {
      expect(Math.abs(r[0] - 1)).toBeLessThan(0.1);
      expect(Math.abs(r[1] - 1)).toBeLessThan(0.1);
    }
    expect(Array.from(trimmedMeanCount([f32(1), f32(2), f32(3), f32(100)], 1))).toEqual([2.5]);
  });

  it('refuses f ≥ n/2 and rounds too small for the rule, naming the bound', () => {
    const ups = Array.from({ length: 6 }, (_, i) => f32(i, -i));
    expect(() => krum(ups, 3)).toThrow('krum: f = 3 Byzantine of n = 6 updates is refused: f must be < n/2');
    expect(() => krum(ups, 2)).toThrow('krum: n = 6 updates cannot tolerate f = 2 Byzantine (krum needs n ≥ 2f + 3 = 7)');
    expect(() => bulyan(ups, 1)).toThrow('bulyan: n = 6 updates cannot tolerate f = 1 Byzantine (bulyan needs n ≥ 4f + 3 = 7)');
    expect(() => trimmedMeanCount(ups, 3)).toThrow(/trimming 3 at each end of 6 updates is refused/);
    expect(() => checkAggregatorSpec({ name: 'median', byzantine: 5 }, 10)).toThrow('median: f = 5 Byzantine of n = 10 updates is refused: f must be < n/2');
    expect(() => checkAggregatorSpec({ name: 'krum', byzantine: 4 }, 10)).toThrow(/needs n ≥ 2f \+ 3 = 11/);
    expect(() => checkAggregatorSpec({ name: 'mean', trim: 0.1 })).toThrow('aggregator mean takes no --trim (it takes no parameters)');
    expect(() => checkAggregatorSpec({ name: 'norm-clip' })).toThrow(/needs --clip-norm/);
    expect(() => checkAggregatorSpec({ name: 'trimmed-mean', trim: 0.5 })).toThrow(/--trim must be in \[0, 0.5\)/);
    expect(() => checkAggregatorSpec({ name: 'krum', byzantine: 1.5 })).toThrow(/--byzantine must be a non-negative integer/);
    expect(() => checkAggregatorSpec({ name: 'nope' })).toThrow(/unknown aggregator 'nope'; known: mean, norm-clip, median/);
  });

  it('norm-clip scales each delta to norm ≤ C (extras unscaled) and keeps the weights', () => {
    const { agg } = aggregate({ name: 'norm-clip', clipNorm: 5 }, [f32(30, 40), f32(3, 0)], [f32(1, 1), f32(3, 3)], [1, 3]);
    // (1·(3, 4) + 3·(3, 0)) / 4
    expect(Array.from(agg.vectors.delta)).toEqual([3, 1]);
    expect(Array.from(agg.vectors.dc)).toEqual([2.5, 2.5]);
    expect(agg.totalWeight).toBe(4);
  });
});

describe.each(nativeBuilt ? (['js', 'native'] as const) : (['js'] as const))('aggregators on the %s backend', (backend) => {
  afterAll(() => { useBackend('auto'); });

  it('every aggregator rejects a bad update and gives the bits it gives without it', () => {
    useBackend(backend);
    const rng = new Rng(41);
    const P = 301;
    const n = 11; // groups of 8 + 3: the clean round's last group folds 3 updates straight into the mean
    const deltas = Array.from({ length: n }, () => randF32(rng, P, 2));
    const extras = Array.from({ length: n }, () => randF32(rng, P));
    const weights = deltas.map((_, k) => 0.1 + 0.1 * k); // rounded sums: adding them in another order changes the bits
    for (const spec of SPECS) {
      const clean = aggregate(spec, deltas, extras, weights);
      expect(clean.rejected, spec.name).toEqual([]);
      for (const [where, bad, at] of [['delta', NaN, 4], ['dc', Infinity, 4], ['delta', -Infinity, n]] as const) {
        // at 4: in the first group of 8; at n: alone in the round's last group
        const withBad = [...deltas.slice(0, at), deltas[at % n].slice(), ...deltas.slice(at)];
        const extrasBad = [...extras.slice(0, at), extras[at % n].slice(), ...extras.slice(at)];
        (where === 'delta' ? withBad : extrasBad)[at][P - 1] = bad;
        const r = aggregate(spec, withBad, extrasBad, [...weights.slice(0, at), 7.3, ...weights.slice(at)]);
        expect(r.rejected, `${spec.name} ${where}`).toEqual([at]);
        expect(r.agg.participants).toBe(n);
        expect(r.agg.totalWeight, `${spec.name} ${where}`).toBe(clean.agg.totalWeight);
        expect(bitsOf(r.agg.vectors.delta), `${spec.name} ${where}`).toEqual(bitsOf(clean.agg.vectors.delta));
        expect(bitsOf(r.agg.vectors.dc), `${spec.name} ${where}`).toEqual(bitsOf(clean.agg.vectors.dc));
      }
    }
  });

  it('an aggregator run for several rounds gives each round the bits of a fresh one (nothing carried over)', () => {
    useBackend(backend);
    const rng = new Rng(43);
    const P = 301;
    const rounds = [11, 9, 3].map((n) => ({
      deltas: Array.from({ length: n }, () => randF32(rng, P, 2)),
      extras: Array.from({ length: n }, () => randF32(rng, P)),
    }));
    // round 2 opens with a whole group of bad updates: nothing is accepted before its second group
    for (let k = 0; k < 8; k++) rounds[1].deltas[k][k] = NaN;
    for (const spec of SPECS.filter((s) => !getAggregatorKind(s.name).keepsAllUpdates)) {
      const a = createAggregator(spec, { numParams: P, vectorNames: ['delta', 'dc'] });
      for (const [r, { deltas, extras }] of rounds.entries()) {
        const weights = deltas.map((_, k) => 1 + k);
        a.begin();
        const decided = deltas.flatMap((d, k) => a.add({ tag: k, weight: weights[k], vectors: { delta: d, dc: extras[k] } }));
        const { decisions, aggregate: got } = a.finish();
        const good = [...decided, ...decisions].filter((d) => d.rejected === null).map((d) => d.tag);
        const fresh = aggregate(spec, good.map((k) => deltas[k]), good.map((k) => extras[k]), good.map((k) => weights[k]));
        expect(good.length, `${spec.name} round ${r}`).toBe(r === 1 ? deltas.length - 8 : deltas.length);
        expect(bitsOf(got!.vectors.delta), `${spec.name} round ${r}`).toEqual(bitsOf(fresh.agg.vectors.delta));
        expect(bitsOf(got!.vectors.dc), `${spec.name} round ${r}`).toEqual(bitsOf(fresh.agg.vectors.dc));
      }
    }
  });
});

describe.skipIf(!nativeBuilt)('native aggregators against the TypeScript reference', () => {
  afterAll(() => { useBackend('auto'); });

  it('give the same bits for every aggregator (odd/even n, tails, tied and duplicated updates)', () => {
    const rng = new Rng(42);
    for (const n of [7, 8, 11]) for (const P of [1, 33, 2049]) {
      const deltas = Array.from({ length: n }, () => randF32(rng, P, 3));
      deltas[2] = deltas[5].slice(); // a duplicate: a zero distance and ties in every coordinate
      for (let i = 0; i < P; i += 3) deltas[1][i] = deltas[0][i]; // coordinate ties
      const extras = Array.from({ length: n }, () => randF32(rng, P));
      const weights = deltas.map(() => 1 + rng.int(50));
      for (const spec of SPECS) {
        useBackend('js');
        const ref = aggregate(spec, deltas, extras, weights).agg;
        useBackend('native');
        const nat = aggregate(spec, deltas, extras, weights).agg;
        expect(bitsOf(nat.vectors.delta), `${spec.name} n=${n} P=${P}`).toEqual(bitsOf(ref.vectors.delta));
        expect(bitsOf(nat.vectors.dc), `${spec.name} n=${n} P=${P}`).toEqual(bitsOf(ref.vectors.dc));
      }
    }
  });

  it('lists every built-in aggregator', () => {
    expect(aggregatorNames()).toEqual(['mean', 'norm-clip', 'median', 'trimmed-mean', 'krum', 'multi-krum', 'bulyan']);
  });
});
