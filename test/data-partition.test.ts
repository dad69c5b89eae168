import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { createFederatedDataset, devSplit, dirichletPartition, formatPartitionSummary, getDataset } from '../src/data/index.js';

function labelsOf(counts: number[]): Int32Array {
  return Int32Array.from(counts.flatMap((n, c) => new Array(n).fill(c)));
}

describe('Dirichlet partition', () => {
  it('covers every item exactly once and resamples until each client has its minimum', () => {
    const labels = labelsOf([60, 60, 60, 60, 60, 60]);
    const parts = dirichletPartition(labels, 6, 10, 0.1, new Rng(1), (n) => n >= 5);
    const all = parts.flatMap((p) => Array.from(p)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 360 }, (_, i) => i));
    for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(5);
  });

  it('needs resampling at high skew: a single draw often breaks the minimum, the result never does', () => {
    // With α = 0.3 and 20 clients over 200 items, a lone draw usually leaves some client under 5.
    const labels = labelsOf([50, 50, 50, 50]);
    let singleDrawFailures = 0;
    for (let s = 0; s < 20; s++) {
      const once = (() => {
        try {
          return dirichletPartition(labels, 4, 20, 0.3, new Rng(100 + s), () => true, 1);
        } catch {
          return null;
        }
      })();
      if (once && once.some((p) => p.length < 5)) singleDrawFailures++;
      const parts = dirichletPartition(labels, 4, 20, 0.3, new Rng(100 + s), (n) => n >= 5);
      for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(5);
    }
    expect(singleDrawFailures).toBeGreaterThan(0);
  });

  it('skews labels more at α = 0.1 than at α = 5', () => {
    const labels = labelsOf([200, 200, 200, 200, 200]);
    const skew = (alpha: number) => {
      const parts = dirichletPartition(labels, 5, 10, alpha, new Rng(7), (n) => n >= 5);
      // mean over clients of the largest class share
      return parts.reduce((acc, p) => {
        const h = new Array(5).fill(0);
        for (const i of p) h[labels[i]]++;
        return acc + Math.max(...h) / p.length;
      }, 0) / parts.length;
    };
    expect(skew(0.1)).toBeGreaterThan(0.6);
    expect(skew(5)).toBeLessThan(0.45);
  });

  it('fails with a clear error when the minimum cannot be met', () => {
    expect(() => dirichletPartition(labelsOf([4, 4]), 2, 3, 1, new Rng(0), (n) => n >= 5, 50)).toThrow(/minimum size after 50 draws/);
    expect(() => dirichletPartition(labelsOf([4]), 1, 2, 0, new Rng(0), () => true)).toThrow(/α must be > 0/);
  });
});

describe('dev splits', () => {
  it('holds out floor(n/5) per client, disjoint from train', () => {
    const idx = Int32Array.from({ length: 23 }, (_, i) => i * 3);
    const { train, dev } = devSplit(idx, new Rng(8));
    expect(dev.length).toBe(4);
    expect(train.length).toBe(19);
    expect(new Set([...train, ...dev]).size).toBe(23);
  });

  it('UCI-HAR takes 20% of each subject before sharding: 1,462 dev windows, 105 clients', () => {
    const fd = createFederatedDataset('uci-har', { seed: 3, alpha: 0.1 });
    expect(fd.numClients).toBe(105);
    expect(fd.dev().size).toBe(1462);
    const rows = fd.summary();
    expect(rows.reduce((a, r) => a + r.train, 0)).toBe(7352 - 1462);
    for (const r of rows) expect(r.train).toBeGreaterThanOrEqual(5);
    expect(fd.test().size).toBe(2947);
  });

  it('Dirichlet datasets keep each client at its minimum after the dev split', () => {
    for (const [id, min] of [['hateful-memes', 1], ['ucf101', 5]] as const) {
      const fd = createFederatedDataset(id, { alpha: 0.1, seed: 2 });
      for (const r of fd.summary()) {
        expect(r.train).toBeGreaterThanOrEqual(min);
        expect(r.dev).toBe(Math.floor((r.train + r.dev) / 5));
      }
      expect(getDataset(id).minClientSize).toBe(min);
    }
  });

  it('PTB-XL uses strat_fold 9 of each site as its dev split', () => {
    const fd = createFederatedDataset('ptb-xl', { scale: 0.2 });
    const rows = fd.summary();
    const train = rows.reduce((a, r) => a + r.train, 0);
    const dev = rows.reduce((a, r) => a + r.dev, 0);
    expect(dev / (train + dev)).toBeGreaterThan(0.08);
    expect(dev / (train + dev)).toBeLessThan(0.14);
  });
});

describe('reproducibility', () => {
  const snapshot = (id: string, seed: number) =>
    createFederatedDataset(id, { scale: 0.1, seed, alpha: 0.5 })
      .summary()
      .map((r) => `${r.name}:${r.train}:${r.dev}:${Array.from(r.labelHistogram).join(',')}`)
      .join('|');

  it('same seed, same partition; another seed, another partition', () => {
    for (const id of ['mit10', 'uci-har', 'crema-d']) {
      expect(snapshot(id, 11)).toBe(snapshot(id, 11));
      expect(snapshot(id, 11)).not.toBe(snapshot(id, 12));
    }
  });

  it('a client re-created from (id, config, client id) in a fresh dataset has identical data', () => {
    const cfg = { scale: 0.05, seed: 9, alpha: 0.1, missingModality: 0.3, labelNoise: 0.2 } as const;
    const a = createFederatedDataset('ucf101', cfg).client(2);
    const b = createFederatedDataset('ucf101', { ...cfg }).client(2);
    expect(a.size).toBe(b.size);
    expect(a.missing).toEqual(b.missing);
    const ba = [...a.batches(8, new Rng(4))][0];
    const bb = [...b.batches(8, new Rng(4))][0];
    expect(Array.from(ba.labels)).toEqual(Array.from(bb.labels));
    expect(Array.from(ba.modalities[0].data)).toEqual(Array.from(bb.modalities[0].data));
  });

  it('the resolved config is plain JSON that re-creates the same dataset (what a worker receives)', () => {
    const fd = createFederatedDataset('mit10', { scale: 0.05, seed: 6, alpha: 0.1, clients: 12, maxLen: { audio: 100 }, missingLabel: 0.2 });
    expect(fd.config).toMatchObject({ seed: 6, alpha: 0.1, clients: 12, maxLen: { audio: 100, video: 8 }, fold: 0, partitionRng: 'fedmm' });
    const again = createFederatedDataset('mit10', JSON.parse(JSON.stringify(fd.config)));
    const rows = (d: typeof fd) => d.summary().map((r) => [r.name, r.train, r.dev, Array.from(r.labelHistogram)]);
    expect(rows(again)).toEqual(rows(fd));
    expect(fd.numClients).toBe(12);
    expect(() => createFederatedDataset('meld', { clients: 10 })).toThrow(/clients applies to Dirichlet partitions only/);
  });

  it('natural clients of CREMA-D folds hold out different speakers', () => {
    const names = (fold: number) => new Set(createFederatedDataset('crema-d', { fold }).summary().map((r) => r.name));
    const f0 = names(0);
    const f1 = names(1);
    expect([...f0].some((n) => !f1.has(n))).toBe(true);
    expect(() => createFederatedDataset('crema-d', { fold: 5 })).toThrow(/fold must be an integer in \[0, 5\)/);
  });

  it('formats a partition summary with one row per client', () => {
    const fd = createFederatedDataset('uci-har', { scale: 0.1 });
    const text = formatPartitionSummary(fd.summary(), fd.spec.classNames, fd.spec.modalities.map((m) => m.name));
    const lines = text.split('\n');
    expect(lines).toHaveLength(fd.numClients + 2);
    expect(lines[1]).toMatch(/^0\s+subject-01\/shard-0\s+\d+\s+\d+\s+(\d+ ){5}\d+\s+-\s+yes$/);
  });
});
