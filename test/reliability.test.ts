// Issue 11's hostile-user cases below the command line: strict numbers in the UCI-HAR reader and in flags,
// bounded lists and rounds, path safety of grid cells and checkpoint pointers, verified checkpoints, and the
// wire decoder's limits. (test/reliability-cli.test.ts runs the cases that need the built command.)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, parseIntegerList, UsageError } from '../src/cli/args.js';
import { loadGrid } from '../src/cli/grid.js';
import { buildPlan, EXPERIMENT_OPTIONS } from '../src/cli/run-options.js';
import { loadUciHar } from '../src/data/uci-har.js';
import { float32Problem, parseDecimal } from '../src/io/decimal.js';
import { isInside, outputDirProblem, pathPartProblem } from '../src/io/paths.js';
import { readLatestCheckpoint } from '../src/runtime/checkpoint.js';
import { runFederated } from '../src/runtime/scheduler.js';
import { decodeUpdate, encodeUpdate, maxUpdateBytes, type EncodableUpdate } from '../src/runtime/wire.js';
import { uciHarFiles, writeUciHar } from './helpers/uci-har-fixture.js';

const tmpRoots: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), `fedmm-rel-${prefix}-`));
  tmpRoots.push(d);
  return d;
};
afterAll(() => tmpRoots.forEach((d) => rmSync(d, { recursive: true, force: true })));

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

/** The fixture with one edit applied to the text of `file`. */
function withEdit(file: string, edit: (text: string) => string): string {
  const files = uciHarFiles();
  files.set(file, edit(files.get(file)!));
  const root = writeUciHar(files);
  tmpRoots.push(root);
  return root;
}

const ACC_X_TRAIN = 'train/Inertial Signals/body_acc_x_train.txt';

describe('case 2: the UCI-HAR text reader accepts only valid numbers, labels and subjects', () => {
  it('reads the untouched fixture', () => {
    const root = writeUciHar(uciHarFiles());
    tmpRoots.push(root);
    expect(loadUciHar(root).train.n).toBe(24);
  });

  it('refuses a file cut off inside its last number, naming file and line', () => {
    // The last token '-2.1326350e-001' loses a digit: 10x off, yet a valid-looking number.
    const root = withEdit(ACC_X_TRAIN, (t) => t.slice(0, -2));
    expect(message(() => loadUciHar(root))).toMatch(/body_acc_x_train\.txt:24: the file ends in the middle of a line; it looks truncated$/);
  });

  it('refuses hexadecimal signals and labels, naming file, line and column', () => {
    let column = 0;
    const hex = withEdit(ACC_X_TRAIN, (t) => {
      const lines = t.split('\n');
      const tokens = lines[1].trim().split(/\s+/);
      tokens[2] = '0x10';
      lines[1] = ' ' + tokens.join(' ');
      column = lines[1].indexOf('0x10') + 1;
      return lines.join('\n');
    });
    expect(message(() => loadUciHar(hex))).toMatch(new RegExp(`body_acc_x_train\\.txt:2:${column}: bad number '0x10' \\(value 3\\): not a decimal number$`));
    const label = withEdit('train/y_train.txt', (t) => t.replace(/^(.*\n.*\n)3\n/, '$10x3\n'));
    expect(message(() => loadUciHar(label))).toMatch(/y_train\.txt:3:1: unknown label '0x3' \(expected 1\.\.6\)$/);
  });

  it('refuses a value float32 cannot hold instead of turning its window into NaNs', () => {
    const root = withEdit(ACC_X_TRAIN, (t) => t.replace(/\n /, '\n 1e39 ').replace(/\n 1e39 \S+/, '\n 1e39'));
    expect(message(() => loadUciHar(root))).toMatch(/body_acc_x_train\.txt:2:2: bad number '1e39' \(value 1\): beyond the float32 range/);
  });

  it('refuses a test subject that is also a training subject (train/test leakage)', () => {
    const root = withEdit('test/subject_test.txt', (t) => t.replace(/2\n$/, '3\n'));
    expect(message(() => loadUciHar(root))).toMatch(/subject_test\.txt:6: test subject 3 is also a training subject \(.*subject_train\.txt:13\)/);
  });
});

describe('the decimal grammar', () => {
  it('accepts plain decimals only and checks the float32 range', () => {
    for (const ok of ['0', '-1', '+2.5', '.5', '5.', '1e5', '-2.1326350e-001', '3.4028234e38']) expect(parseDecimal(ok), ok).not.toBeNull();
    for (const bad of ['', ' 1', '1 ', '0x10', '0b1', '0o7', 'Infinity', 'NaN', '1e', 'e5', '--1', '1.2.3', '1_000', '١']) expect(parseDecimal(bad), bad).toBeNull();
    expect(float32Problem('3.5e38')).toMatch(/float32 range/);
    expect(float32Problem('-1e39')).toMatch(/float32 range/);
    expect(float32Problem('1e-50')).toBeNull();
  });
});

describe('case 3: flags are decimal, ranges and rounds are bounded', () => {
  const plan = (...argv: string[]) => message(() => buildPlan(parseArgs(['--dataset', 'uci-har', ...argv], EXPERIMENT_OPTIONS, 'fedmm run')));
  it('refuses a seed range that would expand without bound, before expanding it', () => {
    const t0 = performance.now();
    expect(plan('--seeds', '1-1000000000')).toBe("--seeds: '1-1000000000' lists more than 1000 values (each is a whole run)");
    expect(performance.now() - t0).toBeLessThan(100);
    expect(message(() => parseIntegerList('4294967296', '--seeds', 2 ** 32 - 1))).toBe("--seeds: '4294967296' exceeds the largest value 4294967295");
  });
  it('refuses hexadecimal and out-of-range rounds with the limit and its reason', () => {
    expect(plan('--rounds', '0x10')).toBe("--rounds expects a decimal number, got '0x10'");
    expect(plan('--rounds', '1e20')).toBe('--rounds must be ≥ 1 and ≤ 1000000, got 1e20 (every round keeps a metrics record in memory and in each checkpoint)');
    expect(plan('--seed', '4294967296')).toMatch(/^--seed must be ≥ 0 and ≤ 4294967295, got 4294967296 \(seeds are 32-bit/);
    expect(plan('--lr', '1e39')).toBe('--lr: 1e39 is beyond the float32 range (±3.4e38) the model computes in');
    expect(plan('--rounds', '16')).toBe('no error');
  });
});

describe('case 8: names used as path parts, checkpoint pointers', () => {
  it('refuses grid cells named . or .. (or with separators) naming grid and cell', () => {
    expect(pathPartProblem('..')).toMatch(/above it/);
    expect(pathPartProblem('.')).toMatch(/above it/);
    expect(pathPartProblem('a/b')).toMatch(/no separators/);
    expect(pathPartProblem('fedavg_alpha-0.1')).toBeNull();
    const dir = tmp('grid');
    const file = join(dir, 'g.json');
    writeFileSync(file, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: 'ok' }, { name: '..', alg: 'fedopt' }] }));
    expect(message(() => loadGrid(file))).toBe(`grid ${file}: cell 1 cannot be named '..' (its folder's name): it would point at the output folder itself or above it`);
    expect(isInside(dir, join(dir, 'a', '..', 'b'))).toBe(true);
    expect(isInside(dir, join(dir, '..', 'etc'))).toBe(false);
  });

  it('never follows latest.json outside the run folder, and names the file when it is not JSON', async () => {
    const task = { kind: 'logistic', numClients: 6, features: 4, classes: 3, minSamples: 10, maxSamples: 20 };
    const out = tmp('pointer');
    await runFederated({ task, rounds: 2, clientRate: 0.5, batchSize: 8, workers: 0, checkpointEvery: 1, outDir: out }, { log: () => {} });
    const latest = join(out, 'checkpoints', 'latest.json');
    writeFileSync(latest, JSON.stringify({ dir: '../../../../etc' }));
    expect(message(() => readLatestCheckpoint(out, 15))).toBe(`checkpoint: ${latest} must point at a round-NNNNNN folder of ${join(out, 'checkpoints')}, got "../../../../etc"`);
    writeFileSync(latest, 'garbage');
    expect(message(() => readLatestCheckpoint(out, 15))).toMatch(new RegExp(`^checkpoint: ${latest.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON \\(`));
  });
});

describe('case 1 (checkpoints): a damaged checkpoint is detected and the previous one used', () => {
  it('falls back to the older checkpoint, says so, and resumes to the same bits', async () => {
    const task = { kind: 'logistic', numClients: 6, features: 4, classes: 3, minSamples: 10, maxSamples: 20 };
    const base = { task, rounds: 3, clientRate: 0.5, batchSize: 8, workers: 0, checkpointEvery: 1, seed: 4 };
    const full = await runFederated({ ...base, outDir: tmp('ck-full') }, { log: () => {} });
    const out = tmp('ck');
    await runFederated({ ...base, rounds: 2, outDir: out }, { log: () => {} });
    const model = join(out, 'checkpoints', 'round-000002', 'model.bin');
    writeFileSync(model, readFileSync(model).subarray(0, 20));
    const lines: string[] = [];
    const resumed = await runFederated({ ...base, outDir: out, resume: true }, { log: (l) => lines.push(l) });
    expect(lines).toContain(`resume: checkpoint ${join(out, 'checkpoints', 'round-000002')} is unusable: ${model} is damaged (20 bytes, expected ${4 * full.weights.length})`);
    expect(lines).toContain(`resume: using the older checkpoint ${join(out, 'checkpoints', 'round-000001')} (round 1)`);
    expect(Array.from(resumed.weights)).toEqual(Array.from(full.weights));
  });
});

describe('case 9: the wire decoder limits, padding and sample counts', () => {
  const P = 9;
  const update = (over: Partial<EncodableUpdate> = {}): EncodableUpdate => ({
    clientId: 2, round: 1, numSamples: 30, steps: 2, loss: 0.5, metrics: {}, delta: new Float32Array(P).fill(0.5), extras: {}, ...over,
  });
  const expectation = { round: 1, clientId: 2, numParams: P, extraNames: [] as string[], maxSamples: 30 };
  const reason = (bytes: ArrayBuffer | Uint8Array, e = expectation) => {
    try {
      decodeUpdate(bytes, e);
      return 'accepted';
    } catch (err) {
      return (err as { reason?: string }).reason ?? `not a WireError: ${(err as Error).message}`;
    }
  };

  it('refuses non-zero padding bytes', () => {
    const good = new Uint8Array(encodeUpdate(update()));
    expect(reason(good)).toBe('accepted');
    // The delta's extension: 0xc9, u32 length, type 17, then k and k padding bytes.
    const ext = good.indexOf(0xc9);
    const k = good[ext + 6];
    const bad = good.slice();
    if (k > 0) bad[ext + 7] = 1;
    else bad[ext + 6 + 4 * (P + 1) - 1] = 1;
    expect(reason(bad)).toMatch(/padding byte \d+ is 1 \(must be 0\)$/);
  });

  it('bounds n by the client’s sample count', () => {
    expect(reason(encodeUpdate(update({ numSamples: 31 })))).toBe("header 'n' is 31, but client 2 has 30 training samples");
    expect(reason(encodeUpdate(update({ numSamples: 1.7e308 })))).toMatch(/^header 'n' (is 1\.7e\+308, but client 2 has 30|must be an integer)/);
  });

  it('refuses 10 MB of nested arrays in one quick pass, and oversized messages before decoding', () => {
    const nested = new Uint8Array(10 * 1024 * 1024).fill(0x91);
    const t0 = performance.now();
    expect(reason(nested)).toMatch(/exceeds the \d+ an update of 9 parameters can take/);
    const deep = new Uint8Array(maxUpdateBytes(expectation) - 1).fill(0x91);
    expect(reason(deep)).toBe('message nests deeper than 3 levels');
    const wide = Uint8Array.of(0x93, 0xdd, 0xff, 0xff, 0xff, 0xff);
    expect(reason(wide)).toMatch(/^not msgpack: /);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('case 10: output folder checks', () => {
  it('says when --out is a file or on /proc', () => {
    const dir = tmp('outfile');
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    expect(outputDirProblem(file)).toBe(`--out ${file} is a file, not a folder; choose a folder for the results`);
    expect(outputDirProblem(join(file, 'sub'))).toBe(`--out ${join(file, 'sub')}: ${file} is a file, so no folder can be made under it`);
    expect(outputDirProblem('/proc/fedmm/x')).toBe("--out /proc/fedmm/x is on the kernel's proc file system, which cannot hold results; choose a folder on a disk");
    mkdirSync(join(dir, 'ok'));
    expect(outputDirProblem(join(dir, 'ok', 'new', 'deeper'))).toBeNull();
  });
});

describe('usage errors stay usage errors', () => {
  it('a grid cell error names the grid and the cell and points at fedmm run --help', () => {
    const file = join(tmp('grid2'), 'g.json');
    writeFileSync(file, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: 'neg', rounds: -3 }] }));
    expect(message(() => loadGrid(file))).toBe(`grid ${file}, cell 'neg': --rounds must be ≥ 1 and ≤ 1000000, got -3`);
    writeFileSync(file, JSON.stringify({ defaults: { dataset: 'uci-har' }, cells: [{ name: 'typo', roundz: 3 }] }));
    expect(message(() => loadGrid(file))).toBe(`grid ${file}, cell 'typo': unknown option '--roundz' for 'a grid cell' (did you mean '--rounds'?); see 'fedmm run --help'`);
    expect(() => loadGrid(file)).toThrow(UsageError);
  });
});
