// numpy's legacy generator and FedMultimodal's partition code, checked against values printed by numpy 2.4
// (np.random.seed(8); …) and by the original partition functions run under numpy.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NumpyLegacyRandom, powLibm } from '../src/data/numpy-legacy.js';
import { createFederatedDataset } from '../src/data/index.js';
import { numpyClientChoice, numpyUciHarPartition } from '../src/data/numpy-partition.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';

describe('numpy legacy MT19937', () => {
  it('seeds, samples, shuffles and draws normals, gammas and Dirichlets like np.random', () => {
    const r = new NumpyLegacyRandom(8);
    expect(r.stateWords(3)).toEqual([8, 1614564137, 706350794]);
    const u = [r.randomSample(), r.randomSample(), r.randomSample()];
    expect(u).toEqual([0.8734294027918162, 0.968540662820932, 0.86919454021392]);
    r.seed(8);
    expect(Array.from(r.shuffle(Int32Array.from({ length: 20 }, (_, i) => i)))).toEqual([7, 11, 6, 15, 18, 4, 12, 2, 13, 1, 16, 0, 14, 19, 8, 10, 5, 9, 17, 3]);
    r.seed(8);
    expect(Array.from(r.shuffle(Int32Array.from({ length: 11 }, (_, i) => i)))).toEqual([6, 7, 9, 10, 0, 2, 5, 8, 1, 4, 3]);
    r.seed(8);
    const d5 = Array.from(r.dirichlet([5, 5, 5, 5, 5]));
    const d01 = Array.from(r.dirichlet([0.1, 0.1, 0.1, 0.1, 0.1]));
    const want5 = [0.18967318669617741, 0.2901081606884123, 0.0622734122046217, 0.08834886281832034, 0.3695963775924683];
    const want01 = [0.023488329674733795, 0.00013765737825443883, 0.9763654411046248, 1.7549399615381547e-7, 8.3963483908302e-6];
    d5.forEach((v, i) => expect(v).toBeCloseTo(want5[i], 15));
    d01.forEach((v, i) => expect(v / want01[i]).toBeCloseTo(1, 12));
    r.seed(8);
    expect([r.standardNormal(), r.standardNormal(), r.standardNormal()]).toEqual([0.09120471661981977, 1.0912827332721105, -1.9469703090225463]);
  });

  it('computes x^10 as C pow does where Math.pow is one ulp off (the α = 0.1 gamma sampler)', () => {
    // Python's x ** 10 (C pow) for these x; Math.pow returns the neighbouring double for each.
    const cases = [
      [0.7887233511355132, 0.09316375582118817],
      [0.9014274576114836, 0.35424834184794046],
      [0.4221165755827173, 0.00017960733244794125],
    ];
    for (const [x, want] of cases) {
      expect(Math.pow(x, 10)).not.toBe(want);
      expect(powLibm(x, 10)).toBe(want);
    }
  });
});

describe("the paper's UCI-HAR partition", () => {
  // subjects 1 ×37, 3 ×41, 12 ×33; labels (i·7 + ⌊i/5⌋) mod 6
  const subjects = Int32Array.from([...new Array(37).fill(1), ...new Array(41).fill(3), ...new Array(33).fill(12)]);
  const labels = Int32Array.from(subjects, (_, i) => (i * 7 + Math.floor(i / 5)) % 6);
  const dev = [0, 8, 6, 19, 35, 1, 31, 73, 77, 68, 76, 54, 59, 65, 37, 95, 100, 107, 85, 82, 104];

  it('matches the original code under numpy, α = 5.0 and α = 0.1', () => {
    const expected: Record<string, Record<string, number[]>> = {
      '5': {
        '1-0': [15, 22, 29, 24, 34], '1-1': [25, 26, 16, 12, 23, 28], '1-2': [5, 17, 14, 9, 4], '1-3': [30, 11, 21, 2, 7, 18, 13], '1-4': [20, 10, 36, 27, 32, 3, 33],
        '3-0': [41, 72, 69, 64, 39], '3-1': [70, 75, 66, 51, 67, 58, 43], '3-2': [40, 61, 52, 44, 74, 49], '3-3': [45, 71, 46, 47, 62, 38, 63], '3-4': [60, 50, 55, 56, 57, 42, 53, 48],
        '12-0': [96, 92, 103, 84, 94], '12-1': [110, 81, 93, 79, 109], '12-2': [80, 91, 106, 102, 88, 108], '12-3': [90, 86, 87, 78, 83], '12-4': [105, 101, 97, 98, 89, 99],
      },
      '0.1': {
        '1-0': [14, 29, 4, 24, 34], '1-1': [12, 32, 2, 17, 9], '1-2': [28, 33, 23, 3, 13, 18], '1-3': [15, 10, 30, 20, 5, 27, 7, 22], '1-4': [25, 21, 16, 11, 36, 26],
        '3-0': [41, 46, 66, 56, 61, 71], '3-1': [53, 58, 48, 63, 43], '3-2': [67, 47, 57, 52, 69, 49, 74, 64], '3-3': [72, 42, 62, 38, 39, 44], '3-4': [75, 45, 50, 60, 40, 55, 70, 51],
        '12-0': [94, 79, 99, 84, 89], '12-1': [105, 110, 90, 97, 102, 92], '12-2': [106, 101, 81, 91, 86], '12-3': [93, 108, 88, 103, 78, 98], '12-4': [80, 96, 87, 83, 109],
      },
    };
    for (const alpha of [5, 0.1]) {
      const p = numpyUciHarPartition(subjects, labels, alpha);
      const got = Object.fromEntries(p.shards.map((s) => [s.name, Array.from(s.indices)]));
      expect(got).toEqual(expected[String(alpha)]);
      expect([...p.dev.values()].flatMap((d) => Array.from(d))).toEqual(dev);
    }
  });

  const REAL = join(process.cwd(), '..', 'shared', 'data', 'uci-har');
  it.skipIf(!existsSync(join(REAL, 'y_train.txt')))('reproduces the shards of the real data (sizes and a fingerprint of every shard)', () => {
    const ints = (f: string) => Int32Array.from(readFileSync(join(REAL, f), 'utf8').trim().split(/\s+/), Number);
    const subj = ints('subject_train.txt');
    const y = ints('y_train.txt').map((v) => v - 1);
    const want: Record<string, { sizes: number[]; hash: number }> = {
      '5': {
        sizes: [63, 50, 56, 59, 50, 43, 58, 69, 44, 59, 38, 53, 44, 57, 50, 41, 52, 52, 65, 50, 45, 61, 56, 34, 51, 36, 46, 49, 47, 47, 43, 62, 46, 44, 58, 41, 47, 54, 55, 62, 35, 53, 66, 61, 48, 63, 62, 61, 55, 52, 49, 47, 58, 66, 75, 49, 54, 66, 45, 74, 62, 50, 82, 67, 66, 56, 54, 47, 49, 51, 74, 58, 47, 51, 68, 71, 63, 59, 61, 74, 65, 71, 69, 49, 60, 68, 63, 64, 51, 55, 64, 51, 61, 57, 73, 41, 56, 61, 51, 67, 62, 58, 60, 62, 65],
        hash: 208058210,
      },
      '0.1': {
        sizes: [54, 64, 53, 38, 69, 51, 95, 34, 28, 65, 46, 38, 51, 62, 45, 66, 59, 19, 54, 62, 57, 53, 50, 55, 32, 87, 38, 60, 7, 33, 67, 70, 28, 55, 33, 69, 43, 52, 33, 62, 50, 74, 28, 69, 42, 24, 63, 84, 87, 35, 92, 60, 13, 68, 62, 14, 80, 64, 82, 48, 101, 31, 33, 65, 97, 54, 39, 55, 27, 82, 95, 31, 35, 60, 77, 40, 73, 83, 52, 80, 98, 45, 73, 6, 92, 43, 92, 38, 63, 65, 68, 73, 98, 37, 30, 70, 62, 63, 44, 37, 48, 65, 32, 97, 65],
        hash: 801368913,
      },
    };
    for (const alpha of [5, 0.1]) {
      const p = numpyUciHarPartition(subj, y, alpha);
      expect(p.shards.map((s) => s.indices.length)).toEqual(want[String(alpha)].sizes);
      let hash = 0;
      for (const s of p.shards) {
        let fp = 0;
        s.indices.forEach((row, j) => (fp = (fp + (row + 1) * (j + 1)) % 1000003));
        hash = (hash * 31 + fp) % 1000000007;
      }
      expect(hash).toBe(want[String(alpha)].hash);
      expect([...p.dev.values()].reduce((a, d) => a + d.length, 0)).toBe(1462);
      const fd = createFederatedDataset('uci-har', { source: { kind: 'uci-har', path: REAL }, alpha, partitionRng: 'numpy' });
      expect(fd.summary().map((c) => c.train)).toEqual(want[String(alpha)].sizes);
      expect(fd.summary()[0].name).toBe('subject-01/shard-0');
      expect(fd.dev().size).toBe(1462);
    }
  });

  it('offers the numpy partition for UCI-HAR only', () => {
    const fd = createFederatedDataset('uci-har', { scale: 0.2, alpha: 0.1, partitionRng: 'numpy' });
    expect(fd.numClients).toBe(20);
    for (const c of fd.summary()) expect(c.train).toBeGreaterThanOrEqual(5);
    expect(() => createFederatedDataset('ucf101', { partitionRng: 'numpy' })).toThrow(/replays the original's partition code on the real files \(simulated data: uci-har only\)/);
  });

  it("replays the original server's client schedule: np.random.seed(round); choice(N, int(rate·N), replace=False)", () => {
    // values from numpy 2.4: np.random.seed(r); np.random.choice(range(105), 10, replace=False)
    expect(Array.from(numpyClientChoice(0, 105, 10))).toEqual([26, 61, 2, 62, 85, 48, 16, 100, 56, 45]);
    expect(Array.from(numpyClientChoice(1, 105, 10))).toEqual([65, 35, 42, 93, 38, 39, 54, 86, 31, 77]);
    expect(Array.from(numpyClientChoice(199, 105, 10))).toEqual([80, 92, 29, 31, 52, 44, 38, 25, 21, 99]);
    expect(Array.from(numpyClientChoice(7, 33, Math.floor(0.25 * 33)))).toEqual([2, 28, 1, 9, 13, 5, 20, 16]);
  });

  it('maps the schedule through the original client order (ids sorted as strings) under partitionRng numpy', () => {
    const spec = { kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.5, dirichletAlpha: 0.1, partitionRng: 'numpy' } as const;
    const task = new FedMultimodalTask(spec);
    const names = task.data.summary().map((c) => c.name);
    const order = task.data.originalOrder;
    // '<subject>-<shard>' sorted as strings: subject 1's shards, then 11's, 14's … before 3's
    const paper = (k: number) => names[k].replace(/^subject-0*(\d+)\/shard-(\d+)$/, '$1-$2');
    const sortedPaper = Array.from(order, paper);
    expect(sortedPaper).toEqual([...sortedPaper].sort());
    expect(sortedPaper.slice(4, 7)).toEqual(['1-4', '11-0', '11-1']);
    const k = Math.floor(0.4 * task.numClients);
    const want = Array.from(numpyClientChoice(3, task.numClients, k), (i) => order[i]).sort((a, b) => a - b);
    expect(Array.from(task.scheduleClients(3, 0.4)!)).toEqual(want);
    expect(new FedMultimodalTask({ ...spec, partitionRng: 'fedmm' }).scheduleClients(3, 0.4)).toBeNull();
  });
});
