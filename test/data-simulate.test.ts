import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { createFederatedDataset, DATASET_IDS, getDataset, simulatedSampleCount, simulatedUniverse, TEST, POOL } from '../src/data/index.js';

describe('simulated datasets at reduced scale', () => {
  for (const id of DATASET_IDS) {
    it(`${id}: shapes, lengths, labels and batches follow the registry`, () => {
      const spec = getDataset(id);
      const fd = createFederatedDataset(id, { scale: 0.05, seed: 1 });
      expect(fd.numClients).toBeGreaterThan(0);
      const c = fd.client(0);
      expect(c.size).toBeGreaterThanOrEqual(spec.minClientSize);
      const s = c.sample(0);
      expect(s.modalities).toHaveLength(2);
      s.modalities.forEach((m, k) => {
        const mod = spec.modalities[k];
        expect(m.dim).toBe(mod.dim);
        expect(m.length).toBeGreaterThanOrEqual(1);
        expect(m.length).toBeLessThanOrEqual(mod.maxLen);
        expect(m.data.length).toBe(m.length * mod.dim);
        expect(m.data.every(Number.isFinite)).toBe(true);
      });
      if (spec.multiLabel) {
        expect(s.label).toBeInstanceOf(Uint8Array);
        expect((s.label as Uint8Array).length).toBe(spec.numClasses);
      } else {
        expect(typeof s.label).toBe('number');
        expect(s.label as number).toBeGreaterThanOrEqual(0);
        expect(s.label as number).toBeLessThan(spec.numClasses);
      }
      const batches = [...c.batches(4, new Rng(3))];
      expect(batches.reduce((a, b) => a + b.size, 0)).toBe(c.size);
      const b = batches[0];
      b.modalities.forEach((m, k) => {
        expect(m.D).toBe(spec.modalities[k].dim);
        expect(m.data.length).toBe(b.size * m.T * m.D);
        expect(Math.max(...m.lengths)).toBe(m.T);
      });
      expect(b.labels.length).toBe(spec.multiLabel ? b.size * spec.numClasses : b.size);
      expect(fd.test().size).toBeGreaterThan(0);
    });
  }

  it('creates the true-scale sample counts, groups and test sizes', () => {
    const uci = simulatedUniverse(getDataset('uci-har'), 0, 1, 0);
    expect(uci.n).toBe(10299);
    expect(uci.numGroups).toBe(30);
    expect(uci.split.filter((r) => r === TEST).length).toBe(2947);
    const mit51 = simulatedUniverse(getDataset('mit51'), 0, 1, 0);
    expect(mit51.n).toBe(157600);
    expect(mit51.split.filter((r) => r === TEST).length).toBe(5100);
    const meld = simulatedUniverse(getDataset('meld'), 0, 1, 0);
    expect(meld.n).toBe(9718);
    expect(meld.numGroups).toBe(86);
    const crema = simulatedUniverse(getDataset('crema-d'), 0, 1, 2);
    expect(crema.n).toBe(4798);
    const ptb = simulatedUniverse(getDataset('ptb-xl'), 0, 1, 0);
    expect(ptb.n).toBe(21700);
    const poolShare = ptb.split.filter((r) => r === POOL).length / ptb.n;
    expect(poolShare).toBeGreaterThan(0.77);
    expect(poolShare).toBeLessThan(0.83);
  });

  it('true-scale client counts match the benchmark', () => {
    const counts: Record<string, number> = {};
    for (const id of ['meld', 'crema-d', 'ucf101', 'mit10', 'uci-har', 'ku-har', 'ptb-xl', 'hateful-memes', 'crisis-mmd']) {
      counts[id] = createFederatedDataset(id).numClients;
    }
    expect(counts).toEqual({
      meld: 86,
      'crema-d': expect.any(Number),
      ucf101: 100,
      mit10: 200,
      'uci-har': 105,
      'ku-har': expect.any(Number),
      'ptb-xl': 33,
      'hateful-memes': 40,
      'crisis-mmd': 100,
    });
    expect(counts['crema-d']).toBeGreaterThanOrEqual(72);
    expect(counts['crema-d']).toBeLessThanOrEqual(73);
    expect(counts['ku-har']).toBeGreaterThanOrEqual(65);
    expect(counts['ku-har']).toBeLessThanOrEqual(66);
  });

  it('MiT51 at true scale is lazy: creating it and one client generates only that client', () => {
    const before = simulatedSampleCount();
    const t0 = performance.now();
    const fd = createFederatedDataset('mit51', { alpha: 0.1, seed: 2 });
    const created = performance.now() - t0;
    expect(fd.numClients).toBe(1000);
    expect(simulatedSampleCount()).toBe(before);
    const c = fd.client(17);
    expect(simulatedSampleCount()).toBe(before);
    for (const _ of c.batches(16, new Rng(0))) void _;
    expect(simulatedSampleCount() - before).toBe(c.size);
    // a second pass reuses the client's materialised samples
    for (const _ of c.batches(16, new Rng(1))) void _;
    expect(simulatedSampleCount() - before).toBe(c.size);
    console.log(`mit51 created in ${created.toFixed(0)} ms; client 17 has ${c.size} samples`);
  });

  it('keeps small pools in memory and regenerates large ones', () => {
    const har = createFederatedDataset('uci-har', { scale: 0.2 });
    expect(har.test()).toBe(har.test());
    const t = har.test();
    for (const _ of t.batches(64)) void _;
    const before = simulatedSampleCount();
    for (const _ of t.batches(64)) void _;
    expect(simulatedSampleCount()).toBe(before);
    const mit = createFederatedDataset('mit51', { alpha: 0.1, seed: 2 });
    const m = mit.test();
    m.sample(0);
    const once = simulatedSampleCount();
    m.sample(0);
    expect(simulatedSampleCount()).toBe(once + 1);
  });

  it('generates a UCI-HAR-sized client in a few ms', () => {
    const fd = createFederatedDataset('uci-har', { seed: 5 });
    const c = fd.client(3);
    c.sample(0);
    const t0 = performance.now();
    for (let i = 1; i < c.size; i++) c.sample(i);
    const perClient = performance.now() - t0;
    console.log(`uci-har client of ${c.size} samples generated in ${perClient.toFixed(2)} ms`);
    expect(c.size).toBeGreaterThan(20);
  });

  it('is deterministic: same data seed, same features in a fresh source', () => {
    const a = createFederatedDataset('crema-d', { scale: 0.05, seed: 4 }).client(1).sample(2);
    const b = createFederatedDataset('crema-d', { scale: 0.05, seed: 4, dataSeed: 0 }).client(1).sample(2);
    expect(Array.from(a.modalities[0].data)).toEqual(Array.from(b.modalities[0].data));
    const other = createFederatedDataset('crema-d', { scale: 0.05, seed: 4, dataSeed: 9 }).client(1).sample(2);
    expect(Array.from(other.modalities[0].data)).not.toEqual(Array.from(a.modalities[0].data));
  });

  it('honours a max-length override', () => {
    const fd = createFederatedDataset('meld', { scale: 0.05, maxLen: { audio: 40, text: 5 } });
    const c = fd.client(0);
    for (let i = 0; i < c.size; i++) {
      expect(c.sample(i).modalities[0].length).toBeLessThanOrEqual(40);
      expect(c.sample(i).modalities[1].length).toBeLessThanOrEqual(5);
    }
    expect(() => createFederatedDataset('meld', { maxLen: { video: 3 } })).toThrow(/unknown modality 'video'/);
  });
});
