// Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { runFederated } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';
import type { MultimodalClassifier } from '../src/models/multimodal.js';

const dataOptions = { scale: 0.1, dHid: 8, maxLen: { acc: 16, gyro: 16 } };
const quiet = { log: () => {} };

describe('FedMultimodal task', () => {
  it('builds the dataset, the model and its metrics from the registry', () => {
    const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions });
    expect(task.headlineMetric).toBe('macro-f1');
    expect(task.numClasses).toBe(6);
    const model = task.createModel(new Rng(1));
    expect(model.params.length).toBe(task.numParams);
    const m = task.evaluate(model, 'dev');
    expect(Object.keys(m).sort()).toEqual(['accuracy', 'loss', 'macro-f1']);
    expect(m.loss).toBeGreaterThan(0);
    expect(() => new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', alpha: 1 })).toThrow("fedmultimodal task: unknown option 'alpha'");
  });

  it('trains a unimodal baseline when given one modality', () => {
    const acc = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, modalities: [0] });
    const both = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions });
    expect(acc.numParams).toBeLessThan(both.numParams);
    expect(Object.keys(acc.evaluate(acc.createModel(new Rng(1)), 'dev'))).toContain('macro-f1');
    expect(() => new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, modalities: [2] })).toThrow(/must be distinct indices/);
  });

  it('passes the partition generator choice to the data layer', () => {
    const numpy = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, partitionRng: 'numpy' });
    expect(numpy.data.config.partitionRng).toBe('numpy');
    expect(() => new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'meld', scale: 0.1, partitionRng: 'numpy' })).toThrow(/replays the original's partition code on the real files \(simulated data: uci-har only\)/);
  });

  it('evaluates in batch ranges exactly as in one pass', () => {
    const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, evalBatchSize: 7 });
    const model = task.createModel(new Rng(2));
    const n = task.evalBatches('test');
    expect(n).toBeGreaterThan(3);
    const cuts = [0, 1, Math.floor(n / 2), n];
    const parts = cuts.slice(1).map((to, i) => task.predictBatches(model, 'test', cuts[i], to));
    expect(task.scoreEval('test', parts)).toEqual(task.evaluate(model, 'test'));
    expect(() => task.scoreEval('test', parts.slice(1))).toThrow(/evaluation parts cover \d+ of \d+ test samples/);
    expect(() => task.predictBatches(model, 'test', 0, n + 1)).toThrow(/batch range \[0, \d+\) outside the \d+ batches of size 7/);
  });

  it('predicts with the bits of the recording forward in eval mode; each batch\'s logits are its own', () => {
    const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, dHid: 16 });
    const model = task.createModel(new Rng(4));
    const module = (model as unknown as { module: MultimodalClassifier }).module;
    const batches = [...task.data.test().batchRange(32, 0, 3)];
    const predicted = batches.map((batch) => model.predict(batch));
    module.eval();
    batches.forEach((batch, i) => {
      const recorded = module.forward(batch);
      expect(recorded.requiresGrad).toBe(true);
      expect(Array.from(predicted[i])).toEqual(Array.from(recorded.data));
    });
  });

  it('evaluates 256 windows a batch by default, with the logits of any other batch size', () => {
    const big = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions });
    const small = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', ...dataOptions, evalBatchSize: 7 });
    const model = big.createModel(new Rng(3));
    const size = big.data.test().size;
    expect(big.evalBatches('test')).toBe(Math.ceil(size / 256));
    const a = big.predictBatches(model, 'test', 0, big.evalBatches('test'));
    const b = small.predictBatches(model, 'test', 0, small.evalBatches('test'));
    expect(a.scores.length).toBe(size * 6);
    for (let i = 0; i < a.scores.length; i++) expect(a.scores[i]).toBeCloseTo(b.scores[i], 5);
    const [ma, mb] = [big.evaluate(model, 'test'), small.evaluate(model, 'test')];
    expect(ma['macro-f1']).toBe(mb['macro-f1']);
    expect(ma.loss).toBeCloseTo(mb.loss, 5);
  });

  it('trains UCI-HAR with the same bits in-process and on 2 workers; FedRS changes skewed clients', async () => {
    const base: RunConfigInput = { dataset: 'uci-har', dataOptions, dirichletAlpha: 0.1, rounds: 2, clientRate: 0.2, seed: 4, evalEvery: 2, algorithm: 'fedavg' };
    const a = await runFederated({ ...base, workers: 0 }, quiet);
    const b = await runFederated({ ...base, workers: 2 }, quiet);
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
    expect(a.history[1].test).toBeDefined();
    // Evaluation on 2 workers (in batch ranges) gives exactly the main thread's metrics.
    expect(b.history.map((h) => [h.dev, h.test])).toEqual(a.history.map((h) => [h.dev, h.test]));
    expect(a.history.every((h) => h.accepted > 0 && Number.isFinite(h.trainLoss))).toBe(true);
    const rs = await runFederated({ ...base, workers: 0, algorithm: 'fedrs' }, quiet);
    expect(Array.from(rs.weights)).not.toEqual(Array.from(a.weights));
  });
});
