// KU-HAR from hand-made CSVs in the released layout: windowing (every 2nd of rows [256w, 256w+128)), per-window
// z-normalisation against values computed by hand, subjects as clients, KFold test subjects, the original's
// numpy train/dev split, and one clear error per damaged file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createFederatedDataset } from '../src/data/federated.js';
import { kFoldTestSubjects, loadKuHar } from '../src/data/ku-har.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-ku-har-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CSV of `rows` rows: acc x = row index, acc y = 2·row, acc z = (−1)^row, gyro x/y/z = row², −row, 5 + row % 3. */
function csv(rows: number, edit?: (lines: string[]) => void): string {
  const lines = Array.from({ length: rows }, (_, r) => [r * 0.02, r, 2 * r, r % 2 === 0 ? 1 : -1, r * 0.02, r * r, -r, 5 + (r % 3)].join(','));
  edit?.(lines);
  return lines.join('\n') + '\n';
}

function layout(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, 'Trimmed_interpolated_data', path, '..'), { recursive: true });
    writeFileSync(join(root, 'Trimmed_interpolated_data', path), text);
  }
  return root;
}

const others = Object.fromEntries(['1002', '1003', '1004', '1005', '1006', '1007', '1008', '1009', '1010'].map((s) => [`1.Sit/${s}_sit.csv`, csv(255)]));
const good = layout(join(dir, 'good'), {
  '0.Stand/1001_A.csv': csv(600),
  '0.Stand/1001_B.csv': csv(300),
  '11.Walk/1001_C.csv': csv(600),
  '11.Walk/1001_D.csv': csv(256),
  '0.Stand/1001_E.csv': csv(254),
  '0.Stand/1101_X.csv': csv(600),
  '2.Talk-sit/1001_T.csv': csv(600),
  ...others,
});

describe('KU-HAR raw CSVs', () => {
  test('windows, labels and keys follow the original', () => {
    const d = loadKuHar(good);
    expect(d.n).toBe(6 + 9);
    expect(d.keys.filter((k) => k.includes('/1001_'))).toEqual(['0.Stand/1001_A.csv-0', '0.Stand/1001_A.csv-1', '0.Stand/1001_B.csv-0', '11.Walk/1001_C.csv-0', '11.Walk/1001_C.csv-1', '11.Walk/1001_D.csv-0']);
    // class folders in the original's label_dict order: 0.Stand, 1.Sit, 11.Walk, …
    expect(Array.from(d.labels)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
    expect(d.subjects.includes('1101')).toBe(false);
  });

  test('features: every 2nd row of [256w, 256w+128), z-normalised per window and axis (checked by hand)', () => {
    const d = loadKuHar(good);
    // window 1 of file A: acc x = rows 256 + 2t → (2t − 63) / (2·sqrt((64² − 1)/12) + 1e-5)
    const std = 2 * Math.sqrt((64 * 64 - 1) / 12) + 1e-5;
    const w = 1;
    for (const t of [0, 1, 31, 63]) {
      expect(d.acc[(w * 64 + t) * 3 + 0]).toBeCloseTo((2 * t - 63) / std, 5);
      expect(d.acc[(w * 64 + t) * 3 + 1]).toBeCloseTo((4 * t - 126) / (2 * (std - 1e-5) + 1e-5), 5);
      // acc z is +1 on every even row: a constant window normalises to 0
      expect(d.acc[(w * 64 + t) * 3 + 2]).toBe(0);
      expect(d.gyro[(w * 64 + t) * 3 + 1]).toBeCloseTo(-(2 * t - 63) / std, 5);
    }
    // gyro x = row²: mean of (256 + 2t)² over t, population std
    const xs = Array.from({ length: 64 }, (_, t) => (256 + 2 * t) ** 2);
    const mean = xs.reduce((a, b) => a + b) / 64;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 64) + 1e-5;
    expect(d.gyro[(w * 64 + 10) * 3]).toBeCloseTo((xs[10] - mean) / sd, 5);
  });

  test('KFold test subjects; subjects are clients; --partition-rng numpy gives the original dev split', () => {
    expect([...kFoldTestSubjects(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'], 0)]).toEqual(['a', 'b', 'c']);
    expect([...kFoldTestSubjects(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'], 4)]).toEqual(['j', 'k']);
    const fd = createFederatedDataset('ku-har', { source: { kind: 'ku-har', path: good }, fold: 1, partitionRng: 'numpy' });
    expect(fd.test().size).toBe(2); // subjects 1003, 1004
    expect(fd.numClients).toBe(8); // every training subject is a client, even with 1 window, as the original keeps them
    expect(fd.summary()[0].name).toBe('1001');
    // np.random.seed(8); shuffle(arange(6)) → [0, 2, 5, 1, 4, 3]; dev = the first int(6/5) = key 0
    const dev = fd.clientDev(0);
    expect(dev.size).toBe(1);
    expect(Array.from(dev.sample(0).modalities[0].data)).toEqual(Array.from(loadKuHar(good).acc.subarray(0, 64 * 3)));
    const mine = createFederatedDataset('ku-har', { source: { kind: 'ku-har', path: good }, fold: 1 });
    expect(mine.client(0).size).toBe(5);
  });

  test('damaged files are refused naming the file and line', () => {
    const bad = (name: string, files: Record<string, string>) => () => loadKuHar(layout(join(dir, name), files));
    expect(bad('short', { '0.Stand/1001_A.csv': csv(300, (l) => (l[41] = '1,2,3')) })).toThrow(/1001_A.csv:42: expected 8 comma-separated values, got 3$/);
    expect(bad('nan', { '0.Stand/1001_A.csv': csv(300, (l) => (l[9] = l[9].replace(/^[^,]+/, 'nan'))) })).toThrow(/1001_A.csv:10: bad number 'nan' \(column 1\)$/);
    expect(bad('huge', { '0.Stand/1001_A.csv': csv(300, (l) => (l[0] = '0,1e39,0,0,0,0,0,0')) })).toThrow(/1001_A.csv:1: bad number '1e39' \(column 2\)$/);
    expect(bad('hex', { '0.Stand/1001_A.csv': csv(300, (l) => (l[2] = '0,0x10,0,0,0,0,0,0')) })).toThrow(/1001_A.csv:3: bad number '0x10'/);
    expect(bad('name', { '0.Stand/stand.csv': csv(300) })).toThrow(/stand.csv: file name does not start with '<subject id>_'/);
    expect(bad('empty-classes', { 'Walk/1001_A.csv': csv(300) })).toThrow(/holds none of the class folders 0.Stand, 1.Sit/);
    expect(() => loadKuHar(join(dir, 'nowhere'))).toThrow(/KU-HAR: no Trimmed_interpolated_data\/ in/);
  });
});
