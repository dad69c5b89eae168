// Issue 11's run-loop cases through the runtime (compiled: the workers and the plugin load dist/; build
// first): a client that never returns is stopped by the client timeout, an interrupt stops a run at once and
// saves its last completed round, absurd averaging weights are refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFederated } from '../dist/src/runtime/scheduler.js';

const PLUGIN = resolve('test/fixtures/hostile-strategy.mjs');
const task = { kind: 'logistic', numClients: 6, features: 4, classes: 3, minSamples: 10, maxSamples: 20 };
const base = { task, algorithm: 'hostile', plugins: [PLUGIN], clientRate: 1, batchSize: 8, lr: 0.05, seed: 3, evalEvery: 0, workers: 2 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedmm-rel-loop-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('case 5: a stuck client', () => {
  it('is stopped by the client timeout, its worker replaced, the client counted as dropped', { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const r = await runFederated({ ...base, rounds: 2, algorithmParams: { stuck: 2, from: 1 }, clientTimeoutMs: 8000 }, { log: (l) => lines.push(l) });
    expect(r.completedRounds).toBe(2);
    expect(r.history[0].accepted).toBe(6);
    expect(r.history[1].accepted).toBe(5);
    expect(r.history[1].droppedClients).toEqual([{ client: 2, reason: 'no update within the client timeout of 8 s; its job was stopped' }]);
    expect(lines).toContain('round 1: dropped client 2: no update within the client timeout of 8 s; its job was stopped');
    expect(r.weights.every(Number.isFinite)).toBe(true);
  });

  it('Ctrl-C stops the run within a second even while a client is stuck, and saves the last completed round', { timeout: 60_000 }, async () => {
    const out = tmp();
    const controller = new AbortController();
    let abortedAt = 0;
    const r = await runFederated({ ...base, rounds: 5, algorithmParams: { stuck: 4, from: 1 }, clientTimeoutMs: 0, outDir: out }, {
      log: () => {},
      signal: controller.signal,
      onRound: (rec) => {
        if (rec.round === 0) setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 500);
      },
    });
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(r.aborted).toBe(true);
    expect(r.completedRounds).toBe(1);
    const latest = JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest).toEqual({ dir: 'round-000001', completedRounds: 1 });
  });
});

describe('case 9: averaging weights', () => {
  it('refuses an update whose averaging weight would make the round total infinite', async () => {
    const lines: string[] = [];
    const err = await runFederated({ ...base, workers: 0, rounds: 1, algorithmParams: { weight: 1.7e308 }, onShortRound: 'stop' }, { log: (l) => lines.push(l) })
      .catch((e: Error) => e);
    expect(lines[0]).toBe('round 0: dropped client 0: averaging weight 1.7e+308 is outside (0, 4294967296]');
    expect((err as Error).message).toBe('round 0: only 0 of 6 client updates accepted (need 3); stopping after 1 attempt');
  });
});
