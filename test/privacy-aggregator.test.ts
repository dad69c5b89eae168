// The private round aggregator: DP alone, SecAgg alone, both together (equal to DP alone up to the fixed-
// point error, since the server's noise stream is the same), local DP, adaptive clipping through a masked
// coordinate, dropouts and a protocol abort.
import { describe, expect, it } from 'vitest';
import type { ClientUpdate } from '../src/fl/strategy.js';
import { Rng } from '../src/random.js';
import { RunPrivacy } from '../src/privacy/accounting.js';
import { deltaNoiseMultiplier } from '../src/privacy/dp.js';
import { PrivacyState, PrivateRoundAggregator, type PrivacySettings } from '../src/privacy/private-aggregator.js';
import { epsilonSampledGaussian } from '../src/privacy/rdp.js';

const P = 300;

function updates(ids: number[], scale: number, seed = 1): ClientUpdate[] {
  const rng = new Rng(seed);
  return ids.map((clientId) => ({
    clientId, round: 0, numSamples: 10 + clientId, loss: 1, metrics: {}, steps: 1, extras: {},
    delta: Float32Array.from({ length: P }, () => rng.normal(0, scale)),
  }));
}

function aggregate(settings: PrivacySettings, us: ClientUpdate[], cohort: number[], opts: { q?: number; seed?: number; logs?: string[] } = {}) {
  const q = opts.q ?? 0.5;
  const accountant = settings.dp ? new RunPrivacy(settings.dp.mode, q, settings.dp.noiseMultiplier, settings.dp.delta) : null;
  const state = new PrivacyState(settings, accountant, opts.seed ?? 7);
  const agg = new PrivateRoundAggregator(state, {
    round: 0, cohort: Int32Array.from(cohort), numParams: P, expectedCohort: q * 20, weightCap: 100,
    log: (line) => opts.logs?.push(line),
  });
  for (const u of us) agg.add(u, u.numSamples);
  const participants = agg.participants;
  return { means: agg.means(), participants, report: agg.privacyReport, state };
}

const secagg = { neighbors: null, threshold: null, dropout: 0, range: 1 } as const;
const central = (sigma: number) => ({ mode: 'central' as const, clip: { kind: 'fixed' as const, norm: 0.5 }, noiseMultiplier: sigma, delta: 1e-5, targetEpsilon: null });

describe('private round aggregator', () => {
  const cohort = [1, 4, 5, 8, 11, 12, 17];

  it('central DP without noise: Σ clip(Δ)/m exactly; the accountant advances one step', () => {
    const us = updates(cohort, 0.1);
    const { means, report } = aggregate({ dp: central(0), secagg: null }, us, cohort);
    const want = new Float64Array(P);
    for (const u of updates(cohort, 0.1)) {
      let n = 0;
      for (const v of u.delta) n += v * v;
      const s = Math.min(1, 0.5 / Math.sqrt(n));
      for (let i = 0; i < P; i++) want[i] += Math.fround(u.delta[i] * s);
    }
    for (let i = 0; i < P; i++) expect(means.delta[i]).toBeCloseTo(want[i] / 10, 6);
    expect(report.clipNorm).toBe(0.5);
    const withNoise = aggregate({ dp: central(1.3), secagg: null }, us, cohort);
    expect(withNoise.report.epsilon).toBeCloseTo(epsilonSampledGaussian(0.5, 1.3, 1, 1e-5).epsilon, 10);
  });

  it('SecAgg alone: the sample-weighted mean, equal to plain FedAvg up to the fixed-point error', () => {
    const us = updates(cohort, 0.05);
    const { means, participants, report } = aggregate({ dp: null, secagg }, us, cohort);
    expect(participants).toBe(cohort.length);
    let W = 0;
    const want = new Float64Array(P);
    for (const u of us) {
      W += u.numSamples;
      for (let i = 0; i < P; i++) want[i] += u.numSamples * u.delta[i];
    }
    const scaleBound = cohort.length * 1 / 2 ** 31; // n·range/2^31 per coordinate before dividing by Σw/W
    for (let i = 0; i < P; i++) expect(Math.abs(means.delta[i] - want[i] / W)).toBeLessThan(1e-5 + scaleBound * 100);
    expect(means.totalWeight).toBeCloseTo(W, 3);
    expect(report.secagg!.survivors).toBe(cohort.length);
    expect(report.secagg!.overheadBytesPerClient).toBeGreaterThan(0);
  });

  it('DP + SecAgg equals DP alone up to the fixed-point error (same noise stream), with dropouts', () => {
    const us = updates(cohort, 0.1);
    const plain = aggregate({ dp: central(1.1), secagg: null }, us.filter((u) => u.clientId !== 5), cohort);
    const secure = aggregate({ dp: central(1.1), secagg }, updates(cohort, 0.1).filter((u) => u.clientId !== 5), cohort);
    const step = 0.5 * cohort.length / 2 ** 31 / 10;
    for (let i = 0; i < P; i++) expect(Math.abs(secure.means.delta[i] - plain.means.delta[i])).toBeLessThan(1e-6 + cohort.length * step);
    expect(secure.report.secagg!.dropped).toBe(1);
    expect(secure.report.epsilon).toBe(plain.report.epsilon);
  });

  it('adaptive clipping: the unclipped count crosses SecAgg as a masked coordinate and moves C the same way', () => {
    const adaptive = { mode: 'central' as const, clip: { kind: 'adaptive' as const, quantile: 0.5, initialNorm: 0.5, learningRate: 0.2, countNoise: 5 }, noiseMultiplier: 1, delta: 1e-5, targetEpsilon: null };
    const mixed = updates(cohort, 0.1).map((u, k) => ({ ...u, delta: u.delta.map((v) => v * (k < 3 ? 0.1 : 3)) }));
    const clear = aggregate({ dp: adaptive, secagg: null }, mixed, cohort);
    const secure = aggregate({ dp: adaptive, secagg }, mixed.map((u) => ({ ...u, delta: Float32Array.from(u.delta) })), cohort);
    expect(secure.report.unclippedFraction).toBeCloseTo(clear.report.unclippedFraction!, 12);
    expect(secure.state.clip!.value).toBeCloseTo(clear.state.clip!.value, 12);
    expect(clear.state.clip!.value).not.toBe(0.5);
  });

  it('local DP + SecAgg equals local DP alone up to the fixed-point error; ε is per client', () => {
    const local = { mode: 'local' as const, clip: { kind: 'fixed' as const, norm: 0.5 }, noiseMultiplier: 2, delta: 1e-5, targetEpsilon: null };
    const a = aggregate({ dp: local, secagg: null }, updates(cohort, 0.1), cohort);
    const b = aggregate({ dp: local, secagg }, updates(cohort, 0.1), cohort);
    for (let i = 0; i < P; i++) expect(Math.abs(a.means.delta[i] - b.means.delta[i])).toBeLessThan(1e-5);
    expect(a.report.epsilon).toBeCloseTo(epsilonSampledGaussian(1, 1, 1, 1e-5).epsilon, 10);
  });

  it("the round's noise has the variance the accountant assumes: central σC/m (σ_Δ with adaptive clipping), local σC/√n, with or without SecAgg", () => {
    const big = 40_000;
    const ids = [0, 3, 6, 9, 12, 15];
    const m = 8; // expected cohort
    const rng = new Rng(11);
    // Norms ≈ 0.01·√P = 2 > C = 0.5: every delta is clipped.
    const deltas = ids.map(() => Float32Array.from({ length: big }, () => rng.normal(0, 0.01)));
    const clipped = new Float64Array(big);
    for (const d of deltas) {
      let n = 0;
      for (const v of d) n += v * v;
      const s = 0.5 / Math.sqrt(n);
      for (let i = 0; i < big; i++) clipped[i] += Math.fround(d[i] * s);
    }
    const countNoise = 0.8; // σ_Δ = 1.81 for σ = 1.2: far from σ
    const cases = [
      { dp: central(1.2), want: (1.2 * 0.5) / m, denominator: m },
      { dp: { ...central(1.2), clip: { kind: 'adaptive' as const, quantile: 0.5, initialNorm: 0.5, learningRate: 0.2, countNoise } }, want: (deltaNoiseMultiplier(1.2, countNoise) * 0.5) / m, denominator: m },
      { dp: { ...central(1.2), mode: 'local' as const }, want: (1.2 * 0.5) / Math.sqrt(ids.length), denominator: ids.length },
    ];
    for (const { dp, want, denominator } of cases) {
      for (const withSecAgg of [false, true]) {
        const state = new PrivacyState({ dp, secagg: withSecAgg ? secagg : null }, new RunPrivacy(dp.mode, 0.4, dp.noiseMultiplier, dp.delta), 5);
        const agg = new PrivateRoundAggregator(state, { round: 0, cohort: Int32Array.from(ids), numParams: big, expectedCohort: m, weightCap: 100, log: () => {} });
        ids.forEach((clientId, k) => agg.add({ clientId, round: 0, numSamples: 10, loss: 1, metrics: {}, steps: 1, extras: {}, delta: deltas[k] }, 10));
        const mean = agg.means().delta;
        let bias = 0;
        let square = 0;
        for (let i = 0; i < big; i++) {
          const e = mean[i] - clipped[i] / denominator;
          bias += e;
          square += e * e;
        }
        bias /= big;
        const variance = square / big - bias * bias;
        const label = `${dp.mode} ${dp.clip.kind}${withSecAgg ? ' + SecAgg' : ''}`;
        expect(Math.abs(bias), label).toBeLessThan(5 * want / Math.sqrt(big));
        expect(Math.abs(variance / want ** 2 - 1), label).toBeLessThan(5 * Math.sqrt(2 / big));
      }
    }
  });

  it('too many dropouts abort the round: no participants, a clear line, the global model untouched', () => {
    const logs: string[] = [];
    const settings = { dp: null, secagg: { ...secagg, threshold: 6 } };
    const r = aggregate(settings, updates(cohort, 0.1).slice(0, 5), cohort, { logs });
    expect(r.participants).toBe(0);
    expect(r.report.secagg!.aborted).toMatch(/secure aggregation aborted: only 5 parties sent masked inputs, fewer than the threshold 6/);
    expect(logs[0]).toMatch(/^round 0: secure aggregation aborted/);
    expect(r.means.delta.every((v) => v === 0)).toBe(true);
  });

  it('a cohort too small for the threshold aborts the round instead of the run', () => {
    const logs: string[] = [];
    const r = aggregate({ dp: null, secagg: { ...secagg, threshold: 5 } }, updates([2, 3, 9], 0.1), [2, 3, 9], { logs });
    expect(r.participants).toBe(0);
    expect(logs[0]).toMatch(/round 0: secure aggregation aborted: cohort of 3: threshold must be an integer in \[1, 3\]/);
  });

  it('simulated dropout removes clients after key sharing, reproducibly per seed', () => {
    const settings = { dp: null, secagg: { ...secagg, dropout: 0.4, threshold: 2 } };
    const many = Array.from({ length: 20 }, (_, i) => i);
    const a = aggregate(settings, updates(many, 0.05), many, { seed: 3 });
    const b = aggregate(settings, updates(many, 0.05), many, { seed: 3 });
    expect(a.report.secagg!.dropped).toBeGreaterThan(2);
    expect(a.report.secagg!.dropped).toBe(b.report.secagg!.dropped);
    expect(a.means.delta).toEqual(b.means.delta);
  });
});
