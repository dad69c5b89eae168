// End to end through the built command: a tiny simulated `fedmm run` writes metrics.jsonl, result.json,
// config.json, partition.json and model.safetensors; a grid skips its finished cells on a re-run.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { getDataset } from '../src/data/registry.js';
import { createModel } from '../src/models/factory.js';
import { fedmmAsync, fedmmInterrupted } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-cli-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Header {
  [name: string]: { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>;
}

function readSafetensors(path: string): { header: Header; data: Buffer } {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Header, data: bytes.subarray(8 + n) };
}

describe('fedmm run', () => {
  test('a tiny simulated run writes every file of its directory', { timeout: 180_000 }, async () => {
    const out = join(dir, 'tiny');
    const args = ['run', '--dataset', 'uci-har', '--alg', 'fedopt', '--rounds', '2', '--scale', '0.05', '--client-rate', '0.2', '--seed', '3', '--hid-size', '16', '--workers', '1', '--out', out];
    const r = await fedmmAsync(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^experiment\s+dataset\s+metric\s+test %/);
    expect(r.stdout).toContain(`results: ${out}`);
    expect(r.stdout).toContain(`report: ${join(out, 'report.html')}`);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg class="chart"');
    expect(r.stderr).toContain('uci-har fedopt attention seed-3: round 2/2');

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.command).toBe(`fedmm ${args.join(' ')}`);
    expect(config.plan).toMatchObject({ dataset: 'uci-har', algorithm: 'fedopt', serverLr: 0.025, lr: 0.05, rounds: 2, scale: 0.05, repeats: { kind: 'seed', values: [3] } });
    expect(config.execution).toMatchObject({ workers: 1, backend: 'auto' });

    const lines = readFileSync(join(out, 'seed-3', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.round)).toEqual([0, 1]);
    for (const l of lines) {
      expect(l.accepted).toBeGreaterThan(0);
      expect(Object.keys(l.phases)).toEqual(expect.arrayContaining(['localTrain', 'aggregate', 'serverStep', 'evaluate', 'round']));
      expect(Object.keys(l.dev)).toEqual(expect.arrayContaining(['macro-f1', 'accuracy']));
    }

    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ dataset: 'uci-har', algorithm: 'fedopt', fusion: 'attention', metric: 'macro-f1' });
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0];
    expect(run).toMatchObject({ name: 'seed-3', seed: 3, completedRounds: 2 });
    const best = lines.reduce((a, l) => (l.dev['macro-f1'] > a.dev['macro-f1'] ? l : a));
    expect(run.bestRound).toBe(best.round);
    expect(run.test).toEqual(best.test);
    expect(result.mean['macro-f1']).toBe(run.test['macro-f1']);
    expect(result.std['macro-f1']).toBe(0);

    const partition = JSON.parse(readFileSync(join(out, 'seed-3', 'partition.json'), 'utf8'));
    expect(partition.classNames).toEqual(getDataset('uci-har').classNames);
    expect(partition.clients.length).toBe(partition.numClients);
    for (const c of partition.clients) expect(c.labels.reduce((a: number, b: number) => a + b, 0)).toBe(c.train);

    const model = createModel(getDataset('uci-har'), { fusion: 'attention', dHid: 16 });
    const layout = model.flatten().layout;
    const { header, data } = readSafetensors(join(out, 'seed-3', 'model.safetensors'));
    expect(header.__metadata__).toMatchObject({ format: 'pt', dataset: 'uci-har', algorithm: 'fedopt', seed: '3' });
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual(layout.map((e) => e.name));
    expect(names).toEqual(expect.arrayContaining(['acc_conv.conv1.weight', 'gyro_rnn.weight_ih_l0', 'fuse_att.att_fc1.weight', 'classifier.0.weight']));
    for (const e of layout) {
      const t = header[e.name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(e.shape);
      expect(t.data_offsets[0]).toBe(4 * e.offset);
    }
    expect(data.equals(readFileSync(join(out, 'seed-3', 'model.bin')))).toBe(true);

    const running = join(dir, 'running');
    cpSync(out, running, { recursive: true });
    rmSync(join(running, 'result.json'));
    writeFileSync(join(running, 'seed-3', 'metrics.jsonl'), `${JSON.stringify(lines[0])}\n`);
    const md = await fedmmAsync(['report', running, '--markdown']);
    expect(md.code, md.stderr).toBe(0);
    const row = md.stdout.trim().split('\n')[2].split(' | ');
    expect(row[0]).toBe('| fedopt attention (running: 1 of 1 runs started, round 1 of 2)');
    expect(row[5]).toBe((100 * lines[0].test['macro-f1']).toFixed(2));

    const again = await fedmmAsync(args);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`fedmm: ${out} already holds an experiment; pass --resume to continue it or choose another --out`);
    const resumed = await fedmmAsync([...args, '--resume', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).runs).toEqual(result.runs);
  });
});

describe('fedmm run --clients', () => {
  test('a population of 2,000 clients trains FedBuff from the command line; partition.json lists the base clients', { timeout: 180_000 }, async () => {
    const out = join(dir, 'population');
    const r = await fedmmAsync(['run', '--dataset', 'uci-har', '--scale', '0.05', '--clients', '2000', '--async-concurrency', '4', '--buffer', '2',
      '--rounds', '2', '--hid-size', '8', '--workers', '1', '--no-report', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const partition = JSON.parse(readFileSync(join(out, 'seed-0', 'partition.json'), 'utf8'));
    expect(partition.numClients).toBe(2000);
    expect(partition.population).toMatchObject({ clients: 2000 });
    expect(partition.clients.length).toBe(partition.population.baseClients);
    const rounds = readFileSync(join(out, 'seed-0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rounds.map((x) => x.sampled)).toEqual([2, 2]);
    expect(rounds.every((x) => x.staleness && x.virtualSeconds > 0)).toBe(true);
  });
});

describe('fedmm run, interrupted', () => {
  test('Ctrl-C stops at once, saving the last completed round; --resume continues from the checkpoint to the uninterrupted model', { timeout: 180_000 }, async () => {
    const base = ['run', '--dataset', 'uci-har', '--rounds', '4', '--scale', '0.05', '--client-rate', '0.2', '--hid-size', '16', '--workers', '1', '--checkpoint-every', '1', '--verbose'];
    const whole = join(dir, 'whole');
    const cut = join(dir, 'cut');
    expect((await fedmmAsync([...base, '--out', whole])).code).toBe(0);
    const stopped = await fedmmInterrupted([...base, '--out', cut], /round 1\/4/);
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/interrupt: stopping and saving the last completed round/);
    expect(stopped.stderr).toMatch(/seed-0: interrupted after round [1-3]\n/);
    expect(stopped.stderr).toContain(`fedmm: interrupted; continue with: fedmm ${[...base, '--out', cut].join(' ')} --resume`);
    expect(existsSync(join(cut, 'result.json'))).toBe(false);
    const resumed = await fedmmAsync([...base, '--out', cut, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const rounds = readFileSync(join(cut, 'seed-0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).round);
    expect(rounds).toEqual([0, 1, 2, 3]);
    expect(readFileSync(join(cut, 'seed-0', 'model.safetensors')).equals(readFileSync(join(whole, 'seed-0', 'model.safetensors')))).toBe(true);
    const a = JSON.parse(readFileSync(join(whole, 'result.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8'));
    expect(b.runs[0].test).toEqual(a.runs[0].test);
  });
});

describe('fedmm grid', () => {
  test('a failing cell is reported in one line and does not stop the others; the exit code says so', { timeout: 120_000 }, async () => {
    const file = join(dir, 'mixed.json');
    const missing = join(dir, 'no-data');
    writeFileSync(file, JSON.stringify({
      defaults: { dataset: 'uci-har', rounds: 1, 'hid-size': 8, 'client-rate': 0.2 },
      cells: [{ name: 'bad', 'data-dir': missing }, { name: 'good', scale: 0.05 }],
    }));
    const out = join(dir, 'mixed');
    const r = await fedmmAsync(['grid', file, '--out', out, '--workers', '0', '--quiet']);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('fedmm: '));
    expect(errors).toEqual([
      `fedmm: grid cell 'bad' failed: uci-har: no such folder ${missing} (expected a prepared dataset or 'UCI HAR Dataset/' (official text layout) or the compact body_acc_x_train.f32 layout)`,
      "fedmm: 1 of 2 grid cells failed (bad); fix the cause and re-run to retry them",
    ]);
    expect(existsSync(join(out, 'good', 'result.json'))).toBe(true);
    expect(existsSync(join(out, 'bad'))).toBe(false);
    expect(r.stdout).toMatch(/^good\s+UCI-HAR/m);
  });

  test('runs the smoke grid, then skips its finished cells on a re-run', { timeout: 180_000 }, async () => {
    const out = join(dir, 'grid');
    const first = await fedmmAsync(['grid', 'smoke', '--out', out, '--workers', '0']);
    expect(first.code, first.stderr).toBe(0);
    const cells = ['fedavg', 'fedopt', 'fedavg_mm0.3'];
    for (const c of cells) expect(existsSync(join(out, c, 'result.json'))).toBe(true);
    expect(first.stdout).toContain(`report: ${join(out, 'report.html')}`);
    const mtimes = cells.map((c) => statSync(join(out, c, 'result.json')).mtimeMs);
    const mm = JSON.parse(readFileSync(join(out, 'fedavg_mm0.3', 'result.json'), 'utf8'));
    expect(mm.missingModality).toBe(0.3);

    rmSync(join(out, 'fedopt'), { recursive: true });
    const second = await fedmmAsync(['grid', 'smoke', '--out', out, '--workers', '0']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('[1/3] fedavg: finished, skipped');
    expect(second.stderr).toContain('[3/3] fedavg_mm0.3: finished, skipped');
    expect(second.stderr).toContain('[2/3] fedopt: uci-har fedopt attention seed-0: 2 rounds');
    expect(second.stdout).toContain('2 finished cells skipped');
    expect(statSync(join(out, 'fedavg', 'result.json')).mtimeMs).toBe(mtimes[0]);
    expect(statSync(join(out, 'fedavg_mm0.3', 'result.json')).mtimeMs).toBe(mtimes[2]);
    expect(existsSync(join(out, 'fedopt', 'result.json'))).toBe(true);
    expect(second.stdout.split('\n').filter((l) => /^(fedavg|fedopt|fedavg_mm0\.3)\s/.test(l))).toHaveLength(3);
  });
});
