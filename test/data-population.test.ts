// Populations larger than the dataset (the `population` data option, `fedmm run --clients N`): client k is a
// seeded resample of base client k mod B; nothing per client is kept; dev and test are the dataset's.
import { describe, expect, it } from 'vitest';
import { createFederatedDataset } from '../src/data/federated.js';
import { runFederated } from '../src/runtime/scheduler.js';

describe('population over a partition', () => {
  const base = createFederatedDataset('uci-har', { scale: 0.2, seed: 3, missingModality: 0.3 });
  const pop = createFederatedDataset('uci-har', { scale: 0.2, seed: 3, missingModality: 0.3, population: 1000 });
  const B = base.numClients;

  it('resamples base client k mod B: same size, modalities and label pool, a different draw per member, the same draw every time', () => {
    expect(pop.numClients).toBe(1000);
    for (const k of [0, 7, B + 7, 2 * B + 7, 999]) {
      const c = pop.client(k);
      const b = base.client(k % B);
      expect(c.size).toBe(b.size);
      expect(c.missing).toEqual(b.missing);
      expect(c.labelHistogram.reduce((a, x) => a + x, 0)).toBe(c.size);
      // every label of the member is one its base client holds
      for (let cls = 0; cls < c.numClasses; cls++) if (c.labelHistogram[cls] > 0) expect(b.labelHistogram[cls]).toBeGreaterThan(0);
      expect(Array.from(pop.client(k).sample(0).modalities[0].data)).toEqual(Array.from(c.sample(0).modalities[0].data));
    }
    const draws = [7, B + 7, 2 * B + 7].map((k) => (pop.client(k) as unknown as { indices: Int32Array }).indices.join());
    expect(new Set(draws).size).toBe(3);
    expect(pop.activeClients.length).toBe(Array.from({ length: 1000 }, (_, k) => k).filter((k) => base.activeClients.includes(k % B)).length);
    expect(pop.dev().size).toBe(base.dev().size);
    expect(pop.test().size).toBe(base.test().size);
  });

  it('refuses a bad size and the paper\'s numpy partition in one line', () => {
    expect(() => createFederatedDataset('uci-har', { scale: 0.2, population: 0 })).toThrow(/^uci-har: population must be an integer in \[1, 10000000\], got 0$/);
    expect(() => createFederatedDataset('uci-har', { population: 10, partitionRng: 'numpy' })).toThrow(/^uci-har: population and partitionRng 'numpy' exclude each other/);
    expect(() => pop.client(1000)).toThrow(/^uci-har: client 1000 out of range \[0, 1000\)$/);
  });

  it('lists 100,000 clients without building them', () => {
    const big = createFederatedDataset('uci-har', { scale: 0.2, seed: 3, population: 100_000 });
    expect(big.numClients).toBe(100_000);
    expect(big.activeClients.length).toBe(100_000);
    expect(big.client(99_999).size).toBe(base.client(99_999 % B).size);
  });

  it('trains in a run', async () => {
    const task = { kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.2, dHid: 8, population: 5000, maxLen: { acc: 32, gyro: 32 } };
    const r = await runFederated({ task, rounds: 2, clientRate: 3 / 5000 + 1e-9, batchSize: 16, workers: 0, evalEvery: 0, seed: 1 }, { log: () => {} });
    expect(r.history.map((h) => h.accepted)).toEqual([3, 3]);
    expect(r.totals.updates).toBe(6);
  });
});
