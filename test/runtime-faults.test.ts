// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { runFederated, sampleClients } from '../src/runtime/scheduler.js';
import { resolveRunConfig, type RunConfigInput } from '../src/runtime/config.js';

const task = { kind: 'logistic', numClients: 10, features: 4, classes: 3, minSamples: 10, maxSamples: 30 };
const base: RunConfigInput = { task, rounds: 3, clientRate: 0.6, batchSize: 8, lr: 0.05, seed: 2, evalEvery: 3 };

describe('faults', () => {
  it('drops a crashed worker, a malformed and a NaN update, retries a thrown job, and completes the run', async () => {
    const ids = Array.from(sampleClients(1, 10, 0.6));
    const lines: string[] = [];
    const r = await runFederated({
      ...base,
      workers: 2,
      faults: [
        { round: 1, client: ids[0], kind: 'crash', times: 2 },
        { round: 1, client: ids[1], kind: 'throw' },
        { round: 1, client: ids[2], kind: 'malformed' },
        { round: 1, client: ids[3], kind: 'nan' },
      ],
    }, { log: (l) => lines.push(l) });
    expect(r.completedRounds).toBe(3);
    expect(r.totals).toMatchObject({ updates: 18 - 3, dropped: 3, retried: 2, repeatedRounds: 0 });
    // Every job downloads the broadcast, retries included (18 + 2); every payload received counts up (18 − 1 crashed).
    const broadcastBytes = r.history[0].bytesDown / 6;
    expect(r.totals.bytesDown).toBe(20 * broadcastBytes);
    expect(r.history[1].bytesUp).toBe(r.history[0].bytesUp / 6 * 4 + 4);
    const round1 = r.history[1];
    expect(round1.accepted).toBe(3);
    const reasons = Object.fromEntries(round1.droppedClients.map((d) => [d.client, d.reason]));
    expect(reasons[ids[0]]).toMatch(/^worker failed: /);
    expect(reasons[ids[2]]).toBe('header is not a map');
    expect(reasons[ids[3]]).toMatch(/^non-finite value \(NaN\) at index \d+$/);
    expect(lines.filter((l) => l.includes('dropped client')).length).toBe(3);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(r.weights.every((w) => Number.isFinite(w))).toBe(true);
    // The pool replaced the dead worker: the next round ran every client.
    expect(r.history[2].accepted).toBe(6);
  });

  it('repeats a short round to the same result as a clean run, or stops with a clear error', async () => {
    const ids = Array.from(sampleClients(0, 10, 0.6));
    const strict = { ...base, workers: 0, minClientFraction: 1, retryFailed: false };
    const clean = await runFederated(strict, { log: () => {} });
    const repeated = await runFederated({ ...strict, faults: [{ round: 0, client: ids[2], kind: 'throw' }] }, { log: () => {} });
    expect(repeated.history[0].attempts).toBe(2);
    expect(repeated.totals.repeatedRounds).toBe(1);
    expect(Array.from(repeated.weights)).toEqual(Array.from(clean.weights));
    await expect(runFederated({ ...strict, onShortRound: 'stop', faults: [{ round: 0, client: ids[2], kind: 'throw' }] }, { log: () => {} }))
      .rejects.toThrow(`round 0: only 5 of 6 client updates accepted (need 6); stopping after 1 attempt`);
  });
});

describe('run config', () => {
  it('rejects bad fields with one-line errors', () => {
    const bad: [RunConfigInput, RegExp][] = [
      [{ task, clientRate: 0 }, /^config: clientRate must be in \(0, 1\], got 0$/],
      [{ task, rounds: 1.5 }, /^config: rounds must be an integer in \[1, 1000000\], got 1.5$/],
      [{ task, fusion: 'sum' as never }, /^config: fusion must be 'attention' or 'concat', got "sum"$/],
      [{ task, checkpointEvery: 5 }, /^config: checkpointEvery needs an outDir$/],
      [{ task, lrr: 1 } as never, /^config: unknown field 'lrr'$/],
      [{ dataset: 'mnist' }, /^unknown dataset 'mnist'/],
      [{}, /^config: give a dataset/],
      [{ task, faults: [{ round: 0, client: 1, kind: 'explode' as never }] }, /^config: faults\[0\].kind must be throw \| crash \| malformed \| nan/],
    ];
    for (const [input, re] of bad) expect(() => resolveRunConfig(input)).toThrow(re);
  });

  it("fills a FedMultimodal dataset's published hyper-parameters", () => {
    const c = resolveRunConfig({ dataset: 'uci-har', algorithm: 'fedopt', dirichletAlpha: 0.1 });
    expect([c.lr, c.clientRate, c.rounds, c.batchSize, c.momentum, c.weightDecay, c.gradClip]).toEqual([0.05, 0.1, 200, 16, 0.9, 1e-5, 10]);
    expect(c.algorithmParams).toEqual({ serverLr: 0.025 });
    expect(c.task).toMatchObject({ kind: 'fedmultimodal', dataset: 'uci-har', dirichletAlpha: 0.1, fusion: 'attention' });
  });

  it('refuses unknown algorithms and their parameters at start', async () => {
    await expect(runFederated({ ...base, workers: 0, algorithm: 'fednova' })).rejects.toThrow(/^unknown algorithm 'fednova'; known: fedavg, fedopt, fedprox, fedrs, scaffold$/);
    await expect(runFederated({ ...base, workers: 0, algorithm: 'fedavg', mu: 0.1 })).rejects.toThrow("fedavg: unknown parameter 'mu' (accepted: serverLr)");
  });
});
