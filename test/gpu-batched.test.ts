// Client-batched training on the device (kernels/batched-*.ts), on gpu.js's cpu fallback: the shared parity
// cases (bench/gpu-batched-parity.ts, which bench/gpu-check.ts runs on a real GPU) — every client of a chunk ends
// where the CPU path's trainLocal takes it, within float32 tolerance, across hidden sizes, sequence lengths, chunk
// sizes (incl. C = 1) and clients with different sample and batch counts, and the device fold equals the float64
// fold; a client whose update is not finite is left out of the fold; models the path does not run are refused.
import { afterAll, describe, expect, it } from 'vitest';
import { BatchedPathRefused, BatchedTrainer, batchedPlan } from '../kernels/batched-model.js';
import { shutdownGpu } from '../kernels/index.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { Rng } from '../src/random.js';
import { BATCHED_CASES, firstSamples, runBatchedCase, runBatchedParity, tinyTask } from '../bench/gpu-batched-parity.js';

afterAll(() => shutdownGpu());

describe('batched client training on the cpu fallback', () => {
  for (const c of BATCHED_CASES) {
    it(`matches the CPU path per client, and folds as the CPU does: ${c.name}`, () => {
      const [r] = runBatchedParity('cpu', [c]);
      expect(r.ok, r.detail).toBe(true);
    });
  }

  it('fails the parity check when the two paths train differently (dropout masks from another stream)', () => {
    const { res, cpu, global } = runBatchedCase(BATCHED_CASES[0], 'cpu');
    const P = global.length;
    // same case, another round: other shuffles and masks on the device
    const task = tinyTask(BATCHED_CASES[0]);
    const trainer = new BatchedTrainer(task.createModule(), 'cpu');
    const clients = [{ clientId: task.data.activeClients[0], data: firstSamples(task.data.client(task.data.activeClients[0]), 6), weight: 1 }];
    const l = BATCHED_CASES[0].local;
    const other = trainer.train(trainer.plan(clients[0].data), clients, { seed: 5, round: 3, epochs: 1, batchSize: l.batchSize, global, returnWeights: true,
      local: { lr: l.lr, momentum: l.momentum, weightDecay: l.weightDecay, gradClip: l.gradClip, mu: 0 } });
    let same = 0;
    let differ = 0;
    for (let k = 0; k < P; k++) {
      same = Math.max(same, Math.abs(res.weights![k] - cpu[0].params[k]));
      differ = Math.max(differ, Math.abs(other.weights![k] - cpu[0].params[k]));
    }
    expect(differ).toBeGreaterThan(100 * same);
  });

  it('leaves a client whose update is not finite out of the fold', () => {
    const task = tinyTask({ dHid: 4, steps: 16 });
    const trainer = new BatchedTrainer(task.createModule(), 'cpu');
    const ids = task.data.activeClients.slice(0, 2);
    const clients = ids.map((id) => ({ clientId: id, data: firstSamples(task.data.client(id), 4), weight: 2 }));
    const global = task.createModel(new Rng(7)).params.map((v) => v * 1e30);
    const res = trainer.train(trainer.plan(clients[0].data), clients, { seed: 5, round: 2, epochs: 1, batchSize: 4, global,
      local: { lr: 1e30, momentum: 0, weightDecay: 0, gradClip: 0, mu: 0 } });
    for (const c of res.clients) expect(Number.isFinite(c.sqNorm)).toBe(false);
    expect(res.weightSum).toBe(0);
    expect(res.folded.every((v) => v === 0)).toBe(true);
  });

  it('refuses the models it does not run in one line, saying they run on the CPU path', () => {
    const concat = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.02, dHid: 4, fusion: 'concat' });
    expect(() => batchedPlan(concat.createModule(), [16, 16])).toThrow(BatchedPathRefused);
    expect(() => batchedPlan(concat.createModule(), [16, 16])).toThrow(/attention fusion, not 'concat': runs on the CPU path$/);
  });
});
