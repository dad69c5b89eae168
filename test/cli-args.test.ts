// The CLI's pure parts: option parsing and its errors, the run plan (published defaults, FedMultimodal
// aliases), grids, the safetensors layout (byte-exact), result summaries and progress output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseArgs, parseIntegerList, suggest, UsageError, type OptionSpec } from '../src/cli/args.js';
import { meanStd } from '../src/cli/format.js';
import { applyOverrides, cellName, loadGrid, settingsToArgv } from '../src/cli/grid.js';
import { Progress } from '../src/cli/progress.js';
import { summarize } from '../src/cli/results.js';
import { buildPlan, EXPERIMENT_OPTIONS, planLabel } from '../src/cli/run-options.js';
import { encodeSafetensors, tensorsFromFlat } from '../src/cli/safetensors.js';
import { getDataset } from '../src/data/registry.js';
import { Linear, Module } from '../src/nn/index.js';

const SPECS: OptionSpec[] = [
  { name: 'rounds', kind: 'integer', min: 1, aliases: ['num_epochs'], help: '' },
  { name: 'rate', kind: 'number', min: 0, max: 1, openMax: true, help: '' },
  { name: 'fusion', kind: 'string', choices: ['attention', 'concat'], help: '' },
  { name: 'quiet', kind: 'flag', help: '' },
];

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a UsageError');
}

const plan = (...argv: string[]) => buildPlan(parseArgs(argv, EXPERIMENT_OPTIONS, 'fedmm run'));

describe('parseArgs', () => {
  test('reads --name value, --name=value, flags, aliases and positionals', () => {
    const a = parseArgs(['grid-x', '--rounds', '5', '--rate=0.25', '--quiet', '--fusion', 'concat'], SPECS, 'fedmm t');
    expect(a.options).toEqual({ rounds: 5, rate: 0.25, quiet: true, fusion: 'concat' });
    expect(a.positionals).toEqual(['grid-x']);
    const b = parseArgs(['--num_epochs', '7'], SPECS, 'fedmm t');
    expect(b.options.rounds).toBe(7);
    expect(b.spelled.rounds).toBe('--num_epochs');
  });

  test('every bad input is one line naming the problem', () => {
    expect(usageError(() => parseArgs(['--roundz', '3'], SPECS, 'fedmm t'))).toBe("unknown option '--roundz' for 'fedmm t' (did you mean '--rounds'?); see 'fedmm t --help'");
    expect(usageError(() => parseArgs(['--rounds', 'x'], SPECS, 'fedmm t'))).toBe("--rounds expects a decimal number, got 'x'");
    expect(usageError(() => parseArgs(['--rounds', '2.5'], SPECS, 'fedmm t'))).toBe("--rounds expects an integer, got '2.5'");
    expect(usageError(() => parseArgs(['--rounds', '0'], SPECS, 'fedmm t'))).toBe('--rounds must be ≥ 1, got 0');
    expect(usageError(() => parseArgs(['--rate', '1'], SPECS, 'fedmm t'))).toBe('--rate must be ≥ 0 and < 1, got 1');
    expect(usageError(() => parseArgs(['--rounds'], SPECS, 'fedmm t'))).toBe('--rounds needs a value');
    expect(usageError(() => parseArgs(['--fusion', 'atention'], SPECS, 'fedmm t'))).toBe("--fusion must be one of attention, concat; got 'atention' (did you mean 'attention'?)");
    expect(usageError(() => parseArgs(['--quiet=yes'], SPECS, 'fedmm t'))).toBe("--quiet is a switch and takes no value (got 'yes')");
    expect(usageError(() => parseArgs(['--rounds', '3', '--num_epochs', '4'], SPECS, 'fedmm t'))).toBe('--num_epochs and --rounds set the same option; give it once');
    expect(usageError(() => parseArgs(['-r'], SPECS, 'fedmm t'))).toBe("unknown option '-r' for 'fedmm t'; see 'fedmm t --help'");
  });

  test('negative numbers are values, not options', () => {
    expect(usageError(() => parseArgs(['--rate', '-0.5'], SPECS, 'fedmm t'))).toBe('--rate must be ≥ 0 and < 1, got -0.5');
  });

  test('integer lists and typo suggestions', () => {
    expect(parseIntegerList('1,3-5', '--seeds')).toEqual([1, 3, 4, 5]);
    expect(usageError(() => parseIntegerList('1,1', '--seeds'))).toBe("--seeds lists a value twice: '1,1'");
    expect(usageError(() => parseIntegerList('5-1', '--seeds'))).toBe("--seeds: range '5-1' runs backwards");
    expect(usageError(() => parseIntegerList('a', '--seeds'))).toBe("--seeds expects non-negative integers like '1,2,3' or '1-5', got 'a'");
    expect(suggest('fedop', ['fedavg', 'fedopt'])).toBe('fedopt');
    expect(suggest('zzzzzz', ['fedavg', 'fedopt'])).toBeNull();
  });
});

describe('run plan', () => {
  test('unset settings take the dataset’s published hyper-parameters', () => {
    const p = plan('--dataset', 'uci-har', '--alg', 'fedopt');
    const h = getDataset('uci-har').hyper;
    expect(p).toMatchObject({ dataset: 'uci-har', algorithm: 'fedopt', serverOptimizer: 'sgdm', fusion: 'attention', modality: null, rounds: h.rounds, clientRate: h.clientRate,
      lr: h.localLr, serverLr: h.serverLr, batchSize: h.batchSize, localEpochs: 1, hidSize: 128, alpha: 5, repeats: { kind: 'seed', values: [0] } });
    expect(plan('--dataset', 'ptb-xl').batchSize).toBe(64);
    expect(plan('--dataset', 'meld').alpha).toBeNull();
    expect(plan('--dataset', 'uci-har').serverLr).toBe(1);
  });

  test("FedMultimodal's flags reach the same settings", () => {
    const original = plan('--dataset', 'uci-har', '--fed_alg', 'fed_opt', '--en_att', '--att_name', 'fuse_base', '--learning_rate', '0.05', '--global_learning_rate', '0.025',
      '--sample_rate', '0.1', '--num_epochs', '200', '--local_epochs', '1', '--alpha', '0.1', '--hid_size', '128', '--batch_size', '16',
      '--missing_modailty_rate', '0.3', '--missing_label_rate', '0.2', '--label_nosiy_level', '0.1', '--test_frequency', '1');
    const ours = plan('--dataset', 'uci-har', '--alg', 'fedopt', '--fusion', 'attention', '--lr', '0.05', '--server-lr', '0.025', '--client-rate', '0.1', '--rounds', '200',
      '--local-epochs', '1', '--alpha', '0.1', '--hid-size', '128', '--batch-size', '16', '--missing-modality', '0.3', '--missing-label', '0.2', '--label-noise', '0.1', '--eval-every', '1');
    expect(original).toEqual(ours);
    expect(plan('--dataset', 'uci-har', '--fed_alg', 'fed_prox', '--mu', '0.01').algorithm).toBe('fedprox');
    const switches = plan('--dataset', 'uci-har', '--en_missing_modality', '--en_missing_label', '--en_label_nosiy');
    expect([switches.missingModality, switches.missingLabel, switches.labelNoise]).toEqual([0.5, 0.5, 0.1]);
    expect(plan('--dataset', 'crema_d').dataset).toBe('crema-d');
    expect(plan('--dataset', 'uci-har', '--modality', 'multimodal').modality).toBeNull();
    expect(plan('--dataset', 'uci-har', '--modality', 'gyro').modality).toBe('gyro');
    expect([plan('--dataset', 'uci-har').testEvery, plan('--dataset', 'uci-har', '--test-every', '1').testEvery]).toEqual([0, 1]);
    expect(() => plan('--dataset', 'uci-har', '--test-every', '-1')).toThrow(/--test-every/);
  });

  test('repeats: seeds, folds (1-based), and their conflicts', () => {
    expect(plan('--dataset', 'uci-har', '--seeds', '1-3').repeats).toEqual({ kind: 'seed', values: [1, 2, 3] });
    expect(plan('--dataset', 'crema-d', '--folds', 'all').repeats).toEqual({ kind: 'fold', values: [1, 2, 3, 4, 5] });
    expect(usageError(() => plan('--dataset', 'uci-har', '--folds', '1'))).toBe('uci-har has one official split; repeat it with --seeds instead of --folds');
    expect(usageError(() => plan('--dataset', 'crema-d', '--folds', '6'))).toBe('--folds: crema-d has folds 1-5; got 6');
    expect(usageError(() => plan('--dataset', 'uci-har', '--seed', '1', '--seeds', '2'))).toBe('--seed and --seeds exclude each other; give one');
  });

  test('conflicting or meaningless settings are refused in one line', () => {
    expect(usageError(() => plan())).toMatch(/^missing --dataset \(one of meld, /);
    expect(usageError(() => plan('--dataset', 'cifar'))).toMatch(/^unknown dataset 'cifar'; known: meld, /);
    expect(usageError(() => plan('--dataset', 'meld', '--alpha', '0.1'))).toBe('--alpha: meld is partitioned naturally (one client per speaker), not by Dirichlet');
    expect(usageError(() => plan('--dataset', 'uci-har', '--mu', '0.1'))).toBe('--mu applies to --alg fedprox only (got fedavg)');
    expect(usageError(() => plan('--dataset', 'uci-har', '--server-opt', 'adam'))).toBe('--server-opt applies to --alg fedopt only (got fedavg)');
    expect(usageError(() => plan('--dataset', 'uci-har', '--data-dir', '/x', '--scale', '0.5'))).toBe('--scale applies to simulated data only; drop it with --data-dir');
    expect(usageError(() => plan('--dataset', 'uci-har', '--modality', 'audio'))).toBe("--modality must be one of acc, gyro or multimodal for uci-har; got 'audio'");
    expect(usageError(() => plan('--dataset', 'uci-har', '--modality', 'acc', '--fusion', 'concat'))).toMatch(/exclude each other/);
    expect(usageError(() => plan('--dataset', 'ptb-xl', '--label-noise', '0.1'))).toBe('--label-noise is not defined for multi-label ptb-xl');
    expect(usageError(() => plan('--dataset', 'uci-har', '--alg', 'fedsgd'))).toBe("--alg must be one of fedavg, fedprox, fedrs, fedopt, scaffold; got 'fedsgd'");
    expect(usageError(() => plan('--dataset', 'meld', '--partition-rng', 'numpy'))).toBe("--partition-rng numpy replays the original's partition on real files: give --data-dir (simulated data: uci-har only; got --dataset meld)");
    expect(usageError(() => plan('--dataset', 'uci-har', '--partition-rng', 'numpy', '--partition-seed', '3'))).toMatch(/^--partition-seed and --partition-rng numpy exclude each other/);
    expect(plan('--dataset', 'uci-har', '--partition-rng', 'numpy').partitionRng).toBe('numpy');
    expect(plan('--dataset', 'uci-har').partitionRng).toBe('fedmm');
  });
});

describe('compression options', () => {
  test('--compress and --compress-down reach the plan in canonical spelling and label it; bad specs are one line', () => {
    const p = plan('--dataset', 'uci-har', '--compress', 'int8', '--compress-down', 'fp16');
    expect([p.compress, p.compressDown]).toEqual(['int8:256', 'fp16']);
    expect(planLabel(p)).toBe('fedavg attention int8:256 down fp16');
    expect(plan('--dataset', 'uci-har').compress).toBe('none');
    expect(usageError(() => plan('--dataset', 'uci-har', '--compress', 'topk:0'))).toBe("--compress: compression 'topk:0': the top-k fraction must be in (0, 1]");
    expect(usageError(() => plan('--dataset', 'uci-har', '--compress-down', 'topk:0.1'))).toBe('--compress-down: top-k would zero most weights; use fp16, int8[:B] or qsgd:S');
  });

  test('the virtual clock options reach the plan; a missing trace file is one line', () => {
    const p = plan('--dataset', 'uci-har', '--deadline', '300', '--over-select', '1.3', '--device-trace', 'traces/sample-device-capacity.json');
    expect([p.deadline, p.overSelect, p.deviceTrace, p.availabilityTrace]).toEqual([300, 1.3, resolve('traces/sample-device-capacity.json'), null]);
    expect(usageError(() => plan('--dataset', 'uci-har', '--availability-trace', 'nope.json'))).toBe(`--availability-trace: no file ${resolve('nope.json')}`);
    expect(usageError(() => plan('--dataset', 'uci-har', '--over-select', '0.5'))).toBe('--over-select must be ≥ 1, got 0.5');
  });

  test('--clients N makes a population; --clients-per-round K gives int(rate·N) = K', () => {
    for (const [n, k] of [[100_000, 1000], [10_000, 100], [1000, 10], [3, 3], [49_999, 7]]) {
      const p = plan('--dataset', 'uci-har', '--clients', String(n), '--clients-per-round', String(k));
      expect(p.population).toBe(n);
      expect(Math.floor(p.clientRate * n)).toBe(k);
    }
    expect(plan('--dataset', 'uci-har').population).toBeNull();
    expect(planLabel(plan('--dataset', 'uci-har', '--clients', '5000'))).toContain('5000 clients');
    expect(usageError(() => plan('--dataset', 'uci-har', '--clients-per-round', '5'))).toMatch(/^--clients-per-round needs --clients N/);
    expect(usageError(() => plan('--dataset', 'uci-har', '--clients', '10', '--clients-per-round', '11'))).toBe('--clients-per-round 11 exceeds --clients 10');
    expect(usageError(() => plan('--dataset', 'uci-har', '--clients', '10', '--clients-per-round', '2', '--client-rate', '0.5'))).toBe('--client-rate and --clients-per-round exclude each other; give one');
  });

  test('FedBuff options reach the plan; what they cannot combine with is one line', () => {
    const p = plan('--dataset', 'uci-har', '--async-concurrency', '20', '--buffer', '5', '--staleness-exponent', '1');
    expect([p.asyncConcurrency, p.buffer, p.stalenessExponent]).toEqual([20, 5, 1]);
    expect(planLabel(p)).toContain('async 20/5');
    const sync = plan('--dataset', 'uci-har');
    expect([sync.asyncConcurrency, sync.buffer, sync.stalenessExponent]).toEqual([0, 10, 0.5]);
    expect(usageError(() => plan('--dataset', 'uci-har', '--buffer', '5'))).toBe('--buffer and --staleness-exponent need --async-concurrency (FedBuff)');
    expect(usageError(() => plan('--dataset', 'uci-har', '--async-concurrency', '0'))).toBe('--async-concurrency must be ≥ 1, got 0');
    expect(usageError(() => plan('--dataset', 'uci-har', '--async-concurrency', '4', '--staleness-exponent', '-1'))).toBe('--staleness-exponent must be ≥ 0 and ≤ 16, got -1');
    expect(usageError(() => plan('--dataset', 'uci-har', '--async-concurrency', '4', '--deadline', '30')))
      .toBe('--async-concurrency (FedBuff) cannot be combined with --deadline: a buffer is a staleness-weighted mean of the client deltas that arrive');
    expect(usageError(() => plan('--dataset', 'uci-har', '--async-concurrency', '4', '--alg', 'scaffold'))).toMatch(/^--async-concurrency \(FedBuff\) cannot be combined with --alg scaffold/);
  });
});

describe('grids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmm-grid-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };

  test('matrix blocks expand to cartesian cells named by their own settings; cells merge over defaults', () => {
    const g = loadGrid(write('g.json', {
      defaults: { dataset: 'uci-har', rounds: 3 },
      matrix: [{ alg: ['fedavg', 'fedopt'], 'missing-modality': [0.1, 0.3] }],
      cells: [{ name: 'base', alg: 'fedavg' }],
    }));
    expect(g.name).toBe('g');
    expect(g.cells.map((c) => c.name)).toEqual([
      'fedavg_missing-modality-0.1', 'fedavg_missing-modality-0.3', 'fedopt_missing-modality-0.1', 'fedopt_missing-modality-0.3', 'base']);
    const p = buildPlan(g.cells[3].args);
    expect([p.algorithm, p.missingModality, p.rounds]).toEqual(['fedopt', 0.3, 3]);
    const over = buildPlan(applyOverrides(g.cells[4].args, parseArgs(['--rounds', '9', '--seeds', '1,2'], EXPERIMENT_OPTIONS, 'fedmm grid')));
    expect([over.rounds, over.repeats.values]).toEqual([9, [1, 2]]);
    expect(settingsToArgv({ rounds: 5, trace: true, quiet: false, name: 'x' })).toEqual(['--rounds', '5', '--trace']);
    expect(cellName({ dataset: 'uci-har', alg: 'fedopt', alpha: 0.1 })).toBe('uci-har_fedopt_alpha-0.1');
  });

  test('bad grid files are one-line errors naming the file and the cell', () => {
    expect(usageError(() => loadGrid(write('bad.json', '{"cells": [')))).toMatch(/^grid .*bad\.json: not valid JSON/);
    expect(usageError(() => loadGrid(write('empty.json', {})))).toMatch(/no cells/);
    expect(usageError(() => loadGrid(write('field.json', { cell: [] })))).toMatch(/unknown field 'cell'/);
    expect(usageError(() => loadGrid(write('opt.json', { cells: [{ name: 'a', dataset: 'uci-har', roundz: 3 }] })))).toMatch(
      /^grid .*opt\.json, cell 'a': unknown option '--roundz' for 'a grid cell' \(did you mean '--rounds'\?\); see 'fedmm run --help'$/);
    expect(usageError(() => loadGrid(write('dup.json', { cells: [{ name: 'a' }, { name: 'a' }] })))).toMatch(/cells 0 and 1 are both named 'a'/);
  });

  test('the shipped grids parse and resolve', () => {
    for (const name of ['paper-base', 'robustness-uci-har', 'reproduce-uci-har', 'smoke', 'start', 'dp-uci-har', 'compression-uci-har', 'async-vs-sync-uci-har']) {
      const g = loadGrid(join(process.cwd(), 'grids', `${name}.json`));
      for (const c of g.cells) expect(() => buildPlan(c.args)).not.toThrow();
    }
    const paper = loadGrid(join(process.cwd(), 'grids', 'paper-base.json'));
    const datasets = new Set(paper.cells.map((c) => buildPlan(c.args).dataset));
    expect(datasets.size).toBe(10);
    const robust = loadGrid(join(process.cwd(), 'grids', 'robustness-uci-har.json')).cells.map((c) => buildPlan(c.args));
    for (const key of ['missingModality', 'missingLabel', 'labelNoise'] as const) {
      expect(robust.filter((p) => p[key] > 0).map((p) => p[key]).sort()).toEqual([0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5]);
    }
    const compression = loadGrid(join(process.cwd(), 'grids', 'compression-uci-har.json')).cells.map((c) => buildPlan(c.args).compress);
    expect(compression).toEqual(['none', 'fp16', 'int8:256', 'topk:0.01', 'qsgd:8']);
    const fedbuff = loadGrid(join(process.cwd(), 'grids', 'async-vs-sync-uci-har.json')).cells.map((c) => buildPlan(c.args));
    // every cell makes the same number of client updates
    expect(fedbuff.map((p) => (p.asyncConcurrency > 0 ? p.buffer * p.rounds : Math.floor(p.clientRate * 105) * p.rounds))).toEqual([2000, 2000, 2000, 2000]);
  });
});

class Tiny extends Module {
  readonly fc: Linear;
  constructor() {
    super();
    this.fc = this.registerModule('fc', new Linear(2, 3));
  }
}

describe('safetensors', () => {
  test('a tiny model is written byte for byte in the safetensors layout with PyTorch names', () => {
    const m = new Tiny();
    const { params, layout } = m.flatten();
    params.set([1, -2, 0.5, 3, 4, -0.25, 10, 20, 30]);
    const bytes = encodeSafetensors(tensorsFromFlat(layout, params as Float32Array), { format: 'pt' });
    const json = '{"__metadata__":{"format":"pt"},"fc.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}';
    const padded = Math.ceil(json.length / 8) * 8;
    const expected = Buffer.alloc(8 + padded + 36, 0x20);
    expected.writeBigUInt64LE(BigInt(padded), 0);
    expected.write(json, 8, 'utf8');
    [1, -2, 0.5, 3, 4, -0.25, 10, 20, 30].forEach((v, i) => expected.writeFloatLE(v, 8 + padded + 4 * i));
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
    expect((8 + padded) % 8).toBe(0);
  });

  test('a shape that does not match the data is refused', () => {
    expect(() => encodeSafetensors([{ name: 'w', shape: [2, 2], data: new Float32Array(3) }])).toThrow("safetensors: 'w' has shape [2,2] (4 values) but 3 values");
  });
});

describe('results and progress', () => {
  test('mean and sample standard deviation over runs; a single run has std 0', () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3) });
    expect(meanStd([0.7])).toEqual({ mean: 0.7, std: 0 });
    const p = plan('--dataset', 'uci-har');
    const run = (name: string, f1: number) => ({ name, seed: 0, fold: null, completedRounds: 5, bestRound: 3, dev: { 'macro-f1': f1 }, test: { 'macro-f1': f1, accuracy: 0.5 }, elapsedMs: 1, updates: 1, dropped: 0 });
    const s = summarize(p, 'fedavg attention', 'macro-f1', [run('seed-1', 0.6), run('seed-2', 0.8)]);
    expect(s.mean['macro-f1']).toBeCloseTo(0.7, 12);
    expect(s.std['macro-f1']).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(s.mean.accuracy).toBe(0.5);
  });

  test('lines mode prints the first round, then at most one line per interval, and the last', () => {
    const out: string[] = [];
    let now = 0;
    const p = new Progress('lines', { write: (t) => out.push(t) }, 5000, () => now);
    p.start('run A', 4, 'macro-f1');
    const round = (i: number, dev?: number) => ({ round: i, accepted: 2, dropped: 0, dev: dev === undefined ? undefined : { 'macro-f1': dev }, phases: { round: 500 } });
    p.round(round(0, 0.25));
    now = 1000;
    p.round(round(1));
    now = 7000;
    p.round(round(2, 0.5));
    p.round(round(3, 0.625));
    p.finish('done');
    expect(out).toEqual([
      'run A: 4 rounds\n',
      'run A: round 1/4  ETA 1.5s  dev macro-f1 25.00%  4.0 updates/s\n',
      'run A: round 3/4  ETA 500ms  dev macro-f1 50.00%  4.0 updates/s\n',
      'run A: round 4/4  ETA 0s  dev macro-f1 62.50%  4.0 updates/s\n',
      'run A: done\n',
    ]);
  });

  test('tty mode redraws one line in place; quiet prints nothing', () => {
    const out: string[] = [];
    const p = new Progress('tty', { write: (t) => out.push(t), columns: 200 });
    p.start('run B', 2, 'accuracy');
    p.round({ round: 0, accepted: 1, dropped: 0, dev: { accuracy: 0.5 }, phases: { round: 1000 } });
    expect(out.every((t) => t.startsWith('\r\x1b[2K'))).toBe(true);
    expect(out[out.length - 1]).toMatch(/^\r\x1b\[2Krun B █+░+ 1\/2 ETA 1\.0s dev 50\.00% 1\.0 upd\/s$/);
    const q: string[] = [];
    const quiet = new Progress('quiet', { write: (t) => q.push(t) });
    quiet.start('x', 1, 'accuracy');
    quiet.round({ round: 0, accepted: 1, dropped: 0, phases: { round: 1 } });
    quiet.finish('done');
    expect(q).toEqual([]);
  });
});
