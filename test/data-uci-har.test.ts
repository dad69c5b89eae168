import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFederatedDataset, loadUciHar } from '../src/data/index.js';

const CHANNELS = ['body_acc_x', 'body_acc_y', 'body_acc_z', 'body_gyro_x', 'body_gyro_y', 'body_gyro_z'];
const tmpRoots: string[] = [];
afterAll(() => tmpRoots.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The raw value of window w, channel c, step t of a fixture split. */
const value = (split: string, w: number, c: number, t: number) => (split === 'train' ? 1 : -1) * (0.01 * (c + 1) * Math.sin(0.1 * (t + 1) * (w + 1)) + 0.001 * c);
const fmt = (v: number) => {
  const [m, e] = v.toExponential(7).split('e');
  const exp = Number(e);
  return (v < 0 ? '' : ' ') + m + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(3, '0');
};

interface Fixture {
  train: { subject: number; label: number }[];
  test: { subject: number; label: number }[];
}

/** Writes a small dataset in the official "UCI HAR Dataset" text layout; returns the parent folder. */
function writeFixture(fx: Fixture, edit?: (root: string) => void): string {
  const parent = mkdtempSync(join(tmpdir(), 'fedmm-ucihar-'));
  tmpRoots.push(parent);
  const root = join(parent, 'UCI HAR Dataset');
  for (const split of ['train', 'test'] as const) {
    const rows = fx[split];
    mkdirSync(join(root, split, 'Inertial Signals'), { recursive: true });
    CHANNELS.forEach((ch, c) => {
      const text = rows.map((_, w) => ' ' + Array.from({ length: 128 }, (_, t) => fmt(value(split, w, c, t))).join(' ')).join('\n') + '\n';
      writeFileSync(join(root, split, 'Inertial Signals', `${ch}_${split}.txt`), text);
    });
    writeFileSync(join(root, split, `y_${split}.txt`), rows.map((r) => `${r.label}\n`).join(''));
    writeFileSync(join(root, split, `subject_${split}.txt`), rows.map((r) => `${r.subject}\n`).join(''));
  }
  edit?.(root);
  return parent;
}

/** 3 training subjects of 40 windows (labels cycling 1..6), 2 test subjects of 3 windows. */
const FIXTURE: Fixture = {
  train: [1, 3, 5].flatMap((subject) => Array.from({ length: 40 }, (_, i) => ({ subject, label: 1 + (i % 6) }))),
  test: [2, 4].flatMap((subject) => Array.from({ length: 3 }, (_, i) => ({ subject, label: 1 + ((i + subject) % 6) }))),
};

describe('UCI-HAR loader (official text layout)', () => {
  it('reads windows, maps labels 1..6 to 0..5 and z-normalises per window and channel', () => {
    const data = loadUciHar(writeFixture(FIXTURE));
    expect(data.layout).toBe('official-text');
    expect(data.train.n).toBe(120);
    expect(data.test.n).toBe(6);
    expect(data.train.labels[0]).toBe(0);
    expect(data.train.labels[5]).toBe(5);
    expect(Array.from(data.test.subjects)).toEqual([2, 2, 2, 4, 4, 4]);
    // window 7 of train, channel gyro_y (c = 4): z-normalised version of the written values
    const w = 7;
    const raw = Array.from({ length: 128 }, (_, t) => Math.fround(Number(fmt(value('train', w, 4, t)))));
    const mean = raw.reduce((a, b) => a + b, 0) / 128;
    const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / 128) + 1e-5;
    for (const t of [0, 31, 127]) expect(data.train.gyro[(w * 128 + t) * 3 + 1]).toBeCloseTo((raw[t] - mean) / std, 4);
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < 128; t++) {
      const v = data.train.acc[(w * 128 + t) * 3 + 2];
      s += v;
      s2 += v * v;
    }
    expect(s / 128).toBeCloseTo(0, 5);
    expect(s2 / 128).toBeCloseTo(1, 2); // (σ / (σ + 1e-5))², σ ≈ 0.007
  });

  it('builds subjects × 5 Dirichlet shards with 20% of each subject as dev and the test subjects as test', () => {
    const path = writeFixture(FIXTURE);
    const fd = createFederatedDataset('uci-har', { source: { kind: 'uci-har', path }, alpha: 5, seed: 1 });
    expect(fd.numClients).toBe(15);
    expect(fd.dev().size).toBe(3 * 8);
    expect(fd.test().size).toBe(6);
    const rows = fd.summary();
    expect(rows.reduce((a, r) => a + r.train, 0)).toBe(3 * 32);
    expect(rows[0].name).toBe('subject-01/shard-0');
    for (const r of rows) expect(r.train).toBeGreaterThanOrEqual(5);
    const b = [...fd.client(0).batches(4)][0];
    expect(b.modalities[0].T).toBe(128);
    expect(b.modalities[0].D).toBe(3);
    const t = fd.test().sample(0);
    expect(t.label).toBe(2); // y_test.txt line 1 is 3 → class 2
  });

  const broken: [string, (root: string) => void, RegExp][] = [
    ['a missing file', (root) => rmSync(join(root, 'train', 'Inertial Signals', 'body_gyro_z_train.txt')), /missing file .*body_gyro_z_train\.txt/],
    [
      'a short row',
      (root) => {
        const f = join(root, 'test', 'Inertial Signals', 'body_acc_y_test.txt');
        const rows = Array.from({ length: 6 }, (_, w) => ' ' + Array.from({ length: w === 4 ? 127 : 128 }, () => fmt(0.5)).join(' '));
        writeFileSync(f, rows.join('\n') + '\n');
      },
      /body_acc_y_test\.txt:5: expected 128 values, got 127/,
    ],
    [
      'a bad number',
      (root) => {
        const f = join(root, 'train', 'Inertial Signals', 'body_acc_x_train.txt');
        const rows = Array.from({ length: 120 }, (_, w) => ' ' + Array.from({ length: 128 }, (_, t) => (w === 2 && t === 9 ? 'abc' : fmt(0.25))).join(' '));
        writeFileSync(f, rows.join('\n') + '\n');
      },
      /body_acc_x_train\.txt:3:\d+: bad number 'abc' \(value 10\): not a decimal number/,
    ],
    [
      'an unknown label',
      (root) => writeFileSync(join(root, 'test', 'y_test.txt'), '1\n2\n3\n7\n1\n1\n'),
      /y_test\.txt:4:1: unknown label '7' \(expected 1\.\.6\)/,
    ],
    [
      'a row count mismatch',
      (root) => writeFileSync(join(root, 'test', 'subject_test.txt'), '2\n2\n4\n'),
      /subject_test\.txt: 3 rows, but .*y_test\.txt has 6/,
    ],
  ];
  for (const [what, edit, message] of broken) {
    it(`names the file and line for ${what}`, () => {
      expect(() => loadUciHar(writeFixture(FIXTURE, edit))).toThrow(message);
    });
  }

  it('says what it expected when the folder holds no UCI-HAR data', () => {
    const empty = mkdtempSync(join(tmpdir(), 'fedmm-ucihar-empty-'));
    tmpRoots.push(empty);
    expect(() => loadUciHar(empty)).toThrow(/no UCI-HAR data in .*expected 'UCI HAR Dataset/);
    expect(() => loadUciHar(join(empty, 'nope'))).toThrow(/no such folder/);
  });
});

describe('UCI-HAR compact float32 layout', () => {
  it('reads <channel>_<split>.f32 files and rejects a truncated one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-ucihar-f32-'));
    tmpRoots.push(dir);
    const n = { train: 12, test: 2 };
    for (const split of ['train', 'test'] as const) {
      CHANNELS.forEach((ch, c) => {
        const x = new Float32Array(n[split] * 128).map((_, i) => value(split, Math.floor(i / 128), c, i % 128));
        writeFileSync(join(dir, `${ch}_${split}.f32`), Buffer.from(x.buffer));
      });
      writeFileSync(join(dir, `y_${split}.txt`), Array.from({ length: n[split] }, (_, i) => `${1 + (i % 6)}\n`).join(''));
      writeFileSync(join(dir, `subject_${split}.txt`), Array.from({ length: n[split] }, () => (split === 'train' ? '1\n' : '2\n')).join(''));
    }
    const data = loadUciHar(dir);
    expect(data.layout).toBe('compact-f32');
    expect(data.train.n).toBe(12);
    expect(Array.from(data.train.labels.slice(0, 7))).toEqual([0, 1, 2, 3, 4, 5, 0]);
    writeFileSync(join(dir, 'body_gyro_x_test.f32'), Buffer.alloc(100));
    const again = mkdtempSync(join(tmpdir(), 'fedmm-ucihar-f32b-'));
    tmpRoots.push(again);
    for (const f of CHANNELS.flatMap((ch) => [`${ch}_train.f32`, `${ch}_test.f32`]).concat(['y_train.txt', 'y_test.txt', 'subject_train.txt', 'subject_test.txt'])) {
      writeFileSync(join(again, f), readFileSync(join(dir, f)));
    }
    expect(() => loadUciHar(again)).toThrow(/body_gyro_x_test\.f32: 100 bytes is not a whole number of 128-value float32 rows/);
  });
});

const REAL = join(process.cwd(), '..', 'shared', 'data', 'uci-har');
describe('real UCI-HAR smoke check', () => {
  it.skipIf(!existsSync(join(REAL, 'body_acc_x_train.f32')))('loads ../shared/data/uci-har: 7,352 + 2,947 windows, 105 clients, 1,462 dev', () => {
    const fd = createFederatedDataset('uci-har', { source: { kind: 'uci-har', path: REAL }, alpha: 5, seed: 0 });
    expect(fd.numClients).toBe(105);
    expect(fd.dev().size).toBe(1462);
    expect(fd.test().size).toBe(2947);
    expect(Array.from(fd.test().labelHistogram)).toEqual([496, 471, 420, 491, 532, 537]);
    const s = fd.client(0).sample(0);
    expect(s.modalities[0].length).toBe(128);
    expect(s.modalities[1].data.every(Number.isFinite)).toBe(true);
  });
});
