// The WFDB reader on hand-made records (format 16, gains, baselines, checksums) and PTB-XL from a hand-made
// release: superclass labels from scp_codes, sites as clients, strat_fold 9/10 as dev/test, limb and chest
// leads picked by name and z-normalised per lead; damaged files refused naming file and line or record.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createFederatedDataset } from '../src/data/federated.js';
import { loadPtbXl } from '../src/data/ptb-xl.js';
import { readWfdbHeader, readWfdbRecord } from '../src/data/wfdb.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-ptb-xl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes <path>.hea and <path>.dat: samples [N][S] int16, with per-signal gain/baseline and a correct checksum. */
function writeRecord(path: string, names: string[], samples: number[][], opts: { gain?: number[]; baseline?: number[]; checksumDelta?: number; format?: string } = {}): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const N = samples.length;
  const S = names.length;
  const buf = Buffer.alloc(N * S * 2);
  samples.forEach((row, t) => row.forEach((v, k) => buf.writeInt16LE(v, (t * S + k) * 2)));
  const base = path.split('/').pop()!;
  writeFileSync(`${path}.dat`, buf);
  const lines = [`${base} ${S} 100 ${N}`];
  names.forEach((name, k) => {
    const sum = samples.reduce((a, row) => a + row[k], 0);
    const checksum = ((((sum % 65536) + 65536 + 32768) % 65536) - 32768) + (k === 0 ? opts.checksumDelta ?? 0 : 0);
    lines.push(`${base}.dat ${opts.format ?? '16'} ${opts.gain?.[k] ?? 1000}(${opts.baseline?.[k] ?? 0})/mV 16 0 ${row0(samples, k)} ${checksum} 0 ${name}`);
  });
  writeFileSync(`${path}.hea`, lines.join('\n') + '\n');
}
const row0 = (s: number[][], k: number) => s[0][k];

describe('WFDB reader', () => {
  test('format 16 with gains and baselines gives physical values', () => {
    const p = join(dir, 'wfdb', 'rec1');
    writeRecord(p, ['I', 'II', 'V1'], [[100, -200, 7], [300, 400, -32767], [0, 1, 32767], [-1000, 2000, 3]], { gain: [1000, 200, 0], baseline: [0, 10, -5] });
    const { header, signal } = readWfdbRecord(p);
    expect(header).toMatchObject({ record: 'rec1', fs: 100, samples: 4 });
    expect(header.signals.map((s) => s.name)).toEqual(['I', 'II', 'V1']);
    // gain 0 means the WFDB default 200
    expect(Array.from(signal)).toEqual([0.1, -1.05, 0.06, 0.3, 1.95, -163.81, 0, -0.045, 163.86, -1, 9.95, 0.04].map((v, j) => {
      const d = [[100, -200, 7], [300, 400, -32767], [0, 1, 32767], [-1000, 2000, 3]][Math.floor(j / 3)][j % 3];
      const [g, b] = [[1000, 0], [200, 10], [200, -5]][j % 3];
      expect(v).toBeCloseTo((d - b) / g, 10);
      return (d - b) / g;
    }));
  });

  test('damaged records are refused naming the file and line', () => {
    const p = join(dir, 'wfdb', 'bad');
    const rows = [[1, 2], [3, 4], [5, 6]];
    writeRecord(p, ['I', 'II'], rows, { checksumDelta: 1 });
    expect(() => readWfdbRecord(p)).toThrow(/bad.dat: signal 1 \(I\) checksum 9 differs from 10 in .*bad.hea: corrupt data/);
    writeRecord(p, ['I', 'II'], rows);
    truncateSync(`${p}.dat`, 10);
    expect(() => readWfdbRecord(p)).toThrow(/bad.dat: 10 bytes, but .*bad.hea declares 3 samples × 2 signals in format 16 \(12 bytes\): truncated/);
    writeRecord(p, ['I', 'II'], rows, { format: '212' });
    expect(() => readWfdbHeader(`${p}.hea`)).toThrow(/bad.hea:2: signal format 212 is not supported \(format 16 only\)/);
    writeRecord(p, ['I', 'II'], [[1, 2], [-32768, 0]]);
    expect(() => readWfdbRecord(p)).toThrow(/bad.dat: sample 2 of signal 1 \(I\) is the invalid value -32768/);
    writeRecord(p, ['I', 'II'], rows);
    writeFileSync(`${p}.hea`, readFileSync(`${p}.hea`, 'utf8').split('\n').slice(0, 2).join('\n'));
    expect(() => readWfdbHeader(`${p}.hea`)).toThrow(/bad.hea:2: 2 signals declared, 1 signal lines: truncated header/);
    writeFileSync(`${p}.hea`, 'bad x 100 3\n');
    expect(() => readWfdbHeader(`${p}.hea`)).toThrow(/bad.hea:1: bad signal count 'x'/);
  });
});

const LEADS = ['I', 'II', 'III', 'AVR', 'AVL', 'AVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
/** Stored lead order (permuted, to check leads are picked by name). */
const STORED = ['V6', 'I', 'II', 'III', 'AVR', 'AVL', 'AVF', 'V1', 'V2', 'V3', 'V4', 'V5'];
/** Record r's digital value of lead `name` at step t. */
const value = (r: number, name: string, t: number) => ((r + 1) * (LEADS.indexOf(name) + 1) * (t % 4 === 0 ? 3 : t)) % 997 - 100;

const STATEMENTS = [
  ',description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass',
  'NORM,normal ECG,1.0,,,NORM,NORM',
  'IMI,"inferior myocardial infarction, any age",1.0,,,MI,IMI',
  'LVH,left ventricular hypertrophy,1.0,,,HYP,LVH',
  'NDT,non-diagnostic T abnormalities,1.0,1.0,,STTC,STTC',
  'SR,sinus rhythm,,,1.0,,',
];
// ecg_id, scp_codes, site, strat_fold, filename_lr (+ a report with commas and quotes)
const RECORDS: [number, string, string, number][] = [
  [1, "{'NORM': 100.0, 'SR': 0.0}", '0.0', 1],
  [2, "{'IMI': 50.0, 'LVH': 100.0}", '0.0', 2],
  [3, "{'IMI': 100.0, 'NDT': 100.0}", '0.0', 3],
  [4, "{'SR': 100.0}", '0.0', 4],
  [5, "{'NORM': 100.0}", '0.0', 5],
  [6, "{'NORM': 100.0}", '0.0', 8],
  [7, "{'LVH': 100.0}", '0.0', 9],
  [8, "{'NORM': 100.0}", '1.0', 10],
  [9, "{'NORM': 100.0}", '', 1],
  [10, "{'NORM': 100.0}", '1.0', 1],
  [11, "{'NORM': 100.0}", '0.0', 6],
  [12, "{'NDT': 100.0}", '0.0', 7],
  [13, "{'NORM': 100.0}", '0.0', 7],
  [14, "{'NORM': 100.0}", '0.0', 8],
];

function release(root: string, edit?: { db?: (lines: string[]) => void }): string {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'scp_statements.csv'), STATEMENTS.join('\n') + '\n');
  const db = ['ecg_id,patient_id,report,scp_codes,site,strat_fold,filename_lr'];
  for (const [id, scp, site, fold] of RECORDS) {
    const name = `records100/00000/${String(id).padStart(5, '0')}_lr`;
    db.push(`${id},${100 + id},"sinus rhythm, ""normal"" ECG",${JSON.stringify(scp)},${site},${fold},${name}`);
    writeRecord(join(root, name), STORED, Array.from({ length: 12 }, (_, t) => STORED.map((l) => value(id, l, t))));
  }
  edit?.db?.(db);
  writeFileSync(join(root, 'ptbxl_database.csv'), db.join('\n') + '\n');
  return root;
}

/** z-normalised lead, by hand. */
function znorm(xs: number[]): number[] {
  const m = xs.reduce((a, b) => a + b) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) + 1e-5;
  return xs.map((x) => (x - m) / sd);
}

describe('PTB-XL release', () => {
  const root = release(join(dir, 'ptb-xl', 'ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.3'));

  test('labels: diagnostic superclasses of the scp_codes at likelihood 100; records without a site dropped', () => {
    const d = loadPtbXl(join(dir));
    expect(d.n).toBe(13);
    const C = 5;
    const hot = (i: number) => Array.from(d.multi.subarray(i * C, (i + 1) * C));
    expect(hot(0)).toEqual([1, 0, 0, 0, 0]); // NORM
    expect(hot(1)).toEqual([0, 0, 0, 0, 1]); // IMI at 50 ignored, LVH → HYP
    expect(hot(2)).toEqual([0, 1, 1, 0, 0]); // MI, STTC
    expect(hot(3)).toEqual([0, 0, 0, 0, 0]); // SR is not diagnostic: kept with no label, as the original
  });

  test('sites are clients, strat_fold 9 their dev and 10 the test; leads by name, z-normalised per lead', () => {
    const fd = createFederatedDataset('ptb-xl', { source: { kind: 'ptb-xl', path: root }, maxLen: { 'ecg-limb': 12, 'ecg-chest': 12 } });
    expect(fd.summary().map((r) => [r.name, r.train, r.dev])).toEqual([['site-0', 10, 1]]); // site 1 has one training record: the original skips sites with < 10
    expect(fd.test().size).toBe(1);
    const s = fd.client(0).sample(2); // ecg_id 3
    expect(Array.from(s.label as Uint8Array)).toEqual([0, 1, 1, 0, 0]);
    const [limb, chest] = s.modalities;
    expect([limb.length, limb.dim, chest.length, chest.dim]).toEqual([12, 6, 12, 6]);
    for (let j = 0; j < 6; j++) {
      const wantLimb = znorm(Array.from({ length: 12 }, (_, t) => value(3, LEADS[j], t) / 1000)); // gain 1000: physical mV
      const wantChest = znorm(Array.from({ length: 12 }, (_, t) => value(3, LEADS[6 + j], t) / 1000));
      for (let t = 0; t < 12; t++) {
        expect(limb.data[t * 6 + j]).toBeCloseTo(wantLimb[t], 5);
        expect(chest.data[t * 6 + j]).toBeCloseTo(wantChest[t], 5);
      }
    }
  });

  test('damaged tables and records are refused naming file and line or record', () => {
    const bad = (name: string, edit: (lines: string[]) => void) => () => loadPtbXl(release(join(dir, name), { db: edit }));
    expect(bad('scp', (l) => (l[2] = l[2].replace("{'IMI': 50.0, 'LVH': 100.0}", "{'IMI: 50.0}")))).toThrow(/ptbxl_database.csv:3: scp_codes '\{'IMI: 50.0\}' is not a/);
    expect(bad('fold', (l) => (l[3] = l[3].replace(/,3,records/, ',11,records')))).toThrow(/ptbxl_database.csv:4: strat_fold '11' is not an integer in 1..10/);
    expect(bad('fields', (l) => (l[5] = '5,105,x'))).toThrow(/ptbxl_database.csv:6: 3 fields, the header has 7/);
    expect(bad('quote', (l) => (l[6] = l[6].replace('"sinus', '"sinus ')))).not.toThrow();
    expect(bad('unterminated', (l) => l.push('11,111,"never closed'))).toThrow(/ptbxl_database.csv:16: unterminated quoted field: truncated file/);
    const root2 = release(join(dir, 'trunc'));
    truncateSync(join(root2, 'records100/00000/00003_lr.dat'), 100);
    const fd = createFederatedDataset('ptb-xl', { source: { kind: 'ptb-xl', path: root2 } });
    expect(() => fd.client(0).sample(2)).toThrow(/00003_lr.dat: 100 bytes, but .*00003_lr.hea declares 12 samples × 12 signals in format 16 \(288 bytes\): truncated/);
  });
});
