// Federated runtime throughput: client updates per second for the UCI-HAR model (attention fusion,
// d_hid 128, P = 420,684) at 10, 100 and 1,000 clients per round, against the ideal rate measured in the
// same run — the workers doing nothing but local training (lanes / mean local-training time of the same
// clients, trained one by one without the runtime) — and the share of round time spent outside local
// training. At 1,000 clients per round the windows are cut from 128 to 16 steps (same P, ~10× less
// training per client) to keep the run short: that makes the runtime's per-client costs weigh MORE, not less.
import { availableParallelism } from 'node:os';
import { Rng } from '../src/random.js';
import { trainLocal } from '../src/fl/local.js';
import { fedAvg } from '../src/fl/strategies/fedavg.js';
import { createTask } from '../src/fl/task.js';
import type { LocalTrainConfig } from '../src/fl/strategy.js';
import { runFederated, sampleClients } from '../src/runtime/scheduler.js';
import { loadPlugins } from '../src/runtime/plugins.js';
import type { PopulationSpec } from './runtime-population.js';

const POPULATION = 10_000;
const PLUGIN = new URL('./runtime-population.js', import.meta.url).href;
const local: LocalTrainConfig = { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 1e-5, gradClip: 10 };

const spec = (maxLen: number): PopulationSpec => ({
  kind: 'uci-har-population', population: POPULATION, inner: { seed: 0, dirichletAlpha: 5, maxLen: { acc: maxLen, gyro: maxLen } },
});

/** Mean ms of local training per client over the first `n` clients of round 0, one by one on this thread. */
async function localTrainMs(maxLen: number, clientsPerRound: number, n: number): Promise<number> {
  await loadPlugins([PLUGIN]);
  const task = await createTask(spec(maxLen));
  const model = task.createModel(new Rng(1));
  const global = model.params.slice();
  const momentum = new Float32Array(task.numParams);
  const ids = sampleClients(0, POPULATION, clientsPerRound / POPULATION).slice(0, n);
  let total = 0;
  for (const id of ids) {
    const data = task.clientData(id);
    const t0 = performance.now();
    trainLocal(model, data, {
      round: 0, clientId: id, numClasses: task.numClasses, labelHistogram: data.labelHistogram, global, broadcast: {}, state: null, local, params: fedAvg.params({}),
    }, fedAvg.client, new Rng(id), momentum);
    total += performance.now() - t0;
  }
  return total / ids.length;
}

export async function run(): Promise<void> {
  const workers = Number(process.env.FEDMM_BENCH_WORKERS ?? availableParallelism());
  const settings = [
    { clients: 10, maxLen: 128, rounds: 3 },
    { clients: 100, maxLen: 128, rounds: 1 },
    { clients: 1000, maxLen: 16, rounds: 1 },
  ];
  const rows: Record<string, string | number>[] = [];
  for (const s of settings) {
    const trainMs = await localTrainMs(s.maxLen, s.clients, 6);
    const ideal = (1000 * workers) / trainMs;
    const r = await runFederated({
      task: spec(s.maxLen), algorithm: 'fedavg', rounds: s.rounds, clientRate: s.clients / POPULATION, workers, evalEvery: 0, seed: 1,
      plugins: [PLUGIN], batchSize: local.batchSize, lr: local.lr,
    });
    // Steady state: leave out the first round (pool start, task set-up in each worker) when there are more.
    const measured = r.history.length > 1 ? r.history.slice(1) : r.history;
    const sum = (f: (p: (typeof measured)[number]['phases']) => number) => measured.reduce((a, h) => a + f(h.phases), 0);
    const updates = measured.reduce((a, h) => a + h.accepted, 0);
    const wall = sum((p) => p.round);
    const rate = (1000 * updates) / wall;
    const perClient = (f: (p: (typeof measured)[number]['phases']) => number) => +(sum(f) / updates).toFixed(2);
    rows.push({
      'clients/round': s.clients,
      'window steps': s.maxLen,
      rounds: measured.length + (r.history.length > 1 ? ' (+1 warm-up)' : ' (cold)'),
      'updates/s': +rate.toFixed(2),
      'ideal updates/s': +ideal.toFixed(2),
      'vs ideal': +(rate / ideal).toFixed(3),
      'outside local training': `${(100 * measured.reduce((a, h) => a + h.overheadShare * h.phases.round, 0) / wall).toFixed(1)}%`,
      'train ms/client': perClient((p) => p.localTrain),
      'encode+transfer+decode ms/client': perClient((p) => p.encode + p.transfer + p.decode),
      'aggregate ms/client': perClient((p) => p.aggregate),
      'broadcast+server step ms/round': +((sum((p) => p.broadcast + p.serverStep)) / measured.length).toFixed(2),
    });
  }
  console.log(`workers: ${workers}, population ${POPULATION}, P = 420,684 (UCI-HAR, attention, d_hid 128)`);
  console.table(rows);
}
