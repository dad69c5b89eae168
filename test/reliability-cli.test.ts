// Issue 11's hostile-user cases through the built command (node dist/src/cli/main.js; build first): a disk
// that fills while the model is written, a damaged final file found on --resume, --out where results
// cannot live, and the one-line errors of each.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fedmm, fedmmAsync } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-rel-cli-'));
// A read-only file system needs a mount (root in CI); elsewhere that case is skipped.
const ro = join(dir, 'read-only');
mkdirSync(ro);
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]).status === 0;
afterAll(() => {
  if (mounted) spawnSync('umount', [ro]);
  rmSync(dir, { recursive: true, force: true });
});

const DISK_FULL = resolve('test/fixtures/disk-full.mjs');
const TINY = ['run', '--dataset', 'uci-har', '--rounds', '3', '--scale', '0.05', '--client-rate', '0.2', '--hid-size', '8', '--workers', '0', '--checkpoint-every', '1', '--no-report'];

/** The one line an error run prints ('fedmm: …' stripped). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('fedmm: '));
  expect(lines, stderr).toHaveLength(1);
  return lines[0].slice('fedmm: '.length);
}

describe('case 1: a full disk never leaves a truncated model that --resume keeps', () => {
  test('ENOSPC names the file, leaves no partial model, and --resume recomputes it bit-identically', { timeout: 300_000 }, async () => {
    const clean = join(dir, 'clean');
    expect((await fedmmAsync([...TINY, '--out', clean])).code).toBe(0);
    const full = join(dir, 'full');
    const failed = await fedmmAsync([...TINY, '--out', full], { nodeArgs: ['--import', DISK_FULL], env: { FEDMM_TEST_ENOSPC: 'model.safetensors:4096' } });
    expect(failed.code).toBe(1);
    const model = join(full, 'seed-0', 'model.safetensors');
    expect(errorLine(failed.stderr)).toBe(`cannot write ${model}: no space left on the device (ENOSPC)`);
    expect(existsSync(model)).toBe(false);

    const resumed = await fedmmAsync([...TINY, '--out', full, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('seed-0: its final files were not all written (no manifest.json); recomputing from the last good checkpoint');
    expect(readFileSync(model).equals(readFileSync(join(clean, 'seed-0', 'model.safetensors')))).toBe(true);

    // A final file damaged after the run finished: found on --resume, recomputed from the checkpoint, said so.
    const damaged = join(dir, 'damaged');
    cpSync(clean, damaged, { recursive: true });
    const size = readFileSync(join(clean, 'seed-0', 'model.safetensors')).length;
    truncateSync(join(damaged, 'seed-0', 'model.safetensors'), 1000);
    const again = await fedmmAsync([...TINY, '--out', damaged, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`seed-0: model.safetensors is damaged (1000 bytes, expected ${size}); recomputing from the last good checkpoint`);
    expect(readFileSync(join(damaged, 'seed-0', 'model.safetensors')).equals(readFileSync(join(clean, 'seed-0', 'model.safetensors')))).toBe(true);
    // An intact finished run is kept as it is.
    const kept = await fedmmAsync([...TINY, '--out', damaged, '--resume']);
    expect(kept.stderr).toContain('seed-0: finished earlier, kept');
  });
});

describe('case 4 and 10: --out is checked before any work, with one clear line', () => {
  test('--out under /proc is refused at once instead of spinning', () => {
    const t0 = Date.now();
    const r = fedmm([...TINY, '--out', '/proc/fedmm-results']);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toBe("--out /proc/fedmm-results is on the kernel's proc file system, which cannot hold results; choose a folder on a disk");
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  test('--out naming a file says so (no raw EEXIST)', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = fedmm([...TINY, '--out', file]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toBe(`--out ${file} is a file, not a folder; choose a folder for the results`);
  });

  test.skipIf(!mounted)('--out on a read-only mount says read-only (not ENOENT … mkdir)', () => {
    const r = fedmm([...TINY, '--out', join(ro, 'x', 'y')]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toBe(`--out ${join(ro, 'x', 'y')}: its nearest existing folder ${ro} is on a read-only file system`);
  });

  test('a grid cell named .. and a grid cell with rounds -3 name grid and cell', () => {
    const grid = join(dir, 'g.json');
    writeFileSync(grid, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: '..', rounds: 2 }] }));
    const dots = fedmm(['grid', grid, '--out', join(dir, 'grid-out')]);
    expect(dots.code).toBe(2);
    expect(errorLine(dots.stderr)).toBe(`grid ${grid}: cell 0 cannot be named '..' (its folder's name): it would point at the output folder itself or above it`);
    writeFileSync(grid, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: 'neg', rounds: -3 }, { name: 'typo', 'client-rat': 0.5 }] }));
    expect(errorLine(fedmm(['grid', grid, '--list']).stderr)).toBe(`grid ${grid}, cell 'neg': --rounds must be ≥ 1 and ≤ 1000000, got -3`);
    writeFileSync(grid, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: 'typo', 'client-rat': 0.5 }] }));
    const typo = errorLine(fedmm(['grid', grid, '--list']).stderr);
    expect(typo).toBe(`grid ${grid}, cell 'typo': unknown option '--client-rat' for 'a grid cell' (did you mean '--client-rate'?); see 'fedmm run --help'`);
    expect(fedmm(['run', '--help']).code).toBe(0);
  });

  test('--seeds 1-1000000000 and --rounds 0x10 / 1e20 are one-line usage errors', () => {
    expect(errorLine(fedmm([...TINY, '--seeds', '1-1000000000']).stderr)).toBe("--seeds: '1-1000000000' lists more than 1000 values (each is a whole run)");
    expect(errorLine(fedmm([...TINY, '--rounds', '0x10']).stderr)).toBe("--rounds expects a decimal number, got '0x10'");
    expect(errorLine(fedmm([...TINY, '--rounds', '1e20']).stderr)).toBe('--rounds must be ≥ 1 and ≤ 1000000, got 1e20 (every round keeps a metrics record in memory and in each checkpoint)');
  });
});
