// The run loop's parts: the config table (type, validation, digest, docs), a pluggable executor, callbacks.
// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import { configDigest, configOptionTable, resolveRunConfig, type RunConfigInput } from '../src/runtime/config.js';
import { LocalExecutor, type ClientExecutor } from '../src/runtime/executor.js';
import type { RunCallback } from '../src/runtime/run-state.js';

const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 12, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
const base: RunConfigInput = { task, algorithm: 'scaffold', rounds: 3, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 5, evalEvery: 1, workers: 0 };
const bits = (r: RunResult) => Array.from(new Uint32Array(r.weights.buffer, r.weights.byteOffset, r.weights.length));

describe('run config table', () => {
  it('generates the option table of docs/runtime.md', () => {
    const docs = readFileSync(join(import.meta.dirname, '..', 'docs', 'runtime.md'), 'utf8');
    expect(docs, 'docs/runtime.md is stale: run node scripts/config-docs.mjs').toContain(configOptionTable());
    const config = resolveRunConfig(base);
    for (const name of Object.keys(config)) expect(configOptionTable()).toContain(`| \`${name}\` |`);
  });

  it('digests the result-relevant fields only', () => {
    const c = resolveRunConfig(base);
    expect(Object.keys(JSON.parse(configDigest(c)))).toEqual(['task', 'algorithm', 'algorithmParams', 'clientRate', 'localEpochs', 'batchSize', 'lr',
      'momentum', 'weightDecay', 'gradClip', 'aggregator', 'attack', 'seed', 'evalEvery', 'minClientFraction', 'compress', 'compressDown', 'deviceTrace',
      'availabilityTrace', 'deadline', 'overSelect', 'dp', 'secagg']);
    // FedBuff's fields enter the digest only in asynchronous runs (checkpoints written before them still resume)
    const fedbuff = Object.keys(JSON.parse(configDigest(resolveRunConfig({ ...base, asyncConcurrency: 4 }))));
    expect(fedbuff.filter((k) => ['asyncConcurrency', 'buffer', 'stalenessExponent'].includes(k))).toEqual(['asyncConcurrency', 'buffer', 'stalenessExponent']);
    expect(configDigest(resolveRunConfig({ ...base, workers: 3, rounds: 9, window: 2 }))).toBe(configDigest(c));
    expect(configDigest(resolveRunConfig({ ...base, lr: 0.1 }))).not.toBe(configDigest(c));
    expect(configDigest(resolveRunConfig({ ...base, algorithm: 'fedavg', serverLr: 0.5 }))).toContain('"algorithmParams":{"serverLr":0.5}');
  });

  it('resolves fields that depend on others, with one-line errors', () => {
    const c = resolveRunConfig({ dataset: 'uci-har', algorithm: 'fedopt', missingModality: 0.2, seed: 4 });
    expect(c.task).toMatchObject({ kind: 'fedmultimodal', dataset: 'uci-har', missingModality: 0.2, seed: 4 });
    expect(c.algorithmParams.serverLr).toBeGreaterThan(0);
    expect(() => resolveRunConfig({ task, trace: true })).toThrow(/^config: trace needs an outDir$/);
    expect(() => resolveRunConfig({ task, rounds: 0 })).toThrow(/^config: rounds must be an integer in \[1, 1000000\], got 0$/);
    expect(() => resolveRunConfig({ task, roundz: 3 } as RunConfigInput)).toThrow(/^config: unknown field 'roundz'$/);
    expect(() => resolveRunConfig({})).toThrow(/^config: give a dataset \(FedMultimodal id\) or a task spec$/);
  });
});

/** Holds each round's `perRound` results and delivers them in descending client id: the reverse of the fold order. */
function reversingExecutor(inner: ClientExecutor, perRound: number): ClientExecutor {
  let held: { id: number; release: () => void }[] = [];
  return {
    lanes: 4,
    publish: (g, v) => inner.publish(g, v),
    train: async (work) => {
      const res = await inner.train(work);
      await new Promise<void>((release) => {
        held.push({ id: work.clientId, release });
        if (held.length < perRound) return;
        const order = held.sort((a, b) => b.id - a.id);
        held = [];
        order.forEach((h, i) => setTimeout(h.release, 5 * i));
      });
      return res;
    },
    evaluate: (w, split) => inner.evaluate(w, split),
    close: () => inner.close(),
  };
}

describe('run loop', () => {
  it('trains on a plugged-in executor to the same bits, whatever the arrival order', async () => {
    const plain = await runFederated(base, quiet);
    const arrivals: number[] = [];
    const reversed = await runFederated(base, {
      ...quiet,
      executor: (t, spec) => {
        const inner = reversingExecutor(new LocalExecutor(t, spec, 0), 6);
        return { ...inner, train: (w) => inner.train(w).then((r) => (arrivals.push(w.clientId), r)) };
      },
    });
    expect(bits(reversed)).toEqual(bits(plain));
    expect(reversed.history.map((h) => h.dev)).toEqual(plain.history.map((h) => h.dev));
    const firstRound = arrivals.slice(0, 6);
    expect(firstRound).toEqual([...firstRound].sort((a, b) => b - a));
  });

  it('calls the callbacks in order, with the result at the end or null after an error', async () => {
    const calls: string[] = [];
    const spy: RunCallback = {
      onTrainBegin: (run) => void calls.push(`begin ${run.completedRounds}`),
      afterRound: (_run, r) => void calls.push(`after ${r.round} ${r.dev ? 'evaluated' : ''}`),
      onRoundEnd: (_run, r) => void calls.push(`end ${r.round} ${r.phases.round > 0}`),
      onTrainEnd: (_run, result) => void calls.push(`done ${result?.completedRounds ?? null}`),
    };
    await runFederated({ ...base, rounds: 2 }, { ...quiet, callbacks: [spy] });
    expect(calls).toEqual(['begin 0', 'after 0 evaluated', 'end 0 true', 'after 1 evaluated', 'end 1 true', 'done 2']);

    calls.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-loop-'));
    try {
      const failing = { ...base, outDir: dir, trace: true, minClientFraction: 1, onShortRound: 'stop' as const, retryFailed: false, faults: [{ round: 1, client: 0, kind: 'throw' as const }, { round: 1, client: 1, kind: 'throw' as const }] };
      const run = runFederated({ ...failing, clientRate: 1 }, { ...quiet, callbacks: [spy] });
      await expect(run).rejects.toThrow(/^round 1: only 10 of 12 client updates accepted \(need 12\); stopping after 1 attempt$/);
      expect(calls).toEqual(['begin 0', 'after 0 evaluated', 'end 0 true', 'done null']);
      // The trace is closed (valid JSON) and the metrics file holds the completed round.
      expect(JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')).length).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
