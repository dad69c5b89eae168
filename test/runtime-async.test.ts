// Asynchronous FL (FedBuff) on the virtual clock: the staleness weight, the schedule against a hand-computed
// event sequence, the server steps against a hand computation on a convex task, determinism across worker
// counts, resume, learning, refusals. Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillBuffer, stalenessWeight, type AsyncSchedule, type InFlight, type ScheduleEnv } from '../src/runtime/async-round.js';
import type { Devices } from '../src/runtime/devices.js';
import { runFederated, type RoundRecord } from '../src/runtime/scheduler.js';
import { resolveRunConfig, type RunConfigInput } from '../src/runtime/config.js';
import { registerTask, type Task, type TaskData, type TrainableModel } from '../src/fl/task.js';

const quiet = { log: () => {} };
const alwaysThere: Devices = { profile: () => ({ speed: 1, down: Infinity, up: Infinity }), available: () => true, nextAvailable: (_k, t) => t };

function env(seconds: number[], over: Partial<ScheduleEnv> = {}): ScheduleEnv {
  return { numClients: seconds.length, seed: 3, concurrency: seconds.length, buffer: 1, devices: alwaysThere, isActive: () => true, seconds: (k) => seconds[k], ...over };
}

/** Runs `steps` buffers and lists each arrival as [client, version, staleness]. */
function arrivals(e: ScheduleEnv, steps: number): { seq: [number, number, number][]; times: number[]; fills: InFlight[][] } {
  let schedule: AsyncSchedule = { inFlight: [], dispatched: 0 };
  let now = 0;
  const seq: [number, number, number][] = [];
  const times: number[] = [];
  const fills: InFlight[][] = [];
  for (let s = 0; s < steps; s++) {
    const f = fillBuffer(e, schedule, s, now);
    fills.push([...f.arrivals]);
    for (const a of f.arrivals) seq.push([a.client, a.version, s - a.version]);
    schedule = f.schedule;
    now = f.now;
    times.push(now);
  }
  return { seq, times, fills };
}

describe('FedBuff staleness weight', () => {
  it('is (1 + τ)^−a', () => {
    expect([0, 1, 3, 8].map((t) => stalenessWeight(t, 0.5))).toEqual([1, 1 / Math.sqrt(2), 0.5, 1 / 3]);
    expect(stalenessWeight(4, 1)).toBe(0.2);
    expect(stalenessWeight(7, 2)).toBe(1 / 64);
    expect(stalenessWeight(5, 0)).toBe(1);
  });
});

describe('FedBuff schedule on the virtual clock', () => {
  it('takes arrivals in virtual-time order, ties to the lower id, and refills each slot from the current version', () => {
    // Three clients in flight at once, a server step per arrival; client k takes [1, 1.5, 4][k] s.
    // t=0: all three start from v0. t=1: c0 arrives (step 0) and restarts from v1 (due 2). t=1.5: c1 (v0, step 1),
    // restarts v2 (due 3). t=2: c0 (v1, step 2), restarts v3 (due 3). t=3: c0 (v3) and c1 (v2) tie: c0 first
    // (step 3), restarts v4 (due 4); then c1 (step 4), restarts v5 (due 4.5). t=4: c0 (v4) and c2 (v0) tie: c0
    // (step 5), then c2 (step 6: 6 steps stale).
    const { seq, times } = arrivals(env([1, 1.5, 4]), 7);
    expect(seq).toEqual([[0, 0, 0], [1, 0, 1], [0, 1, 1], [0, 3, 0], [1, 2, 2], [0, 4, 1], [2, 0, 6]]);
    expect(times).toEqual([1, 1.5, 2, 3, 3, 4, 4]);
  });

  it('lets a client report at most once per buffer, and closes a buffer early when every active client has reported', () => {
    // One slot, buffer 2, one fast client: the second slot of the buffer must go to the slow one.
    const { fills } = arrivals(env([1, 10], { concurrency: 1, buffer: 2 }), 2);
    for (const f of fills) expect(f.map((a) => a.client).sort()).toEqual([0, 1]);
    // Client 1 is inactive: a buffer of 2 closes with client 0's one arrival.
    const early = fillBuffer(env([1, 1], { buffer: 2, isActive: (k) => k === 0 }), { inFlight: [], dispatched: 0 }, 0, 0);
    expect(early.arrivals.map((a) => a.client)).toEqual([0]);
    const none = fillBuffer(env([1, 1], { isActive: () => false }), { inFlight: [], dispatched: 0 }, 0, 0);
    expect(none.arrivals).toEqual([]);
  });

  it('jumps the idle clock to the first moment a client is available', () => {
    const devices: Devices = { ...alwaysThere, available: (k, t) => t >= 10 * (k + 1), nextAvailable: (k, t) => Math.max(t, 10 * (k + 1)) };
    const f = fillBuffer(env([2, 2], { devices, concurrency: 2 }), { inFlight: [], dispatched: 0 }, 0, 0);
    expect(f.arrivals.map((a) => [a.client, a.start, a.finish])).toEqual([[0, 10, 12]]);
    // client 1 (available from t = 20) is not in flight yet: free slots are filled when a client arrives or the server is idle
    expect(f.schedule.inFlight).toEqual([]);
    const g = fillBuffer(env([2, 2], { devices, concurrency: 2, buffer: 2 }), { inFlight: [], dispatched: 0 }, 0, 0);
    expect(g.arrivals.map((a) => [a.client, a.start, a.finish])).toEqual([[0, 10, 12], [1, 20, 22]]);
  });

  it('draws the same clients for the same seed, different ones for another', () => {
    const seconds = Array.from({ length: 50 }, (_, k) => 1 + (k % 7) * 0.3);
    const a = arrivals(env(seconds, { concurrency: 5, buffer: 3 }), 6).seq;
    expect(arrivals(env(seconds, { concurrency: 5, buffer: 3 }), 6).seq).toEqual(a);
    expect(arrivals(env(seconds, { concurrency: 5, buffer: 3, seed: 4 }), 6).seq).not.toEqual(a);
  });
});

// A convex task: client k has k + 1 samples, each with loss ½‖x − c_k‖² (c_k = [k, 1 − k, 2k]); one batch holds
// them all, so one local SGD step (lr η, no momentum) gives Δ_k = η (c_k − x).
const target = (k: number) => [k, 1 - k, 2 * k];
type QBatch = { size: number; client: number };
registerTask('fedbuff-quadratic', () => {
  const data = (client: number): TaskData<QBatch> => ({
    size: client + 1,
    labelHistogram: Int32Array.of(client + 1),
    batches: () => [{ size: client + 1, client }],
  });
  const task: Task<QBatch> = {
    spec: { kind: 'fedbuff-quadratic' },
    numClients: 3,
    numClasses: 1,
    numParams: 3,
    headlineMetric: 'neg-loss',
    createModel(): TrainableModel<QBatch> {
      const params = new Float32Array(3);
      const grads = new Float32Array(3);
      return {
        params, grads,
        lossAndGrad(batch) {
          const c = target(batch.client);
          let loss = 0;
          for (let j = 0; j < 3; j++) {
            grads[j] = params[j] - c[j];
            loss += 0.5 * grads[j] ** 2;
          }
          return loss;
        },
        predict: () => new Float32Array(0),
      };
    },
    clientData: data,
    evaluate: () => ({ 'neg-loss': 0 }),
  };
  return task;
});

describe('FedBuff in a run', () => {
  it('matches a hand computation of the server steps on a convex task', async () => {
    // Client k trains (k+1) samples in T_k = [1, 1.7, 4.3][k] s: computation = 1000·T/(3·(k+1)) ms per sample;
    // bandwidth so large that transfers take < 1e-8 s. The same sequence as the schedule test above (no ties).
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-fedbuff-'));
    try {
      const T = [1, 1.7, 4.3];
      const trace = join(dir, 'capacity.json');
      writeFileSync(trace, JSON.stringify(Object.fromEntries(T.map((t, k) => [String(k), { computation: (1000 * t) / (3 * (k + 1)), communication: 1e12 }]))));
      const lr = 0.3;
      const r = await runFederated({
        task: { kind: 'fedbuff-quadratic' }, rounds: 7, lr, momentum: 0, weightDecay: 0, gradClip: 0, batchSize: 100, evalEvery: 0, workers: 0,
        deviceTrace: trace, asyncConcurrency: 3, buffer: 1, stalenessExponent: 0.5,
      }, quiet);
      const sequence: [number, number][] = [[0, 0], [1, 0], [0, 1], [0, 3], [1, 2], [0, 4], [2, 0]]; // (client, version) per step
      const x: number[][] = [[0, 0, 0]];
      sequence.forEach(([k, v], s) => {
        const w = (1 + (s - v)) ** -0.5;
        x.push(x[s].map((xi, j) => xi + w * lr * (target(k)[j] - x[v][j])));
      });
      expect(r.history.map((h) => h.staleness?.max)).toEqual(sequence.map(([, v], s) => s - v));
      r.weights.forEach((w, j) => expect(w).toBeCloseTo(x[7][j], 5));
      expect(r.totals.virtualTime).toBeCloseTo(4.3, 6);
      expect(r.history.every((h) => h.sampled === 1 && h.accepted === 1)).toBe(true);

      // Buffer 2, exponent 1, sample-weighted: each step is Σ n_i s(τ_i) Δ_i / Σ n_i over its two arrivals.
      const r2 = await runFederated({
        task: { kind: 'fedbuff-quadratic' }, rounds: 3, lr, momentum: 0, weightDecay: 0, gradClip: 0, batchSize: 100, evalEvery: 0, workers: 0,
        deviceTrace: trace, asyncConcurrency: 3, buffer: 2, stalenessExponent: 1,
      }, quiet);
      // t=0: all start from v0. c0 arrives @1 (no free client: c0 waits for the step), c1 @1.7 → step 0.
      // Both restart from v1 at 1.7: c0 @2.7, c1 @3.4 → step 1. Both restart from v2 at 3.4: c2 @4.3 (v0, τ 2),
      // c0 @4.4 (v2, τ 0) → step 2.
      const steps: [number, number][][] = [[[0, 0], [1, 0]], [[0, 1], [1, 1]], [[2, 0], [0, 2]]];
      const y: number[][] = [[0, 0, 0]];
      steps.forEach((buf, s) => {
        const n = buf.reduce((a, [k]) => a + k + 1, 0);
        y.push(y[s].map((yi, j) => yi + buf.reduce((a, [k, v]) => a + ((k + 1) / n) * (1 / (1 + s - v)) * lr * (target(k)[j] - y[v][j]), 0)));
      });
      r2.weights.forEach((w, j) => expect(w).toBeCloseTo(y[3][j], 5));
      expect(r2.history.map((h) => h.virtualStart + h.virtualSeconds).map((t) => Number(t.toFixed(6)))).toEqual([1.7, 3.4, 4.4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const task = { kind: 'logistic', numClients: 20, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
  const base: RunConfigInput = { task, rounds: 8, batchSize: 8, lr: 0.1, seed: 5, evalEvery: 1, asyncConcurrency: 6, buffer: 3 };
  const strip = (h: RoundRecord[]) => h.map(({ phases: _p, overheadShare: _o, ...rest }) => rest);

  it('gives the same bits with 1 or 2 workers, and learns', async () => {
    const one = await runFederated({ ...base, workers: 1 }, quiet);
    const two = await runFederated({ ...base, workers: 2 }, quiet);
    expect(Array.from(two.weights)).toEqual(Array.from(one.weights));
    expect(strip(two.history)).toEqual(strip(one.history));
    expect(one.totals).toEqual(two.totals);
    // stale updates happen, and the model learns the task (3 classes: chance is 1/3)
    expect(one.history.some((h) => h.staleness!.max > 0)).toBe(true);
    const acc = one.history.map((h) => h.dev!.accuracy);
    expect(acc[acc.length - 1]).toBeGreaterThan(0.85);
    expect(one.history.every((h) => h.virtualSeconds > 0)).toBe(true);
  });

  it('resumes from a checkpoint to the same bits (jobs in flight and their model versions included)', async () => {
    const full = await runFederated({ ...base, workers: 0 }, quiet);
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-fedbuff-resume-'));
    try {
      const cfg = { ...base, workers: 0, outDir: dir, checkpointEvery: 1 };
      await runFederated({ ...cfg, rounds: 3 }, quiet);
      const latest = readdirSync(join(dir, 'checkpoints')).filter((n) => n.startsWith('round-')).sort().pop()!;
      expect(readdirSync(join(dir, 'checkpoints', latest)).some((n) => /^version-\d+\.bin$/.test(n))).toBe(true);
      const resumed = await runFederated({ ...cfg, resume: true }, quiet);
      expect(Array.from(resumed.weights)).toEqual(Array.from(full.weights));
      expect(strip(resumed.history)).toEqual(strip(full.history));
      expect(resumed.totals).toEqual(full.totals);
      expect(existsSync(join(dir, 'result.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what FedBuff cannot do, each in one line', async () => {
    expect(() => resolveRunConfig({ task, buffer: 4 })).toThrow(/^config: buffer needs asyncConcurrency > 0 \(FedBuff\)$/);
    expect(() => resolveRunConfig({ task, stalenessExponent: 1 })).toThrow(/^config: stalenessExponent needs asyncConcurrency > 0/);
    expect(() => resolveRunConfig({ task, asyncConcurrency: 2, stalenessExponent: -1 })).toThrow(/^config: stalenessExponent must be in \[0, 16\], got -1$/);
    expect(() => resolveRunConfig({ task, asyncConcurrency: 1.5 })).toThrow(/^config: asyncConcurrency must be an integer ≥ 0, got 1\.5$/);
    expect(() => resolveRunConfig({ task, asyncConcurrency: 2, deadline: 5 })).toThrow(/^config: asyncConcurrency \(FedBuff\) does not combine with deadline/);
    expect(() => resolveRunConfig({ task, asyncConcurrency: 2, aggregator: { name: 'median' } })).toThrow(/does not combine with aggregator median/);
    await expect(runFederated({ ...base, algorithm: 'scaffold', workers: 0 }, quiet)).rejects.toThrow(/^asynchronous FL \(asyncConcurrency 6\): algorithm scaffold exchanges more than/);
    await expect(runFederated({ ...base, buffer: 21, workers: 0 }, quiet)).rejects.toThrow(/buffer 21 exceeds the 20 clients/);
  });
});
