import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { corruptLabels, createFederatedDataset, IndexedDataset, drawLabelMask, drawMissingModalities, labelTransitionMatrix } from '../src/data/index.js';

/** |realised − p| within 4 binomial standard deviations. */
function expectRate(hits: number, n: number, p: number): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(hits / n - p)).toBeLessThan(4 * sd + 1e-12);
}

describe('missing modality', () => {
  it('misses each modality of a client with probability p, independently', () => {
    for (const p of [0.1, 0.3, 0.5]) {
      let a = 0;
      let b = 0;
      let both = 0;
      const n = 4000;
      for (let k = 0; k < n; k++) {
        const m = drawMissingModalities(2, p, new Rng(5).fork(k));
        a += +m[0];
        b += +m[1];
        both += +(m[0] && m[1]);
      }
      expectRate(a, n, p);
      expectRate(b, n, p);
      expectRate(both, n, p * p);
    }
  });

  it('zeroes the modality for every sample of a training client, skips clients missing both, leaves dev/test clean', () => {
    const p = 0.5;
    const fd = createFederatedDataset('uci-har', { missingModality: p, seed: 3 });
    let missingA = 0;
    let missingB = 0;
    const skipped: number[] = [];
    for (let k = 0; k < fd.numClients; k++) {
      const c = fd.client(k);
      missingA += +c.missing[0];
      missingB += +c.missing[1];
      if (c.missing[0] && c.missing[1]) skipped.push(k);
    }
    expectRate(missingA, fd.numClients, p);
    expectRate(missingB, fd.numClients, p);
    expect(skipped.length).toBeGreaterThan(0);
    for (const k of skipped) expect(fd.activeClients).not.toContain(k);
    expect(fd.activeClients.length).toBe(fd.numClients - skipped.length);
    const k = [...Array(fd.numClients).keys()].find((j) => fd.client(j).missing[0] && !fd.client(j).missing[1])!;
    const c = fd.client(k);
    const batch = [...c.batches(16, new Rng(1))][0];
    expect(Array.from(batch.modalities[0].lengths).every((l) => l === 0)).toBe(true);
    expect(batch.modalities[0].data.every((v) => v === 0)).toBe(true);
    expect(Array.from(batch.modalities[1].lengths).every((l) => l === 128)).toBe(true);
    const dev = fd.clientDev(k);
    expect(dev.missing).toEqual([false, false]);
    expect(dev.sample(0).modalities[0].length).toBe(128);
    expect(fd.test().missing).toEqual([false, false]);
  });
});

describe('missing labels', () => {
  it('drops each training sample with probability p', () => {
    const keep = drawLabelMask(20000, 0.3, new Rng(2));
    expectRate(keep.length - keep.reduce((a, b) => a + b, 0), 20000, 0.3);
    const clean = createFederatedDataset('mit10', { scale: 0.2, seed: 1 });
    const noisy = createFederatedDataset('mit10', { scale: 0.2, seed: 1, missingLabel: 0.4 });
    const n0 = clean.summary().reduce((a, r) => a + r.train, 0);
    const n1 = noisy.summary().reduce((a, r) => a + r.train, 0);
    expectRate(n0 - n1, n0, 0.4);
    expect(noisy.dev().size).toBe(clean.dev().size);
    expect(noisy.test().size).toBe(clean.test().size);
  });
});

describe('erroneous labels', () => {
  it('builds a row-stochastic matrix: diagonal 1 − p, about 40% of off-diagonals zero, the rest equal', () => {
    const C = 51;
    const p = 0.3;
    let zeros = 0;
    for (let s = 0; s < 20; s++) {
      const T = labelTransitionMatrix(C, p, new Rng(s));
      for (let i = 0; i < C; i++) {
        let sum = 0;
        const off: number[] = [];
        for (let j = 0; j < C; j++) {
          sum += T[i * C + j];
          if (j !== i) off.push(T[i * C + j]);
        }
        expect(sum).toBeCloseTo(1, 12);
        expect(T[i * C + i]).toBeCloseTo(1 - p, 12);
        const nz = off.filter((x) => x > 0);
        expect(new Set(nz.map((x) => x.toFixed(12))).size).toBe(1);
        zeros += off.length - nz.length;
      }
    }
    expectRate(zeros, 20 * C * (C - 1), 0.4);
  });

  it('flips binary labels with probability p', () => {
    const T = labelTransitionMatrix(2, 0.2, new Rng(1));
    expect(Array.from(T)).toEqual([0.8, 0.2, 0.2, 0.8]);
  });

  it('draws each sample independently: realised flip rate ≈ p, and a class spreads over several labels', () => {
    for (const C of [2, 4, 6, 8, 51]) {
      const p = 0.35;
      const n = 12000;
      const labels = Int32Array.from({ length: n }, (_, i) => i % C);
      const rng = new Rng(C);
      const T = labelTransitionMatrix(C, p, rng);
      const out = corruptLabels(labels, T, C, rng);
      let flips = 0;
      for (let i = 0; i < n; i++) flips += +(out[i] !== labels[i]);
      expectRate(flips, n, p);
      // class 0's corrupted samples do not all get one label (the original's reseeding bug)
      const targets = new Set<number>();
      for (let i = 0; i < n; i++) if (labels[i] === 0 && out[i] !== 0) targets.add(out[i]);
      let allowed = 0;
      for (let j = 1; j < C; j++) allowed += +(T[j] > 0);
      if (C <= 8) expect(targets.size).toBe(allowed);
      else expect(targets.size).toBeGreaterThan(10);
      for (let i = 0; i < n; i++) expect(T[labels[i] * C + out[i]]).toBeGreaterThan(0);
    }
  });

  it('corrupts training labels only, at rate p over a federated dataset', () => {
    const p = 0.4;
    const clean = createFederatedDataset('crema-d', { seed: 4 });
    const noisy = createFederatedDataset('crema-d', { seed: 4, labelNoise: p });
    let n = 0;
    let flips = 0;
    for (let k = 0; k < clean.numClients; k++) {
      const a = clean.summary()[k];
      const b = noisy.summary()[k];
      expect(b.train).toBe(a.train);
      n += a.train;
    }
    for (let k = 0; k < clean.numClients; k++) {
      const a = clean.client(k) as IndexedDataset;
      const b = noisy.client(k) as IndexedDataset;
      for (let i = 0; i < a.size; i++) flips += +(a.labelAt(i) !== b.labelAt(i));
    }
    expectRate(flips, n, p);
    const devA = clean.dev();
    const devB = noisy.dev();
    expect(Array.from(devB.labelHistogram)).toEqual(Array.from(devA.labelHistogram));
  });

  it('refuses label noise on multi-label PTB-XL with a clear error', () => {
    expect(() => createFederatedDataset('ptb-xl', { labelNoise: 0.1 })).toThrow(/erroneous-label simulation is not defined for multi-label data/);
    expect(() => createFederatedDataset('ptb-xl', { missingLabel: 0.1, scale: 0.1 })).not.toThrow();
  });

  it('rejects rates outside [0, 1)', () => {
    expect(() => createFederatedDataset('uci-har', { missingModality: 1 })).toThrow(/missingModality must be in \[0, 1\)/);
    expect(() => labelTransitionMatrix(4, -0.1, new Rng(0))).toThrow(/label noise rate/);
  });
});
