// End to end through the built command: fedmm export-dataset writes a prepared dataset that
// fedmm run --data-dir trains on, and a folder that is no dataset gets one clear line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fedmm, fedmmAsync } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-cli-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fedmm export-dataset', () => {
  test('exports every fold, and fedmm run trains on the export', { timeout: 180_000 }, async () => {
    const data = join(dir, 'kh');
    const e = fedmm(['export-dataset', '--dataset', 'ku-har', '--scale', '0.05', '--folds', '--out', data]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/fold5: \d+ samples, \d+ clients, \d+ test/);
    const manifest = JSON.parse(readFileSync(join(data, 'fold2', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'fedmm-prepared-dataset', version: 1, dataset: 'ku-har', multiLabel: false });
    const out = join(dir, 'run');
    const r = await fedmmAsync(['run', '--dataset', 'ku-har', '--data-dir', data, '--folds', '2', '--rounds', '1', '--hid-size', '8', '--workers', '1', '--no-report', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fedavg attention\s+KU-HAR\s+macro-f1/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.plan.dataDir).toBe(data);
  });

  test('a folder holding another dataset or nothing is refused in one line', () => {
    const other = fedmm(['run', '--dataset', 'meld', '--data-dir', join(dir, 'kh'), '--rounds', '1']);
    expect(other.code).not.toBe(0);
    expect(other.stderr.trim()).toMatch(/^fedmm: .*fold1\/manifest.json: holds dataset "ku-har", but --dataset is meld$/);
    const none = fedmm(['run', '--dataset', 'hateful-memes', '--data-dir', dir, '--rounds', '1']);
    expect(none.stderr.trim()).toMatch(/^fedmm: .*: no manifest.json: hateful-memes is read from a prepared dataset only/);
  });
});
