// Client-batched training on the device (kernels/batched-*.ts), on gpu.js's cpu fallback: every client of a
// chunk ends where the CPU path's trainLocal takes it (same batches, shuffles and dropout masks from the same
// generator streams), within float32 tolerance, across hidden sizes, sequence lengths (incl. one GRU step and
// a short input padded to 8), chunk sizes (incl. C = 1) and clients with different sample and batch counts; the
// device fold equals the CPU fold of the same updates; bad cases are refused in one line.
import { afterAll, describe, expect, it } from 'vitest';
import { BatchedPathRefused, BatchedTrainer, batchedPlan, type ChunkClient, type ChunkSpec } from '../kernels/batched-model.js';
import { shutdownGpu } from '../kernels/index.js';
import { useBackend } from '../src/backend/index.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { trainLocal } from '../src/fl/local.js';
import type { ClientContext, ClientHooks, LocalTrainConfig } from '../src/fl/strategy.js';
import { fedProx } from '../src/fl/strategies/fedprox.js';
import { Rng } from '../src/random.js';
import type { Batch, ClientDataset } from '../src/data/types.js';

afterAll(() => shutdownGpu());
useBackend('js');

interface Case {
  dHid: number;
  steps: number;
  modalities?: number[];
}

function tinyTask(c: Case): FedMultimodalTask {
  return new FedMultimodalTask({
    kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.02, seed: 3, dHid: c.dHid,
    maxLen: { acc: c.steps, gyro: c.steps }, ...(c.modalities ? { modalities: c.modalities } : {}),
  });
}

/** A client's data cut to its first n samples (different sample and batch counts per client). */
function firstSamples(data: ClientDataset, n: number): ClientDataset {
  const size = Math.min(n, data.size);
  return {
    ...data,
    size,
    batches(batchSize: number, rng?: Rng): Iterable<Batch> {
      const order = rng ? rng.permutation(size) : null;
      const all = [...data.batches(1)].slice(0, size);
      const out: Batch[] = [];
      for (let s = 0; s < size; s += batchSize) {
        const picked = [];
        for (let k = s; k < Math.min(size, s + batchSize); k++) picked.push(all[order ? order[k] : k]);
        out.push(concat(picked));
      }
      return out;
    },
  } as ClientDataset;
}

/** Single-sample batches joined into one (same T per modality). */
function concat(bs: Batch[]): Batch {
  return {
    size: bs.length,
    labels: Int32Array.from(bs.flatMap((b) => [...(b.labels as Int32Array)])),
    modalities: bs[0].modalities.map((m, i) => {
      const data = new Float32Array(bs.length * m.T * m.D);
      bs.forEach((b, k) => data.set(b.modalities[i].data, k * m.T * m.D));
      return { T: m.T, D: m.D, data, lengths: Int32Array.from(bs.map((b) => b.modalities[i].lengths[0])) };
    }),
  };
}

const LOCAL: LocalTrainConfig = { epochs: 1, batchSize: 4, lr: 0.05, momentum: 0.9, weightDecay: 1e-4, gradClip: 1 };

function cpuClient(task: FedMultimodalTask, data: ClientDataset, clientId: number, global: Float32Array, seed: number, round: number,
  local: LocalTrainConfig, hooks: ClientHooks, params: Record<string, unknown>) {
  const model = task.createModel(new Rng(99));
  const ctx: ClientContext = {
    round, clientId, numClasses: task.numClasses, labelHistogram: data.labelHistogram, global, broadcast: {}, state: null, local,
    params: params as ClientContext['params'],
  };
  const r = trainLocal(model, data, ctx, hooks, new Rng(seed).fork(`local/${round}/${clientId}`), new Float32Array(global.length));
  return { params: model.params.slice(), loss: r.loss, steps: r.steps };
}

function runCase(c: Case, sizes: number[], local: LocalTrainConfig = LOCAL, mu = 0) {
  const task = tinyTask(c);
  const trainer = new BatchedTrainer(task.createModule(), 'cpu');
  const global = task.createModel(new Rng(7)).params.slice();
  const ids = task.data.activeClients.slice(0, sizes.length);
  const clients: ChunkClient[] = ids.map((id, i) => ({ clientId: id, data: firstSamples(task.data.client(id), sizes[i]), weight: 1 + i }));
  const plan = trainer.plan(clients[0].data);
  const spec: ChunkSpec = { seed: 5, round: 2, epochs: local.epochs, batchSize: local.batchSize, global, returnWeights: true,
    local: { lr: local.lr, momentum: local.momentum, weightDecay: local.weightDecay, gradClip: local.gradClip, mu } };
  const res = trainer.train(plan, clients, spec);
  const P = global.length;
  const hooks = mu > 0 ? fedProx.client : {};
  const cpu = clients.map((cl) => cpuClient(task, cl.data, cl.clientId, global, 5, 2, local, hooks, { mu }));
  return { task, plan, res, cpu, global, P, clients };
}

function expectClose(got: Float32Array, want: Float32Array, global: Float32Array, what: string): void {
  let maxDelta = 0;
  let maxErr = 0;
  for (let i = 0; i < want.length; i++) {
    maxDelta = Math.max(maxDelta, Math.abs(want[i] - global[i]));
    maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
  }
  expect(maxDelta, `${what}: the CPU path moved the weights`).toBeGreaterThan(1e-4);
  expect(maxErr, `${what}: max |batched − cpu| against a max update of ${maxDelta}`).toBeLessThan(1e-4 * maxDelta + 1e-7);
}

describe('batched client training on the cpu fallback', () => {
  const cases: [string, Case, number[]][] = [
    ['C = 1, hidden 4, 16 steps (2 GRU steps)', { dHid: 4, steps: 16 }, [6]],
    ['C = 3 with 9, 4 and 1 samples (3, 1, 1 batches; partial last batches), hidden 3, 8 steps (1 GRU step)', { dHid: 3, steps: 8 }, [9, 4, 1]],
    ['C = 2, hidden 5, 24 steps (3 GRU steps), one modality', { dHid: 5, steps: 24, modalities: [1] }, [5, 8]],
  ];
  for (const [name, c, sizes] of cases) {
    it(`matches the CPU path per client: ${name}`, () => {
      const { res, cpu, global, P } = runCase(c, sizes);
      cpu.forEach((want, i) => {
        expectClose(res.weights!.subarray(i * P, (i + 1) * P), want.params, global, `client ${i}`);
        expect(res.clients[i].steps).toBe(want.steps);
        expect(res.clients[i].loss).toBeCloseTo(want.loss, 4);
      });
    });
  }

  it('runs FedProx, two local epochs and no momentum as the CPU path does', () => {
    const local = { ...LOCAL, epochs: 2, momentum: 0, gradClip: 0 };
    const { res, cpu, global, P } = runCase({ dHid: 4, steps: 16 }, [5, 3], local, 0.5);
    cpu.forEach((want, i) => expectClose(res.weights!.subarray(i * P, (i + 1) * P), want.params, global, `client ${i}`));
  });

  it('folds the updates on the device as the CPU fold does, and leaves out a client whose update is not finite', () => {
    const { res, cpu, global, P, clients } = runCase({ dHid: 4, steps: 16 }, [6, 2, 4]);
    const want = new Float64Array(P);
    clients.forEach((cl, c) => {
      for (let i = 0; i < P; i++) want[i] += cl.weight * (res.weights![c * P + i] - global[i]);
    });
    let scale = 0;
    for (let i = 0; i < P; i++) scale = Math.max(scale, Math.abs(want[i]));
    for (let i = 0; i < P; i++) expect(Math.abs(res.folded[i] - want[i])).toBeLessThan(1e-5 * scale + 1e-7);
    expect(res.weightSum).toBe(1 + 2 + 3);
    res.clients.forEach((r, c) => {
      let sq = 0;
      for (let i = 0; i < P; i++) sq += (cpu[c].params[i] - global[i]) ** 2;
      expect(r.sqNorm).toBeCloseTo(sq, 3);
    });

    // A learning rate that overflows one client: its update is left out, the others are folded.
    const task = tinyTask({ dHid: 4, steps: 16 });
    const trainer = new BatchedTrainer(task.createModule(), 'cpu');
    const plan = trainer.plan(clients[0].data);
    const huge = trainer.train(plan, clients.slice(0, 1), { seed: 5, round: 2, epochs: 1, batchSize: 4, global: global.map((v) => v * 1e30),
      local: { lr: 1e30, momentum: 0, weightDecay: 0, gradClip: 0, mu: 0 } });
    expect(Number.isFinite(huge.clients[0].sqNorm)).toBe(false);
    expect(huge.weightSum).toBe(0);
    expect(huge.folded.every((v) => v === 0)).toBe(true);
  });

  it('refuses the models it does not run in one line, saying they run on the CPU path', () => {
    const concat = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.02, dHid: 4, fusion: 'concat' });
    expect(() => batchedPlan(concat.createModule(), [16, 16])).toThrow(BatchedPathRefused);
    expect(() => batchedPlan(concat.createModule(), [16, 16])).toThrow(/attention fusion, not 'concat': runs on the CPU path$/);
  });
});
