// The evaluation protocol: dev every evaluation round, test only where the dev headline improves unless
// testEvery asks for a curve — with the same reported result (best round, its test metrics, result.json).
// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';

const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 12, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
// Non-IID clients, 3 of 12 a round: dev accuracy rises, then goes up and down (it improves in 5 of the 14 rounds).
const base: RunConfigInput = { task, algorithm: 'fedavg', rounds: 14, clientRate: 0.25, batchSize: 8, lr: 0.05, momentum: 0, seed: 3, evalEvery: 1, workers: 0 };
const dir = mkdtempSync(join(tmpdir(), 'fedmm-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** result.json without what differs by design: the config (testEvery, outDir) and the wall time. */
function reported(outDir: string): unknown {
  const { config: _c, elapsedMs: _e, outDir: _o, ...rest } = JSON.parse(readFileSync(join(outDir, 'result.json'), 'utf8'));
  return rest;
}

function improvingRounds(r: RunResult, metric: string): number[] {
  let best = -Infinity;
  const out: number[] = [];
  for (const h of r.history) {
    if (h.dev && h.dev[metric] > best) {
      best = h.dev[metric];
      out.push(h.round);
    }
  }
  return out;
}

describe('evaluation protocol', () => {
  it('evaluates test only where dev improves by default, with the result of evaluating it every round', async () => {
    const every = await runFederated({ ...base, testEvery: 1, outDir: join(dir, 'every') }, quiet);
    const lazy = await runFederated({ ...base, outDir: join(dir, 'lazy') }, quiet);
    expect(lazy.config.testEvery).toBe(0);
    expect(reported(join(dir, 'lazy'))).toEqual(reported(join(dir, 'every')));
    expect(lazy.best).toEqual(every.best);
    expect(Array.from(lazy.weights)).toEqual(Array.from(every.weights));
    expect(lazy.history.map((h) => h.dev)).toEqual(every.history.map((h) => h.dev));
    expect(every.history.every((h) => h.test !== undefined)).toBe(true);

    const improving = improvingRounds(lazy, lazy.headlineMetric);
    expect(improving.length).toBeGreaterThan(1);
    expect(improving.length).toBeLessThan(base.rounds!);
    expect(lazy.history.filter((h) => h.test).map((h) => h.round)).toEqual(improving);
    for (const h of lazy.history) if (h.test) expect(h.test).toEqual(every.history[h.round].test);
    // metrics.jsonl carries the same records.
    const lines = readFileSync(join(dir, 'lazy', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.test).map((l) => l.round)).toEqual(improving);
  });

  it('keeps a test point every testEvery rounds on top, on workers too', async () => {
    const r = await runFederated({ ...base, testEvery: 4, workers: 2 }, quiet);
    const improving = improvingRounds(r, r.headlineMetric);
    const expected = r.history.map((h) => h.round).filter((k) => (k + 1) % 4 === 0 || improving.includes(k));
    expect(r.history.filter((h) => h.test).map((h) => h.round)).toEqual(expected);
    const every = await runFederated({ ...base, testEvery: 1 }, quiet);
    expect(r.best).toEqual(every.best);
  });

  it('refuses a negative testEvery in one line', async () => {
    await expect(runFederated({ ...base, testEvery: -1 }, quiet)).rejects.toThrow(/^config: testEvery must be an integer ≥ 0, got -1$/);
  });
});
