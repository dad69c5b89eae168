// scripts/import-fedmultimodal.py: small pickles built in the original's structure (output/feature/... and
// output/partition/...) convert into a prepared dataset that reads back value for value; damaged inputs are
// refused in one line naming the file and record. Needs python3 with numpy (the script's only dependency).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createFederatedDataset } from '../src/data/federated.js';

const SCRIPT = resolve('scripts/import-fedmultimodal.py');
const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const skip = numpy.status !== 0 ? `python3 with numpy is not available (${(numpy.error?.message ?? numpy.stderr).trim().split('\n').pop()})` : '';
if (skip) console.warn(`import-fedmultimodal tests skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'fedmm-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Writes the original's trees and expected.json (every sample's label and features, in fedmm's order:
// clients sorted, then dev, then test). CREMA-D: [key, path, label, features] per record, video of some
// samples missing (None) and stored [1, T, D] for others; PTB-XL: multi-hot labels, no folds.
const FIXTURE = String.raw`
import json, os, pickle, sys
import numpy as np
root = sys.argv[1]
rng = np.random.RandomState(3)
expected = {}
def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)

# CREMA-D, fold 1 and fold 2: audio [T<=7, 80], video [T<=3, 1280]
for fold in (1, 2):
    part, samples = {}, []
    clients = {'1001': 3, '1002': 4, 'dev': 2, 'test': 3} if fold == 1 else {'1003': 2, '1004': 3, 'dev': 1, 'test': 2}
    for c in sorted(k for k in clients if k not in ('dev', 'test')) + ['dev', 'test']:
        audio, video, p = [], [], []
        for j in range(clients[c]):
            key, path, label = f'{c}/s{j}', f'/raw/{c}_{j}.wav', int(rng.randint(4))
            a = rng.randn(int(rng.randint(1, 8)), 80).astype(np.float32)
            v = None if j == 1 else rng.randn(int(rng.randint(1, 4)), 1280).astype(np.float32)
            audio.append([key, path, label, a])
            video.append([key, path, label, None if v is None else (v[None] if j == 2 else v)])
            p.append([key, path, label, 'speaker'])
            samples.append({'label': [3, 2, 1, 0][label], 'a': a.ravel().tolist(), 'b': [] if v is None else v.ravel().tolist()})
        dump(f'{root}/feature/audio/mfcc/crema_d/fold{fold}/{c}.pkl', audio)
        dump(f'{root}/feature/video/mobilenet_v2/crema_d/fold{fold}/{c}.pkl', video)
        part[c] = p
    os.makedirs(f'{root}/partition/crema_d/fold{fold}', exist_ok=True)
    with open(f'{root}/partition/crema_d/fold{fold}/partition.json', 'w') as f:
        json.dump(part, f)
    expected[f'crema-d/fold{fold}'] = samples

# PTB-XL: limb and chest [T, 6], labels as the partition script writes them (a list of 5 floats)
samples = []
for c in sorted(['7', '12']) + ['dev', 'test']:
    limb, chest = [], []
    for j in range(2):
        y = [float(x) for x in rng.randint(2, size=5)]
        l, h = rng.randn(5, 6).astype(np.float32), rng.randn(5, 6).astype(np.float32)
        limb.append([f'{c}/r{j}', f'records100/{c}_{j}_lr', y, l])
        chest.append([f'{c}/r{j}', f'records100/{c}_{j}_lr', y, h])
        samples.append({'label': [int(v) for v in y], 'a': l.ravel().tolist(), 'b': h.ravel().tolist()})
    dump(f'{root}/feature/I_to_AVF/ptb-xl/{c}.pkl', limb)
    dump(f'{root}/feature/V1_to_V6/ptb-xl/{c}.pkl', chest)
expected['ptb-xl'] = samples
with open(f'{root}/expected.json', 'w') as f:
    json.dump(expected, f)
`;

function py(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Expected {
  label: number | number[];
  a: number[];
  b: number[];
}

describe.skipIf(skip !== '')('scripts/import-fedmultimodal.py (needs python3 with numpy)', () => {
  const orig = join(dir, 'output');
  const fixture = join(dir, 'fixture.py');
  writeFileSync(fixture, FIXTURE);
  const made = py([fixture, orig]);
  const expected = made.code === 0 ? (JSON.parse(readFileSync(join(orig, 'expected.json'), 'utf8')) as Record<string, Expected[]>) : {};

  /** Every sample of the prepared dataset in manifest order: clients' train, dev, test. */
  function samplesOf(id: string, path: string, fold: number): Expected[] {
    const fd = createFederatedDataset(id, { source: { kind: 'prepared', path }, fold });
    const sets = [...Array.from({ length: fd.numClients }, (_, k) => fd.client(k)), fd.dev(), fd.test()];
    return sets.flatMap((s) => Array.from({ length: s.size }, (_, k) => {
      const x = s.sample(k);
      return { label: typeof x.label === 'number' ? x.label : Array.from(x.label), a: Array.from(x.modalities[0].data), b: Array.from(x.modalities[1].data) };
    }));
  }

  test('CREMA-D folds (audio + video, missing and [1, T, D] features) convert value for value', { timeout: 120_000 }, () => {
    expect(made.code, made.stderr).toBe(0);
    const out = join(dir, 'crema');
    const r = py([SCRIPT, '--output-dir', orig, '--dataset', 'crema-d', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(/^import-fedmultimodal: .*crema_d\/fold3: missing/);
    for (const fold of [1, 2]) expect(py([SCRIPT, '--output-dir', orig, '--dataset', 'crema-d', '--fold', String(fold), '--out', out]).code).toBe(0);
    for (const fold of [1, 2]) {
      const got = samplesOf('crema-d', out, fold - 1);
      const want = expected[`crema-d/fold${fold}`];
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => {
        expect(g.label).toBe(want[i].label);
        expect(g.a).toEqual(want[i].a);
        expect(g.b).toEqual(want[i].b);
      });
    }
    const manifest = JSON.parse(readFileSync(join(out, 'fold1', 'manifest.json'), 'utf8'));
    expect(manifest.clients.map((c: { name: string }) => c.name)).toEqual(['1001', '1002']);
    expect(manifest.dev).toEqual([7, 8]);
    expect(manifest.classes).toEqual(['neutral', 'happy', 'sad', 'angry']); // fedmm's order; the original's A, S, H, N remapped
  });

  test('PTB-XL (multi-label, no folds) converts value for value', () => {
    const out = join(dir, 'ptb');
    const r = py([SCRIPT, '--output-dir', orig, '--dataset', 'ptb-xl', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('8 samples, 2 clients, 2 dev, 2 test');
    const got = samplesOf('ptb-xl', out, 0);
    expect(got).toEqual(expected['ptb-xl']);
  });

  test('damaged pickles are refused naming the file and record', { timeout: 180_000 }, () => {
    const bad = join(dir, 'bad');
    const edit = (code: string) => py(['-c', `import pickle, sys\np = sys.argv[1]\nrecs = pickle.load(open(p, 'rb'))\n${code}\npickle.dump(recs, open(p, 'wb'))`, join(bad, 'feature/V1_to_V6/ptb-xl/12.pkl')]);
    expect(py([fixture, bad]).code).toBe(0);
    const files = ['feature/V1_to_V6/ptb-xl/12.pkl', 'feature/I_to_AVF/ptb-xl/7.pkl'].map((f) => join(bad, f));
    const originals = files.map((f) => readFileSync(f));
    const fresh = () => files.forEach((f, k) => writeFileSync(f, originals[k]));
    const run = () => py([SCRIPT, '--output-dir', bad, '--dataset', 'ptb-xl', '--out', join(dir, 'bad-out')]).stderr.trim();
    fresh();
    edit("recs[1][0] = 'other/key'");
    expect(run()).toMatch(/^import-fedmultimodal: .*V1_to_V6\/ptb-xl\/12.pkl: record 1 is '12\/r1'\/'records100\/12_1_lr' in 12.pkl but 'other\/key'/);
    fresh();
    edit('recs[0][-2] = [1, 0, 2, 0, 0]');
    expect(run()).toMatch(/^import-fedmultimodal: .*V1_to_V6\/ptb-xl\/12.pkl: record 0: label \[1, 0, 2, 0, 0\] is not 5 zeros\/ones$/);
    fresh();
    edit('import numpy as np\nrecs[1][-1] = np.zeros((5, 4))');
    expect(run()).toMatch(/^import-fedmultimodal: .*V1_to_V6\/ptb-xl\/12.pkl: record 1: features have shape \[5, 4\], expected \[T, 6\]$/);
    fresh();
    edit('recs.pop()');
    expect(run()).toMatch(/12.pkl: 1 records, but .*I_to_AVF\/ptb-xl\/12.pkl has 2$/);
    fresh();
    writeFileSync(join(bad, 'feature/I_to_AVF/ptb-xl/7.pkl'), readFileSync(join(bad, 'feature/I_to_AVF/ptb-xl/7.pkl')).subarray(0, 40));
    expect(run()).toMatch(/I_to_AVF\/ptb-xl\/7.pkl: not a readable pickle/);
  });

  test('a partition that disagrees with the features is refused', () => {
    const out = join(dir, 'crema-bad');
    const part = join(orig, 'partition/crema_d/fold2/partition.json');
    const p = JSON.parse(readFileSync(part, 'utf8'));
    p['1003'].pop();
    writeFileSync(part, JSON.stringify(p));
    const r = py([SCRIPT, '--output-dir', orig, '--dataset', 'crema-d', '--fold', '2', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/crema_d\/fold2\/1003.pkl: its 2 records differ from client '1003' in .*partition.json \(1 records\)$/);
  });
});
