// The prepared-dataset format: export of a simulated dataset reads back sample for sample (single- and
// multi-label, missing modalities, folds), and damaged folders are refused naming the file and record.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createFederatedDataset } from '../src/data/federated.js';
import { exportFederated, openPrepared, writePrepared } from '../src/data/prepared.js';
import { getDataset } from '../src/data/registry.js';
import { SafetensorsFile, tensorOf, writeSafetensorsFile } from '../src/data/safetensors-file.js';
import type { ClientDataset, FederatedDataset } from '../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-prepared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sameSamples(a: ClientDataset, b: ClientDataset): void {
  expect(b.size).toBe(a.size);
  expect(Array.from(b.labelHistogram)).toEqual(Array.from(a.labelHistogram));
  for (let k = 0; k < a.size; k++) {
    const x = a.sample(k);
    const y = b.sample(k);
    expect(y.label).toEqual(x.label);
    x.modalities.forEach((m, j) => {
      expect(y.modalities[j].length).toBe(m.length);
      expect(Array.from(y.modalities[j].data)).toEqual(Array.from(m.data.subarray(0, m.length * m.dim)));
    });
  }
}

function sameDataset(a: FederatedDataset, b: FederatedDataset): void {
  expect(b.numClients).toBe(a.numClients);
  for (let k = 0; k < a.numClients; k++) {
    sameSamples(a.client(k), b.client(k));
    sameSamples(a.clientDev(k), b.clientDev(k));
  }
  sameSamples(a.test(), b.test());
  expect(b.dev().size).toBe(a.dev().size);
}

describe('prepared datasets', () => {
  test('a simulated single-label dataset round-trips through export', () => {
    const sim = createFederatedDataset('uci-har', { scale: 0.05, seed: 2 });
    const out = join(dir, 'uci');
    const m = exportFederated(sim, out, 'test');
    expect(m.clients.length).toBe(sim.numClients);
    const back = createFederatedDataset('uci-har', { source: { kind: 'prepared', path: out } });
    sameDataset(sim, back);
    expect(back.summary().map((r) => r.name)).toEqual(sim.summary().map((r) => r.name));
  });

  test('multi-label PTB-XL and variable lengths round-trip; shorter maxLen truncates on read', () => {
    const sim = createFederatedDataset('ptb-xl', { scale: 0.01, maxLen: { 'ecg-limb': 40, 'ecg-chest': 40 } });
    const out = join(dir, 'ptb');
    exportFederated(sim, out, 'test');
    const back = createFederatedDataset('ptb-xl', { source: { kind: 'prepared', path: out }, maxLen: { 'ecg-limb': 40, 'ecg-chest': 40 } });
    sameDataset(sim, back);
    const short = createFederatedDataset('ptb-xl', { source: { kind: 'prepared', path: out }, maxLen: { 'ecg-limb': 7, 'ecg-chest': 40 } });
    const s = short.test().sample(0);
    expect(s.modalities[0].length).toBe(7);
    expect(Array.from(s.modalities[0].data)).toEqual(Array.from(sim.test().sample(0).modalities[0].data.subarray(0, 7 * 6)));
  });

  test('a folder of folds serves each fold; corruptions apply to prepared data as to simulated', () => {
    const out = join(dir, 'crema');
    for (let fold = 0; fold < 2; fold++) exportFederated(createFederatedDataset('crema-d', { scale: 0.05, fold, maxLen: { audio: 20 } }), join(out, `fold${fold + 1}`), 'test');
    const b2 = createFederatedDataset('crema-d', { source: { kind: 'prepared', path: out }, fold: 1, maxLen: { audio: 20 } });
    sameDataset(createFederatedDataset('crema-d', { scale: 0.05, fold: 1, maxLen: { audio: 20 } }), b2);
    expect(() => createFederatedDataset('crema-d', { source: { kind: 'prepared', path: out }, fold: 2 })).toThrow(/fold3\/manifest.json/);
    const noisy = createFederatedDataset('crema-d', { source: { kind: 'prepared', path: out }, maxLen: { audio: 20 }, missingModality: 0.5, seed: 1 });
    expect(noisy.summary().some((r) => r.missing.some((x) => x))).toBe(true);
  });

  test('features are read per sample, not with the whole file', () => {
    const out = join(dir, 'uci');
    const src = openPrepared(getDataset('uci-har'), out, 0, [128, 128]);
    const acc = SafetensorsFile.open(join(out, 'acc.safetensors'));
    const i = src.size - 1;
    const row = acc.read('features', i * 128 * 3, 128 * 3);
    expect(Array.from(src.features(i)[0].data)).toEqual(Array.from(row));
    acc.close();
  });
});

describe('prepared datasets refuse damaged folders', () => {
  const spec = getDataset('uci-har');
  const base = join(dir, 'damaged');
  const write = (name: string, edit: (manifest: Record<string, unknown>) => void): string => {
    const out = join(base, name);
    exportFederated(createFederatedDataset('uci-har', { scale: 0.02 }), out, 'test');
    const file = join(out, 'manifest.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    edit(m);
    writeFileSync(file, JSON.stringify(m));
    return out;
  };
  const open = (out: string) => openPrepared(spec, out, 0, [128, 128]);

  test('manifest errors name the manifest and the field', () => {
    expect(() => open(write('wrong-dataset', (m) => (m.dataset = 'ku-har')))).toThrow(/manifest.json: holds dataset "ku-har", but --dataset is uci-har/);
    expect(() => open(write('bad-index', (m) => ((m.test as number[])[3] = 1e9)))).toThrow(/manifest.json: test\[3\] = 1000000000 is not a sample index/);
    expect(() => open(write('bad-dim', (m) => ((m.modalities as { dim: number }[])[1].dim = 4)))).toThrow(/modalities\[1\] \(gyro\) has dim 4, but the uci-har model reads 3/);
    expect(() => open(write('classes', (m) => (m.classes = ['a'])))).toThrow(/1 classes, but uci-har has 6/);
    const out = write('not-json', () => undefined);
    writeFileSync(join(out, 'manifest.json'), '{"format": ');
    expect(() => open(out)).toThrow(/manifest.json: not valid JSON/);
  });

  test('a truncated features file and an out-of-range label are refused naming the file and record', () => {
    const out = write('truncated', () => undefined);
    const f = join(out, 'gyro.safetensors');
    truncateSync(f, statSync(f).size - 10);
    expect(() => open(out)).toThrow(/gyro.safetensors: tensor '\w+' ends at byte \d+, past the end of the file .*truncated/);
    const out2 = write('label', () => undefined);
    const labels = SafetensorsFile.open(join(out2, 'labels.safetensors'));
    const y = labels.read('labels') as Int32Array;
    labels.close();
    y[5] = 6;
    writeSafetensorsFile(join(out2, 'labels.safetensors'), [tensorOf('labels', 'I32', [y.length], y)]);
    expect(() => open(out2)).toThrow(/labels.safetensors: labels\[5\] = 6 is not a class in \[0, 6\)/);
    writeFileSync(join(out2, 'labels.safetensors'), Buffer.from([1, 2, 3]));
    expect(() => open(out2)).toThrow(/labels.safetensors: truncated safetensors file \(3 bytes/);
  });

  test('the writer refuses blocks that do not fill the shape', () => {
    expect(() => writeSafetensorsFile(join(dir, 'x.safetensors'), [tensorOf('a', 'F32', [2, 3], new Float32Array(5))])).toThrow(/got 5 of 6 values/);
    expect(() => writePrepared(join(dir, 'y'), {
      spec, source: 't', classes: spec.classNames, maxLens: [2, 2], samples: 1,
      sample: () => ({ modalities: [{ data: new Float32Array(4), length: 1, dim: 4 }, { data: new Float32Array(3), length: 1, dim: 3 }], label: 0 }),
      clients: [], dev: [], test: [],
    })).toThrow(/sample 0 acc has dim 4, expected 3/);
  });
});
