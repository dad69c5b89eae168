import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { LogisticTask, type LogisticBatch, type LogisticSpec } from '../src/fl/logistic.js';
import { fedOpt } from '../src/fl/strategies/fedopt.js';
import { fedRS } from '../src/fl/strategies/fedrs.js';
import { scaffold } from '../src/fl/strategies/scaffold.js';
import { clipGradNorm } from '../src/fl/local.js';
import { runFederated } from '../src/runtime/scheduler.js';
import type { LocalTrainConfig } from '../src/fl/strategy.js';

const quiet = { log: () => {} };
const noOpts = { classScale: null, rng: new Rng(0) };

/** Sample-weighted mean loss over every training client, and its gradient (float64). */
function centralized(task: LogisticTask, w: Float32Array): { loss: number; grad: Float64Array } {
  const m = task.createModel(new Rng(0));
  m.params.set(w);
  const grad = new Float64Array(w.length);
  let loss = 0;
  let n = 0;
  for (let k = 0; k < task.numClients; k++) {
    for (const b of task.clientData(k).batches(1 << 20)) {
      loss += m.lossAndGrad(b, noOpts) * b.size;
      for (let i = 0; i < w.length; i++) grad[i] += m.grads[i] * b.size;
      n += b.size;
    }
  }
  for (let i = 0; i < w.length; i++) grad[i] /= n;
  return { loss: loss / n, grad };
}

/** The minimiser of the centralized loss + (wd/2)‖w‖² by gradient descent. */
function optimum(task: LogisticTask, wd: number, iters: number, lr: number): Float32Array {
  const w = new Float32Array(task.numParams);
  for (let it = 0; it < iters; it++) {
    const { grad } = centralized(task, w);
    for (let i = 0; i < w.length; i++) w[i] -= lr * (grad[i] + wd * w[i]);
  }
  return w;
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));
const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, i) => x - b[i]);

describe('federated logistic regression', () => {
  it('FedAvg reaches the centralized optimum (full participation, one full-batch step per round)', async () => {
    const spec: LogisticSpec = { kind: 'logistic', numClients: 6, features: 4, classes: 3, minSamples: 10, maxSamples: 40, labelAlpha: 1, featureShift: 0.5, separation: 1, devSize: 50, testSize: 50, seed: 4 };
    const task = new LogisticTask(spec);
    const wd = 0.01;
    const r = await runFederated({ task: spec, algorithm: 'fedavg', rounds: 2000, clientRate: 1, batchSize: 64, localEpochs: 1, lr: 0.5, momentum: 0, weightDecay: wd, gradClip: 0, workers: 0, evalEvery: 2000, seed: 2 }, quiet);
    const wStar = optimum(task, wd, 3000, 0.5);
    const objective = (w: Float32Array) => {
      const { loss } = centralized(task, w);
      return loss + 0.5 * wd * norm(w) ** 2;
    };
    expect(objective(r.weights) - objective(wStar)).toBeLessThan(1e-5);
    expect(norm(diff(r.weights, wStar))).toBeLessThan(5e-3);
  });

  it('one client and one local step equal one centralized SGD step', async () => {
    const spec: LogisticSpec = { kind: 'logistic', numClients: 1, features: 5, classes: 3, minSamples: 30, maxSamples: 30, labelAlpha: null, featureShift: 0, separation: 1, devSize: 10, testSize: 10, seed: 9 };
    const task = new LogisticTask(spec);
    const lr = 0.1;
    const wd = 1e-3;
    const r = await runFederated({ task: spec, algorithm: 'fedavg', rounds: 1, clientRate: 1, batchSize: 30, localEpochs: 1, lr, momentum: 0.9, weightDecay: wd, gradClip: 0, workers: 0, seed: 5 }, quiet);
    const w0 = task.createModel(new Rng(5).fork('init')).params;
    const { grad } = centralized(task, w0);
    const expected = Array.from(w0, (w, i) => w - lr * (grad[i] + wd * w));
    for (let i = 0; i < expected.length; i++) expect(r.weights[i]).toBeCloseTo(expected[i], 6);
    expect(norm(diff(r.weights, w0))).toBeGreaterThan(1e-3);
  });

  it('FedProx with a large mu keeps the local models at the global weights', async () => {
    const spec: LogisticSpec = { kind: 'logistic', numClients: 4, features: 5, classes: 3, minSamples: 40, maxSamples: 40, labelAlpha: 0.3, featureShift: 0, separation: 1, devSize: 10, testSize: 10, seed: 3 };
    const common = { task: spec, rounds: 1, clientRate: 1, batchSize: 8, localEpochs: 5, lr: 0.01, momentum: 0, weightDecay: 0, gradClip: 0, workers: 0, seed: 1 } as const;
    const w0 = new LogisticTask(spec).createModel(new Rng(1).fork('init')).params;
    const avg = await runFederated({ ...common, algorithm: 'fedavg' }, quiet);
    const prox = await runFederated({ ...common, algorithm: 'fedprox', mu: 100 }, quiet);
    const moved = norm(diff(avg.weights, w0));
    const movedProx = norm(diff(prox.weights, w0));
    expect(moved).toBeGreaterThan(1e-2);
    expect(movedProx).toBeLessThan(0.1 * moved);
    const small = await runFederated({ ...common, algorithm: 'fedprox', mu: 0 }, quiet);
    expect(Array.from(small.weights)).toEqual(Array.from(avg.weights));
  });

  it('SCAFFOLD corrects client drift that stalls FedAvg', async () => {
    const spec: LogisticSpec = { kind: 'logistic', numClients: 10, features: 5, classes: 4, minSamples: 30, maxSamples: 30, labelAlpha: 0.1, featureShift: 1, separation: 1.5, devSize: 10, testSize: 10, seed: 1 };
    const task = new LogisticTask(spec);
    const common = { task: spec, rounds: 150, clientRate: 1, batchSize: 10, localEpochs: 5, lr: 0.1, momentum: 0, weightDecay: 0, gradClip: 0, workers: 0, evalEvery: 150, seed: 1 } as const;
    const avg = await runFederated({ ...common, algorithm: 'fedavg' }, quiet);
    const sc = await runFederated({ ...common, algorithm: 'scaffold' }, quiet);
    const best = centralized(task, optimum(task, 0, 4000, 1)).loss;
    const gapAvg = centralized(task, avg.weights).loss - best;
    const gapSc = centralized(task, sc.weights).loss - best;
    expect(gapAvg).toBeGreaterThan(2e-3);
    expect(gapSc).toBeLessThan(0.3 * gapAvg);
  });
});

describe('server and client hooks', () => {
  const local: LocalTrainConfig = { epochs: 1, batchSize: 4, lr: 0.05, momentum: 0.9, weightDecay: 0, gradClip: 0 };
  const means = (delta: number[]) => ({ delta: Float32Array.from(delta), extras: {}, participants: 2, totalWeight: 2 });

  it('FedOpt-Adam follows g = -d, m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2 (v0 = tau^2), w -= lr m / (sqrt v + tau)', () => {
    const params = fedOpt.params({ optimizer: 'adam', serverLr: 0.1, beta1: 0.8, beta2: 0.95, tau: 0.01 });
    const server = fedOpt.server(params, { numParams: 3, numClients: 10, local });
    const w = Float32Array.from([1, -2, 0.5]);
    const steps = [[0.3, -0.1, 0], [0.2, 0.4, -0.5]];
    const m = [0, 0, 0];
    const v = [1e-4, 1e-4, 1e-4];
    const expected = Array.from(w);
    for (const d of steps) {
      server.step(w, means(d));
      for (let i = 0; i < 3; i++) {
        const gi = -Math.fround(d[i]);
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.95 * v[i] + 0.05 * gi * gi;
        expected[i] -= (0.1 * m[i]) / (Math.sqrt(v[i]) + 0.01);
      }
      for (let i = 0; i < 3; i++) expect(w[i]).toBeCloseTo(expected[i], 5);
    }
    const saved = server.saveState();
    expect(saved.scalars.steps).toBe(2);
    const again = fedOpt.server(params, { numParams: 3, numClients: 10, local });
    again.loadState(saved);
    const w1 = w.slice();
    const w2 = w.slice();
    server.step(w1, means([0.1, 0.1, 0.1]));
    again.step(w2, means([0.1, 0.1, 0.1]));
    expect(Array.from(w2)).toEqual(Array.from(w1));
  });

  it("FedOpt's sgdm is FedMultimodal's: pseudo-gradient (w_global - w_avg)/local lr, server SGD momentum", () => {
    const params = fedOpt.params({ serverLr: 0.025 });
    const server = fedOpt.server(params, { numParams: 2, numClients: 10, local });
    const w = Float32Array.from([1, 1]);
    server.step(w, means([0.05, -0.1]));
    // g = −Δ/lr = [−1, 2]; buf = g; w −= 0.025·buf
    expect(w[0]).toBeCloseTo(1 + 0.025, 6);
    expect(w[1]).toBeCloseTo(1 - 0.05, 6);
    server.step(w, means([0.05, -0.1]));
    // buf = 0.9·buf + g = [−1.9, 3.8]
    expect(w[0]).toBeCloseTo(1 + 0.025 + 0.025 * 1.9, 6);
    expect(w[1]).toBeCloseTo(1 - 0.05 - 0.025 * 3.8, 6);
  });

  it("SCAFFOLD's server averages deltas uniformly and moves c by (participants/N)·mean(dc)", () => {
    const server = scaffold.server(scaffold.params({}), { numParams: 2, numClients: 8, local });
    const w = Float32Array.from([0, 0]);
    server.step(w, { delta: Float32Array.from([0.5, -0.5]), extras: { dc: Float32Array.from([1, 2]) }, participants: 2, totalWeight: 2 });
    expect(Array.from(w)).toEqual([0.5, -0.5]);
    expect(Array.from(server.broadcast('c'))).toEqual([0.25, 0.5]);
    const next = server.nextClientState!({ c: Float32Array.from([1, 1]) }, {
      clientId: 0, round: 0, numSamples: 3, loss: 0, metrics: {}, steps: 2, delta: new Float32Array(2), extras: { dc: Float32Array.from([0.5, -1]) },
    });
    expect(Array.from(next.c)).toEqual([1.5, 0]);
    expect(server.weight({ numSamples: 50 } as never)).toBe(1);
  });

  it('FedRS scales the logits of classes the client lacks by alpha and drops their bias', () => {
    const hooks = fedRS.client;
    const scale = hooks.classScale!({ labelHistogram: Int32Array.from([3, 0, 1]), numClasses: 3, params: fedRS.params({}) } as never);
    expect(Array.from(scale!)).toEqual([1, Math.fround(0.9), 1]);
    const task = new LogisticTask({ kind: 'logistic', features: 2, classes: 3 });
    const m = task.createModel(new Rng(1));
    const batch: LogisticBatch = { x: Float32Array.from([1, 2]), y: Int32Array.from([0]), size: 1 };
    const z = m.predict(batch);
    const W = m.params;
    const scaled1 = Math.fround(0.9) * (W[2] * 1 + W[3] * 2);
    // Loss with the scaled logit, computed by hand, equals the model's.
    const logits = [z[0], scaled1, z[2]];
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
    expect(m.lossAndGrad(batch, { classScale: scale, rng: new Rng(0) })).toBeCloseTo(lse - logits[0], 6);
  });

  it('clipGradNorm scales to the max norm like clip_grad_norm_', () => {
    const g = Float32Array.from([3, 4]);
    expect(clipGradNorm(g, 1)).toBeCloseTo(5, 6);
    expect(norm(g)).toBeCloseTo(1, 5);
    const h = Float32Array.from([0.3, 0.4]);
    clipGradNorm(h, 1);
    expect(Array.from(h)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('rejects bad algorithm parameters with one-line errors', () => {
    expect(() => fedOpt.params({ optimizer: 'rmsprop' })).toThrow(/fedopt: optimizer must be one of sgdm, adam, yogi, adagrad/);
    expect(() => fedRS.params({ alpha: 2 })).toThrow(/fedrs: alpha must be in \[0, 1\], got 2/);
    expect(() => scaffold.params({ mu: 0.1 })).toThrow(/scaffold: unknown parameter 'mu'/);
  });
});
