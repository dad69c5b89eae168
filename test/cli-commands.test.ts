// The built fedmm command (node dist/src/cli/main.js; build first with npx tsc -p tsconfig.json): help on
// every command, one-line errors with non-zero exit codes, the datasets table, doctor.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DATASET_IDS } from '../src/data/registry.js';
import { fedmm } from './cli-helpers.js';

/** An error run: exactly one line on stderr, starting 'fedmm: ', nothing on stdout. */
function oneLineError(args: string[], code: number, cwd?: string): string {
  const r = fedmm(args, { cwd });
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0].startsWith('fedmm: ')).toBe(true);
  return lines[0].slice('fedmm: '.length);
}

const COMMANDS = ['start', 'run', 'grid', 'report', 'datasets', 'bench', 'doctor', 'worker'];

describe('fedmm help', () => {
  test('fedmm --help lists every command; every command has --help with usage and examples', () => {
    const top = fedmm(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c} `);
    for (const c of COMMANDS) {
      const r = fedmm([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: fedmm ${c}`));
      expect(r.stdout, c).toContain('Examples:');
      expect(r.stdout.split('\n').filter((l) => l.startsWith(`  fedmm ${c}`)).length, c).toBeGreaterThan(0);
      expect(fedmm(['help', c]).stdout).toBe(r.stdout);
    }
  }, 180_000); // two fedmm processes per command, seconds each on a loaded machine

  test('run --help documents the FedMultimodal aliases', () => {
    const r = fedmm(['run', '--help']).stdout;
    for (const a of ['--fed_alg', '--learning_rate', '--global_learning_rate', '--sample_rate', '--num_epochs', '--missing_modailty_rate', '--missing_label_rate', '--label_nosiy_level', '--hid_size', '--en_att']) {
      expect(r).toContain(a);
    }
  });
});

describe('fedmm errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmm-cli-err-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('usage errors: one line on stderr and exit code 2', () => {
    expect(oneLineError(['frobnicate'], 2)).toBe("unknown command 'frobnicate'; commands: start, run, grid, report, datasets, export-dataset, bench, doctor, worker (see 'fedmm --help')");
    expect(oneLineError(['run', '--dataset', 'uci-har', '--roundz', '3'], 2)).toBe("unknown option '--roundz' for 'fedmm run' (did you mean '--rounds'?); see 'fedmm run --help'");
    expect(oneLineError(['run', '--dataset', 'uci-har', '--rounds', 'many'], 2)).toBe("--rounds expects a decimal number, got 'many'");
    expect(oneLineError(['run', '--dataset', 'uci-har', '--client-rate', '1.5'], 2)).toBe('--client-rate must be > 0 and ≤ 1, got 1.5');
    expect(oneLineError(['run', '--rounds', '3'], 2)).toMatch(/^missing --dataset/);
    expect(oneLineError(['run', '--dataset', 'imagenet'], 2)).toMatch(/^unknown dataset 'imagenet'/);
    expect(oneLineError(['grid'], 2)).toMatch(/^fedmm grid needs a grid name or file \(shipped: .*smoke/);
    expect(oneLineError(['grid', 'no-such-grid'], 2)).toMatch(/^no grid 'no-such-grid'/);
    expect(oneLineError(['report'], 2)).toBe('fedmm report needs one directory, got none');
    expect(oneLineError(['bench', '--only', 'gpu'], 2)).toMatch(/^--only must be one of aggregate, gemm, train-step, update, eval, round, gpu-round/);
    expect(oneLineError(['bench', '--only', 'gpu-round', '--clients', '1,0'], 2)).toBe("fedmm bench: --clients must be positive integers separated by commas, got '1,0'");
  });

  test('failures: missing data or directories are one line with exit code 1; --verbose adds the stack', () => {
    const missing = join(dir, 'nowhere');
    const msg = oneLineError(['run', '--dataset', 'uci-har', '--data-dir', missing, '--rounds', '1', '--out', join(dir, 'o1')], 1);
    expect(msg).toBe(`uci-har: no such folder ${missing} (expected a prepared dataset or 'UCI HAR Dataset/' (official text layout) or the compact body_acc_x_train.f32 layout)`);
    expect(existsSync(join(dir, 'o1'))).toBe(false);
    expect(oneLineError(['report', missing], 1)).toBe(`report: ${missing} is not a directory`);
    expect(oneLineError(['report', dir], 1)).toMatch(/^report: no experiment in /);
    const verbose = fedmm(['report', missing, '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr.split('\n')[0]).toBe(`fedmm: report: ${missing} is not a directory`);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

describe('fedmm datasets and doctor', () => {
  test('datasets prints the registry table', () => {
    const r = fedmm(['datasets']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+task\s+modalities\s+classes\s+clients\s+partition\s+metric$/);
    expect(lines).toHaveLength(2 + DATASET_IDS.length);
    expect(lines.find((l) => l.startsWith('uci-har'))).toMatch(/acc 128x3 \+ gyro 128x3\s+6\s+105\s+natural\+dirichlet\s+macro-f1/);
    const one = fedmm(['datasets', 'uci-har']);
    expect(one.stdout).toContain('published: local lr 0.05, client rate 0.1, 200 rounds, FedOpt server lr 0.025, FedProx mu 0.01, batch 16');
    const hyper = fedmm(['datasets', '--hyper']).stdout;
    expect(hyper.split('\n').find((l) => l.startsWith('ptb-xl'))).toMatch(/^ptb-xl\s+0\.05\s+0\.25\s+200\s+0\.01\s+0\.01\s+64/);
  });

  test('doctor reports the backend chosen and why, the native addon, Node and the CPU', () => {
    const r = fedmm(['doctor', '--json', '--no-gpu']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.node).toBe(process.version);
    expect(d.cpu.cores).toBeGreaterThan(0);
    expect(['js', 'native']).toContain(d.backend.chosen);
    expect(d.backend.why).toMatch(/^auto: /);
    expect(d.native.loaded).toBe(d.backend.chosen === 'native');
    if (d.native.loaded) expect(d.native.supported).toContain(d.native.active);
    expect(d.gpu).toEqual({ skipped: true });
    const js = JSON.parse(fedmm(['doctor', '--json', '--no-gpu'], { env: { FEDMM_BACKEND: 'js' } }).stdout);
    expect(js.backend).toMatchObject({ requested: 'js', chosen: 'js', why: 'forced by FEDMM_BACKEND=js' });
  });
});
