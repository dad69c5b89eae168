// DP-FedAvg's mechanism checked statistically: clipping, the noise's variance, the fixed-denominator mean,
// adaptive clipping converging to its quantile, local noise, and the run's accounting.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { ClipNorm, ClippedSum, addGaussianNoise, deltaNoiseMultiplier, privatizeLocally } from '../src/privacy/dp.js';
import { RunPrivacy, defaultDelta, noiseForTarget } from '../src/privacy/accounting.js';
import { epsilonSampledGaussian } from '../src/privacy/rdp.js';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Sample mean and variance of x. */
function moments(x: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  return { mean: m, variance: v / (x.length - 1) };
}

describe('clipping', () => {
  it('scales a long delta onto the sphere of radius C and keeps its direction; leaves short ones alone', () => {
    const rng = new Rng(1);
    const sum = new ClippedSum(1000, 0.5);
    const long = Float32Array.from({ length: 1000 }, () => rng.normal(0, 1));
    const original = Float32Array.from(long);
    const before = sum.add(long);
    expect(before).toBeCloseTo(norm(original), 3);
    expect(norm(long)).toBeCloseTo(0.5, 5);
    for (let i = 0; i < 1000; i++) expect(long[i]).toBeCloseTo(original[i] * (0.5 / before), 6);
    const short = Float32Array.from({ length: 1000 }, () => rng.normal(0, 0.001));
    const copy = Float32Array.from(short);
    sum.add(short);
    expect(short).toEqual(copy);
    expect(sum.stats).toEqual({ unclipped: 1, clients: 2 });
    expect(() => sum.add(Float32Array.from({ length: 1000 }, (_, i) => (i === 3 ? NaN : 0)))).toThrow(/non-finite value at index 3/);
  });
});

describe('Gaussian noise', () => {
  it('has mean 0 and variance std² (χ² bounds on 200k draws)', () => {
    const x = new Float64Array(200_000);
    addGaussianNoise(x, 0.3, new Rng(2));
    const { mean, variance } = moments(x);
    const n = x.length;
    expect(Math.abs(mean)).toBeLessThan(5 * 0.3 / Math.sqrt(n));
    expect(Math.abs(variance / 0.09 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('the central noisy mean is (Σ clipped + N(0, σ²C²))/m: its error has variance σ²C²/m²', () => {
    const P = 100_000;
    const clip = 2;
    const sigma = 1.5;
    const m = 8;
    const rng = new Rng(3);
    const sum = new ClippedSum(P, clip);
    const deltas = Array.from({ length: 5 }, () => Float32Array.from({ length: P }, () => rng.normal(0, 0.05)));
    const exact = new Float64Array(P);
    for (const d of deltas) {
      sum.add(d);
      for (let i = 0; i < P; i++) exact[i] += d[i];
    }
    const mean = sum.noisyMean(sigma, m, new Rng(4));
    const error = Float64Array.from(mean, (v, i) => v - exact[i] / m);
    const { mean: bias, variance } = moments(error);
    const want = (sigma * clip / m) ** 2;
    expect(Math.abs(bias)).toBeLessThan(5 * Math.sqrt(want / P));
    expect(Math.abs(variance / want - 1)).toBeLessThan(5 * Math.sqrt(2 / P));
  });

  it('local privatisation clips then adds N(0, σ²C²) per coordinate', () => {
    const P = 100_000;
    const delta = new Float32Array(P).fill(0.01); // norm 3.16 > C = 1
    privatizeLocally(delta, 1, 0.8, new Rng(5));
    const { mean, variance } = moments(delta);
    expect(Math.abs(mean - 1 / Math.sqrt(P))).toBeLessThan(5 * 0.8 / Math.sqrt(P));
    expect(Math.abs(variance / 0.64 - 1)).toBeLessThan(5 * Math.sqrt(2 / P));
  });
});

describe('adaptive clipping (Andrew et al. 2021)', () => {
  it('converges to the target quantile of the update norms', () => {
    const rng = new Rng(6);
    // Update norms log-normal: median e^0 = 1, 80th percentile e^0.8416·0.5 ≈ 1.523.
    for (const [quantile, want] of [[0.5, 1], [0.8, Math.exp(0.8416 * 0.5)]]) {
      const clip = new ClipNorm({ kind: 'adaptive', quantile, initialNorm: 0.1, learningRate: 0.2, countNoise: null });
      const m = 100;
      const late: number[] = [];
      for (let round = 0; round < 300; round++) {
        let unclipped = 0;
        for (let k = 0; k < m; k++) if (Math.exp(rng.normal(0, 0.5)) <= clip.value) unclipped++;
        clip.update(unclipped, m, 1, rng);
        if (round >= 200) late.push(clip.value);
      }
      const avg = late.reduce((a, b) => a + b) / late.length;
      expect(Math.abs(avg / want - 1)).toBeLessThan(0.06);
    }
  });

  it('splits the noise: (σ_Δ, σ_b) compose to σ, and a too-small σ_b is refused', () => {
    const sigmaDelta = deltaNoiseMultiplier(1, 5);
    expect(sigmaDelta ** -2 + (2 * 5) ** -2).toBeCloseTo(1, 12);
    expect(sigmaDelta).toBeGreaterThan(1);
    expect(() => deltaNoiseMultiplier(2, 0.9)).toThrow(/must exceed σ\/2 = 1/);
    expect(new ClipNorm({ kind: 'fixed', norm: 0.7 }).update(3, 10, 1, new Rng(1))).toBeNaN();
  });
});

describe('run accounting', () => {
  it('central: ε after R rounds is the sampled Gaussian composed R times', () => {
    const acc = new RunPrivacy('central', 0.1, 1.2, 1e-5);
    for (let r = 0; r < 50; r++) acc.recordRound([]);
    expect(acc.spent().epsilon).toBeCloseTo(epsilonSampledGaussian(0.1, 1.2, 50, 1e-5).epsilon, 12);
    const restored = new RunPrivacy('central', 0.1, 1.2, 1e-5);
    restored.loadState(acc.saveState());
    expect(restored.spent()).toEqual(acc.spent());
  });

  it('local: the most frequent participant, without amplification, at multiplier σ/2', () => {
    const acc = new RunPrivacy('local', 0.1, 4, 1e-5);
    acc.recordRound([1, 2]);
    acc.recordRound([2, 3]);
    acc.recordRound([2]);
    expect(acc.spent().epsilon).toBeCloseTo(epsilonSampledGaussian(1, 2, 3, 1e-5).epsilon, 12);
  });

  it('σ from a target ε meets it, and the default δ is below 1/N', () => {
    const sigma = noiseForTarget('central', 8, 0.1, 100, 1e-5);
    expect(epsilonSampledGaussian(0.1, sigma, 100, 1e-5).epsilon).toBeLessThanOrEqual(8);
    const local = noiseForTarget('local', 8, 0.1, 10, 1e-5);
    expect(epsilonSampledGaussian(1, local / 2, 10, 1e-5).epsilon).toBeLessThanOrEqual(8);
    expect(defaultDelta(30)).toBe(1e-5);
    expect(defaultDelta(1e6)).toBeLessThan(1e-6);
  });
});
