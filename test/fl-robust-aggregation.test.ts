// Robust aggregation in whole federated runs (small simulated logistic task): under a sign-flip attack by
// 20% of the clients FedAvg's mean collapses while Krum and the coordinate-wise median keep the clean
// accuracy; every aggregator gives the same bits in-process and with 2 workers (needs the compiled workers:
// build first, npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import type { AggregatorSpec } from '../src/aggregate/index.js';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';

const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 20, features: 8, classes: 4, labelAlpha: null, featureShift: 0.2, separation: 2, minSamples: 40, maxSamples: 60, devSize: 400, testSize: 400, seed: 5 };
const base: RunConfigInput = { task, algorithm: 'fedavg', rounds: 12, clientRate: 1, batchSize: 20, lr: 0.1, seed: 1, evalEvery: 12, testEvery: 1, workers: 0 };
const accuracy = (r: RunResult): number => r.history[r.history.length - 1].test!.accuracy;
const bits = (r: RunResult) => Array.from(new Uint32Array(r.weights.buffer, r.weights.byteOffset, r.weights.length));
const signFlip = { kind: 'sign-flip' as const, attackers: 0.2 };

describe('robust aggregation under attack', () => {
  it('Krum and the median keep the clean accuracy under sign flipping where FedAvg collapses', async () => {
    const clean = accuracy(await runFederated(base, quiet));
    expect(clean).toBeGreaterThan(0.8);
    const fedavg = accuracy(await runFederated({ ...base, attack: signFlip }, quiet));
    const krum = accuracy(await runFederated({ ...base, attack: signFlip, aggregator: { name: 'krum', byzantine: 4 } }, quiet));
    const med = accuracy(await runFederated({ ...base, attack: signFlip, aggregator: { name: 'median', byzantine: 4 } }, quiet));
    expect(fedavg).toBeLessThan(0.5);
    expect(krum).toBeGreaterThan(clean - 0.05);
    expect(med).toBeGreaterThan(clean - 0.05);
  });

  it('refuses f ≥ n/2 at start, and an aggregator parameter it does not take', async () => {
    await expect(runFederated({ ...base, aggregator: { name: 'krum', byzantine: 10 } }, quiet))
      .rejects.toThrow('krum: f = 10 Byzantine of n = 20 updates is refused: f must be < n/2');
    await expect(runFederated({ ...base, aggregator: { name: 'mean', byzantine: 1 } }, quiet)).rejects.toThrow(/aggregator mean takes no --byzantine/);
    await expect(runFederated({ ...base, attack: { kind: 'sign-flip', attackers: 1.5 } }, quiet)).rejects.toThrow(/attack.attackers must be in \(0, 1\)/);
  });

  it('every aggregator gives the same bits in-process and with 2 workers, under attack', async () => {
    const specs: AggregatorSpec[] = [
      { name: 'mean' }, { name: 'norm-clip', clipNorm: 0.5 }, { name: 'median' }, { name: 'trimmed-mean', trim: 0.2 },
      { name: 'krum', byzantine: 2 }, { name: 'multi-krum', byzantine: 2 }, { name: 'bulyan', byzantine: 2 },
    ];
    const small: RunConfigInput = { ...base, rounds: 2, clientRate: 0.6, evalEvery: 0, attack: { kind: 'gaussian', attackers: 0.2 } };
    for (const aggregator of specs) {
      const r0 = await runFederated({ ...small, aggregator }, quiet);
      const r2 = await runFederated({ ...small, aggregator, workers: 2, window: 3 }, quiet);
      expect(bits(r2), aggregator.name).toEqual(bits(r0));
    }
  });
});
