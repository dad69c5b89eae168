// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import { readWeights } from '../src/runtime/checkpoint.js';
import type { RunConfigInput } from '../src/runtime/config.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedmm-run-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 12, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
const bits = (r: RunResult) => Array.from(new Uint32Array(r.weights.buffer, r.weights.byteOffset, r.weights.length));
const evals = (r: RunResult) => r.history.map((h) => [h.round, h.accepted, h.trainLoss, h.dev, h.test]);

describe('determinism', () => {
  it('gives the same bits in-process, with 1 worker and with 2 workers', async () => {
    const base: RunConfigInput = { task, algorithm: 'fedopt', algorithmParams: { optimizer: 'adam' }, rounds: 4, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 11, evalEvery: 2 };
    const r0 = await runFederated({ ...base, workers: 0 }, quiet);
    const r1 = await runFederated({ ...base, workers: 1 }, quiet);
    const r2 = await runFederated({ ...base, workers: 2, window: 3 }, quiet);
    expect(bits(r1)).toEqual(bits(r0));
    expect(bits(r2)).toEqual(bits(r0));
    expect(evals(r2)).toEqual(evals(r0));
    expect(r0.best!.round).toBeGreaterThanOrEqual(1);
    const other = await runFederated({ ...base, workers: 0, seed: 12 }, quiet);
    expect(bits(other)).not.toEqual(bits(r0));
  });

  it('resumes from a checkpoint to the bit-identical final model (SCAFFOLD with spilled client state)', async () => {
    const base: RunConfigInput = { task, algorithm: 'scaffold', rounds: 6, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 3, evalEvery: 1, checkpointEvery: 2, clientStateBudgetBytes: 300, workers: 2 };
    const a = tmp();
    const full = await runFederated({ ...base, outDir: a }, quiet);
    const b = tmp();
    const controller = new AbortController();
    const cut = await runFederated({ ...base, outDir: b }, { ...quiet, signal: controller.signal, onRound: (r) => r.round === 2 && controller.abort() });
    expect(cut.aborted).toBe(true);
    expect(cut.completedRounds).toBe(3);
    const resumed = await runFederated({ ...base, outDir: b, resume: true, workers: 1 }, quiet);
    expect(resumed.completedRounds).toBe(6);
    expect(bits(resumed)).toEqual(bits(full));
    expect(evals(resumed)).toEqual(evals(full));
    expect(resumed.best).toEqual(full.best);
    expect(Array.from(readWeights(join(b, 'model.bin'), 21))).toEqual(Array.from(full.weights));
    const lines = readFileSync(join(b, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.round)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(lines[5].phases).sort()).toEqual(['aggregate', 'broadcast', 'checkpoint', 'decode', 'encode', 'evaluate', 'localTrain', 'queue', 'redis', 'round', 'serverStep', 'transfer']);
    expect(existsSync(join(b, 'checkpoints', 'round-000006', 'client-state'))).toBe(true);
    const result = JSON.parse(readFileSync(join(b, 'result.json'), 'utf8'));
    expect(result.best).toEqual(full.best);
    await expect(runFederated({ ...base, outDir: b, resume: true, lr: 0.1 }, quiet)).rejects.toThrow(/was written by a run with a different config/);
  });

  it('resumes FedOpt (server momentum state) in-process to the same bits', async () => {
    const base: RunConfigInput = { task, algorithm: 'fedopt', rounds: 4, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 8, evalEvery: 2, checkpointEvery: 1, workers: 0 };
    const full = await runFederated({ ...base, outDir: tmp() }, quiet);
    const b = tmp();
    await runFederated({ ...base, rounds: 2, outDir: b }, quiet);
    const resumed = await runFederated({ ...base, outDir: b, resume: true }, quiet);
    expect(resumed.history.map((h) => h.round)).toEqual([0, 1, 2, 3]);
    expect(bits(resumed)).toEqual(bits(full));
  });

  it('runs a strategy from a one-file plugin', async () => {
    const plugin = join(import.meta.dirname, 'fixtures', 'uniform-fedavg-strategy.ts');
    const base: RunConfigInput = { task, rounds: 2, clientRate: 0.5, batchSize: 8, seed: 1, workers: 0 };
    const uniform = await runFederated({ ...base, algorithm: 'uniform-fedavg', plugins: [plugin] }, quiet);
    const weighted = await runFederated({ ...base, algorithm: 'fedavg' }, quiet);
    expect(uniform.completedRounds).toBe(2);
    expect(bits(uniform)).not.toEqual(bits(weighted));
    await expect(runFederated({ ...base, algorithm: 'fedavg', plugins: ['/nonexistent/plugin.js'] }, quiet)).rejects.toThrow(/^plugin '\/nonexistent\/plugin.js' failed to load: /);
  });

  it('writes a Chrome trace with one track per worker', async () => {
    const out = tmp();
    await runFederated({ task, rounds: 2, clientRate: 0.5, batchSize: 8, workers: 2, outDir: out, trace: true }, quiet);
    const events = JSON.parse(readFileSync(join(out, 'trace.json'), 'utf8')) as { ph: string; tid: number; name: string; args?: { name?: string } }[];
    const tracks = events.filter((e) => e.ph === 'M').map((e) => e.args!.name);
    expect(tracks).toContain('main');
    expect(tracks.filter((n) => n!.startsWith('worker ')).length).toBe(2);
    expect(events.filter((e) => e.ph === 'X' && e.name.startsWith('client ')).length).toBe(12);
  });
});
