// Private runs end to end (logistic task, main thread and workers): ε per round in metrics.jsonl and the final
// ε in result.json, σ from a target ε, SecAgg alone matching plain FedAvg up to the fixed-point error, DP +
// SecAgg matching DP alone, determinism, resume, and refusals.
// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';
import { epsilonSampledGaussian } from '../src/privacy/rdp.js';
import { poissonSampleClients } from '../src/runtime/round.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedmm-privacy-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 20, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
const base: RunConfigInput = { task, rounds: 5, clientRate: 0.4, batchSize: 8, lr: 0.1, seed: 5, evalEvery: 5, workers: 0, minClientFraction: 0.1 };
const bits = (r: RunResult) => Array.from(new Uint32Array(r.weights.buffer, r.weights.byteOffset, r.weights.length));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('private runs', () => {
  it('central DP: ε after every round in metrics.jsonl, the final ε in result.json, Poisson-sampled cohorts', async () => {
    const dir = tmp();
    const r = await runFederated({ ...base, dp: { clip: 1, noise: 1.1 }, outDir: dir }, quiet);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    lines.forEach((rec, k) => expect(rec.privacy.epsilon).toBeCloseTo(epsilonSampledGaussian(0.4, 1.1, k + 1, 1e-5).epsilon, 10));
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.privacy.dp).toMatchObject({ mode: 'central', sampling: 'poisson', samplingRate: 0.4, noiseMultiplier: 1.1, delta: 1e-5 });
    expect(result.privacy.dp.epsilon).toBeCloseTo(lines[4].privacy.epsilon, 12);
    expect(new Set(r.history.map((h) => h.sampled)).size).toBeGreaterThan(1); // Poisson: the cohort size varies
  });

  it('--dp-epsilon picks σ so that the planned rounds end at ε ≤ target', async () => {
    const r = await runFederated({ ...base, dp: { clip: 'adaptive:0.5', epsilon: 4 } }, quiet);
    expect(r.privacy!.dp!.epsilon).toBeLessThanOrEqual(4);
    expect(r.privacy!.dp!.epsilon).toBeGreaterThan(3.9);
    expect(r.privacy!.dp!.finalClipNorm).not.toBe(0.1);
  });

  it('SecAgg alone gives plain FedAvg up to the fixed-point error; DP + SecAgg gives DP alone', async () => {
    const plain = await runFederated(base, quiet);
    const secure = await runFederated({ ...base, secagg: true }, quiet);
    expect(maxDiff(secure.weights, plain.weights)).toBeLessThan(1e-5);
    expect(secure.history[0].privacy!.secagg!.survivors).toBe(plain.history[0].accepted);

    const dp = await runFederated({ ...base, dp: { clip: 0.5, noise: 0.8 } }, quiet);
    const both = await runFederated({ ...base, dp: { clip: 0.5, noise: 0.8 }, secagg: { neighbors: 4 } }, quiet);
    expect(maxDiff(both.weights, dp.weights)).toBeLessThan(1e-4);
    expect(both.privacy!.dp!.epsilon).toBe(dp.privacy!.dp!.epsilon);
  });

  it('is deterministic with dropouts, with 0 or 2 workers, and after a resume', async () => {
    const cfg: RunConfigInput = { ...base, rounds: 4, dp: { clip: 'adaptive:0.5', noise: 1 }, secagg: { dropout: 0.2, threshold: 0.4 } };
    const a = await runFederated(cfg, quiet);
    const b = await runFederated({ ...cfg, workers: 2 }, quiet);
    expect(bits(b)).toEqual(bits(a));
    expect(a.history.some((h) => h.privacy!.secagg!.dropped > 0)).toBe(true);

    const dir = tmp();
    await runFederated({ ...cfg, rounds: 2, outDir: dir, checkpointEvery: 2 }, quiet);
    const resumed = await runFederated({ ...cfg, outDir: dir, checkpointEvery: 2, resume: true }, quiet);
    expect(bits(resumed)).toEqual(bits(a));
    expect(resumed.privacy!.dp!.epsilon).toBe(a.privacy!.dp!.epsilon);
    expect(resumed.privacy!.dp!.finalClipNorm).toBe(a.privacy!.dp!.finalClipNorm);
  });

  it('learns under central DP at ε = 8 when cohorts are large (500 clients, m = 100 per round)', async () => {
    const many = { ...task, numClients: 500 };
    const r = await runFederated({ ...base, task: many, rounds: 20, clientRate: 0.2, evalEvery: 20, dp: { clip: 0.5, epsilon: 8 } }, quiet);
    expect(r.privacy!.dp!.epsilon).toBeLessThanOrEqual(8);
    expect(r.privacy!.dp!.noiseMultiplier).toBeGreaterThan(0.9);
    expect(r.history.at(-1)!.test!.accuracy).toBeGreaterThan(0.85); // 3 classes: chance ≈ 0.33; no DP: 0.95
  });

  it('local DP reports the per-client guarantee', async () => {
    const r = await runFederated({ ...base, dp: { mode: 'local', clip: 1, noise: 4 } }, quiet);
    const most = new Map<number, number>();
    expect(r.privacy!.dp!.epsilon).toBeGreaterThan(0);
    for (const h of r.history) for (const c of h.privacy!.contributors!) most.set(c, (most.get(c) ?? 0) + 1);
    const k = Math.max(...most.values());
    expect(r.privacy!.dp!.epsilon).toBeCloseTo(epsilonSampledGaussian(1, 2, k, 1e-5).epsilon, 10);
  });

  it('refuses what it cannot do, in one line', async () => {
    await expect(runFederated({ ...base, algorithm: 'scaffold', dp: { clip: 1, noise: 1 } }, quiet)).rejects.toThrow(/algorithm 'scaffold' also sends dc \(use fedavg/);
    await expect(runFederated({ ...base, dp: { clip: 1 } }, quiet)).rejects.toThrow(/dp needs exactly one of noise \(σ\) and epsilon/);
    await expect(runFederated({ ...base, dp: { clip: 'adaptive:2', noise: 1 } }, quiet)).rejects.toThrow(/dp.clip must be/);
    await expect(runFederated({ ...base, secagg: { dropout: 1 } }, quiet)).rejects.toThrow(/secagg.dropout must be in \[0, 1\)/);
    await expect(runFederated({ ...base, dp: { clip: 1, noise: 1, mode: 'local', epsilon: 2 } }, quiet)).rejects.toThrow(/exactly one/);
    await expect(runFederated({ ...base, aggregator: { name: 'median' }, dp: { clip: 1, noise: 1 } }, quiet))
      .rejects.toThrow(/^config: dp and secagg aggregate with their own private mean; aggregator 'median' cannot be combined/);
    await expect(runFederated({ ...base, aggregator: { name: 'krum', byzantine: 0 }, secagg: {} }, quiet)).rejects.toThrow(/aggregator 'krum' cannot be combined/);
  });

  it('drops a non-finite update before it reaches the private sum', async () => {
    const round0 = poissonSampleClients(0, 20, base.clientRate!);
    const client = round0[0];
    const r = await runFederated({ ...base, rounds: 1, dp: { clip: 1, noise: 1 }, faults: [{ round: 0, client, kind: 'nan' }] }, quiet);
    expect(r.history[0].droppedClients).toEqual([{ client, reason: expect.stringMatching(/^delta\[\d+\] is NaN/) }]);
    expect(r.history[0].accepted).toBe(round0.length - 1);
    expect(r.history[0].privacy!.epsilon).toBeGreaterThan(0);
  });
});
