// Issue 11's hostile-user cases through the built command (node dist/src/cli/main.js; build first): a disk
// that fills while the model is written, a damaged final file found on --resume, --out where results
// cannot live, and the one-line errors of each.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fedmm, fedmmAsync, fedmmInterrupted } from './cli-helpers.js';

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

/** The uninterrupted run of TINY, made once (the reference the interrupted and damaged runs must match). */
let cleanRun: Promise<string> | null = null;
function clean(): Promise<string> {
  cleanRun ??= (async () => {
    const out = join(dir, 'clean');
    const r = await fedmmAsync([...TINY, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    return out;
  })();
  return cleanRun;
}

/** The one line an error run prints ('fedmm: …' stripped). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('fedmm: '));
  expect(lines, stderr).toHaveLength(1);
  return lines[0].slice('fedmm: '.length);
}

describe('case 1: a full disk never leaves a truncated model that --resume keeps', () => {
  test('ENOSPC names the file, leaves no partial model, and --resume recomputes it bit-identically', { timeout: 300_000 }, async () => {
    const reference = await clean();
    const full = join(dir, 'full');
    const failed = await fedmmAsync([...TINY, '--out', full], { nodeArgs: ['--import', DISK_FULL], env: { FEDMM_TEST_ENOSPC: 'model.safetensors:4096' } });
    expect(failed.code).toBe(1);
    const model = join(full, 'seed-0', 'model.safetensors');
    expect(errorLine(failed.stderr)).toBe(`cannot write ${model}: no space left on the device (ENOSPC)`);
    expect(existsSync(model)).toBe(false);

    const resumed = await fedmmAsync([...TINY, '--out', full, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('seed-0: its final files were not all written (no manifest.json); recomputing from the last good checkpoint');
    expect(readFileSync(model).equals(readFileSync(join(reference, 'seed-0', 'model.safetensors')))).toBe(true);

    // A final file damaged after the run finished: found on --resume, recomputed from the checkpoint, said so.
    const damaged = join(dir, 'damaged');
    cpSync(reference, damaged, { recursive: true });
    const size = readFileSync(join(reference, 'seed-0', 'model.safetensors')).length;
    truncateSync(join(damaged, 'seed-0', 'model.safetensors'), 1000);
    const again = await fedmmAsync([...TINY, '--out', damaged, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`seed-0: model.safetensors is damaged (1000 bytes, expected ${size}); recomputing from the last good checkpoint`);
    expect(readFileSync(join(damaged, 'seed-0', 'model.safetensors')).equals(readFileSync(join(reference, 'seed-0', 'model.safetensors')))).toBe(true);
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

describe('case 6 and 7: a run that trains nothing or diverges fails with one line', () => {
  test('no trainable client (missing modality or labels 0.999) is an error, not a result', async () => {
    for (const [flag, what] of [['--missing-modality', 'missing modality 0.999, missing labels 0'], ['--missing-label', 'missing modality 0, missing labels 0.999']]) {
      const out = join(dir, `untrainable${flag}`);
      const r = await fedmmAsync([...TINY, flag, '0.999', '--out', out]);
      expect(r.code).toBe(1);
      expect(errorLine(r.stderr)).toMatch(new RegExp(`^no client can train: each of the \\d+ clients lacks a modality or a labeled sample \\(${what}\\)$`));
      expect(existsSync(join(out, 'result.json'))).toBe(false);
    }
  });

  test('a diverged model (server lr 1e30) is an error, not a best round', async () => {
    const out = join(dir, 'diverged');
    const r = await fedmmAsync([...TINY, '--server-lr', '1e30', '--rounds', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/^round 0: the model diverged: (its dev loss is NaN|global parameter \d+ is (NaN|-?Infinity) after the server step); lower the learning rates$/);
    expect(existsSync(join(out, 'result.json'))).toBe(false);
    expect(existsSync(join(out, 'seed-0', 'model.safetensors'))).toBe(false);
    // the run's directory says why it stopped, and so does the report
    const failure = JSON.parse(readFileSync(join(out, 'seed-0', 'failure.json'), 'utf8'));
    expect(failure.message).toBe(errorLine(r.stderr));
    const report = fedmm(['report', out, '--markdown']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(`(failed: seed-0: ${failure.message})`);
  });
});

describe('case 11: Ctrl-C saves the last completed round', () => {
  test('SIGINT after a round writes its checkpoint; --resume continues from it to the uninterrupted bits', { timeout: 300_000 }, async () => {
    const reference = await clean();
    const out = join(dir, 'interrupted');
    const r = await fedmmInterrupted([...TINY, '--checkpoint-every', '0', '--out', out], /round 1\/3/);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted: round [12] is saved in /);
    const latest = JSON.parse(readFileSync(join(out, 'seed-0', 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest.completedRounds).toBeGreaterThanOrEqual(1);
    const resumed = await fedmmAsync([...TINY, '--checkpoint-every', '0', '--out', out, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).not.toContain('starting from round 0');
    const rounds = readFileSync(join(out, 'seed-0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).round);
    expect(rounds).toEqual([0, 1, 2]);
    expect(readFileSync(join(out, 'seed-0', 'model.safetensors')).equals(readFileSync(join(reference, 'seed-0', 'model.safetensors')))).toBe(true);
  });
});
