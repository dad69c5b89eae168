// Runs on the batched gpu path (gpu.js's cpu fallback here): with the gpu backend active, a FedAvg / FedProx /
// FedOpt / FedRS run of the conv-GRU attention model trains each round's clients as one chunk on the device and folds
// them there, ending where the CPU path's run ends within float32 tolerance (one round: over more, a ReLU whose
// input sits within float32 rounding of 0 can flip on one path and not the other, and the runs drift apart by
// that one sample's step); a run the path does not take says why in one line and runs on the CPU path.
import { afterAll, describe, expect, it } from 'vitest';
import { createGpuKernels, shutdownGpu } from '../kernels/index.js';
import { useBackend } from '../src/backend/index.js';
import { runFederated } from '../src/runtime/index.js';
import type { RunConfigInput } from '../src/runtime/config.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';
import { Rng } from '../src/random.js';
import { resolveRunConfig } from '../src/runtime/config.js';
import { BatchedExecutor, runExecutor } from '../src/runtime/batched-executor.js';
import { batchedPathWins } from '../src/backend/calibrate.js';
import type { RunSpec } from '../src/runtime/executor.js';
import { RunInterrupted } from '../src/runtime/train-step.js';
import { getStrategy } from '../src/fl/strategy.js';
import '../src/fl/strategies/index.js';
import { NO_COMPRESSION } from '../src/runtime/compression.js';

afterAll(() => {
  useBackend('js');
  shutdownGpu();
});

const TASK = { kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.02, seed: 3, dHid: 4, maxLen: { acc: 16, gyro: 16 } };

function config(algorithm: string, extra: Partial<RunConfigInput> = {}): RunConfigInput {
  return { task: TASK, dataset: 'uci-har', algorithm, rounds: 1, clientRate: 0.6, batchSize: 8, evalEvery: 0, workers: 0, outDir: null, seed: 11, ...extra };
}

async function run(backend: 'js' | 'gpu', input: RunConfigInput) {
  useBackend(backend);
  const lines: string[] = [];
  const result = await runFederated(input, { log: (l) => lines.push(l) });
  return { result, lines };
}

describe('runs on the batched gpu path', () => {
  for (const algorithm of ['fedavg', 'fedprox', 'fedopt', 'fedrs']) {
    it(`${algorithm}: ends where the CPU path ends`, async () => {
      const params = algorithm === 'fedprox' ? { algorithmParams: { mu: 0.1 } } : algorithm === 'fedrs' ? { algorithmParams: { alpha: 0.5 } } : {};
      const cpu = await run('js', config(algorithm, params));
      const gpu = await run('gpu', config(algorithm, params));
      expect(gpu.lines).toEqual([]);
      // the device ran the batched kernels (the chunk's fold among them)
      expect(createGpuKernels('auto').compiles().map((c) => c.kernel)).toContain('bFold');
      expect(cpu.result.history[0].accepted).toBeGreaterThan(1);
      const init = new FedMultimodalTask(TASK).createModel(new Rng(11).fork('init')).params;
      let moved = 0;
      let err = 0;
      for (let i = 0; i < init.length; i++) {
        moved = Math.max(moved, Math.abs(cpu.result.weights[i] - init[i]));
        err = Math.max(err, Math.abs(gpu.result.weights[i] - cpu.result.weights[i]));
      }
      expect(moved).toBeGreaterThan(1e-4);
      expect(err).toBeLessThan(1e-4 * moved + 1e-7);
      gpu.result.history.forEach((r, i) => {
        expect(r.accepted).toBe(cpu.result.history[i].accepted);
        expect(r.trainLoss).toBeCloseTo(cpu.result.history[i].trainLoss, 4);
      });
    }, 60_000);
  }

  it("'auto' where a GPU answered: calibrates both paths on the run's clients and takes the faster, saying so in one line", async () => {
    useBackend('js');
    const small = { ...TASK, maxLen: { acc: 8, gyro: 8 } };
    const cfg = resolveRunConfig({ ...config('fedavg'), task: small, batchSize: 32 });
    const task = new FedMultimodalTask(small);
    const spec: RunSpec = {
      task: small, algorithm: 'fedavg', algorithmParams: getStrategy('fedavg').params({}), seed: 11, plugins: [], broadcastNames: [], extraNames: [],
      numParams: task.numParams, compression: NO_COMPRESSION,
      local: { epochs: cfg.localEpochs, batchSize: cfg.batchSize, lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay, gradClip: cfg.gradClip },
    };
    const lines: string[] = [];
    const executor = await runExecutor(task, spec, cfg, 'auto-with-gpu', task.createModel(new Rng(11).fork('init')).params, (l) => lines.push(l));
    try {
      expect(lines).toHaveLength(1);
      const m = /^auto: batched gpu path ([0-9.]+) client updates\/s, CPU path ([0-9.]+) on 1 workers: (training on the batched gpu path|staying on the CPU path)$/.exec(lines[0]);
      expect(m, lines[0]).not.toBeNull();
      // the figures are printed to 0.1: the faster one is never shown as the slower
      const wins = m![3] === 'training on the batched gpu path';
      if (wins) expect(Number(m![1])).toBeGreaterThanOrEqual(Number(m![2]));
      else expect(Number(m![1])).toBeLessThanOrEqual(Number(m![2]));
      expect(executor instanceof BatchedExecutor).toBe(wins);
    } finally {
      await executor.close();
    }
    expect(batchedPathWins({ batched: 10, cpu: 10 })).toBe(false);
    expect(batchedPathWins({ batched: 10.5, cpu: 10 })).toBe(true);
  }, 120_000);

  it('an aborted run stops before the next chunk with RunInterrupted', async () => {
    const task = new FedMultimodalTask(TASK);
    const spec: RunSpec = {
      task: TASK, algorithm: 'fedavg', algorithmParams: getStrategy('fedavg').params({}), seed: 11, plugins: [], broadcastNames: [], extraNames: [],
      numParams: task.numParams, compression: NO_COMPRESSION, local: { epochs: 1, batchSize: 8, lr: 0.05, momentum: 0.9, weightDecay: 0, gradClip: 0 },
    };
    const executor = new BatchedExecutor(task, spec, 0);
    try {
      const stop = new AbortController();
      stop.abort();
      await expect(executor.trainRound(0, Int32Array.from(task.data.activeClients.slice(0, 2)), stop.signal)).rejects.toThrow(RunInterrupted);
    } finally {
      await executor.close();
    }
  });

  it('says in one line why a run stays on the CPU path, and runs it there', async () => {
    const { result, lines } = await run('gpu', config('scaffold', { rounds: 1 }));
    expect(lines).toEqual(['gpu backend: the batched gpu path runs fedavg, fedprox, fedopt and fedrs, not scaffold: runs on the CPU path']);
    expect(result.history[0].accepted).toBeGreaterThan(0);
  }, 120_000);
});
