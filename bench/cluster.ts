// The cluster mode against the local runtime, in one run on one machine: the same FedAvg workload (UCI-HAR
// model, attention fusion, d_hid 128; 10 of fedmm's 105 simulated UCI-HAR clients a round; 1 local epoch,
// batch 16; no evaluation) trained by the local runtime (Piscina threads) and by `fedmm run --cluster`'s
// coordinator with 1 and 2 `fedmm worker` processes of one thread each, on a private redis-server.
//
// Figures per configuration, over the rounds after the first (warm-up: pools, task building):
//   updates/s            client updates per second of round wall time
//   train ms/update      mean local training time of one client (worker side)
//   wire ms/update       per update: msgpack encode and decode, and on the cluster the Redis round trips on
//                        both sides (broadcast read, enqueue, state, update write and bounded read, clean-up)
//   wire / train         the target for the cluster rows: ≤ 5% of local training time
//   idle lanes           1 − Σ training time / (lanes × round wall time)
// Environment: FEDMM_BENCH_ROUNDS (default 3).
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { ClusterExecutor } from '../src/cluster/coordinator.js';
import { connect, parseClusterUrl } from '../src/cluster/connection.js';
import { VERSION } from '../src/cli/version.js';
import { runFederated, type RoundRecord } from '../src/runtime/scheduler.js';
import { startRedis } from './redis-server.js';

const TASK = { kind: 'fedmultimodal', dataset: 'uci-har', seed: 0 };
const BASE = { task: TASK, algorithm: 'fedavg', clientRate: 0.1, localEpochs: 1, batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 1e-5, gradClip: 10, evalEvery: 0, seed: 1 };
const CLI = resolve('dist/src/cli/main.js');

interface Row {
  name: string;
  lanes: number;
  updatesPerSecond: number;
  trainMs: number;
  clusterMs: number;
  idle: number;
  bits: string;
}

function summarize(name: string, lanes: number, history: RoundRecord[], weights: Float32Array): Row {
  const rounds = history.length > 1 ? history.slice(1) : history;
  const sum = (f: (r: RoundRecord) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const updates = sum((r) => r.accepted);
  const wall = sum((r) => r.phases.round);
  const train = sum((r) => r.phases.localTrain);
  return {
    name, lanes,
    updatesPerSecond: (1000 * updates) / wall,
    trainMs: train / updates,
    clusterMs: sum((r) => r.phases.redis + r.phases.encode + r.phases.decode) / updates,
    idle: 1 - train / (lanes * wall),
    bits: Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength).toString('base64').slice(0, 12),
  };
}

async function local(rounds: number, workers: number): Promise<Row> {
  const r = await runFederated({ ...BASE, rounds, workers }, { log: () => {} });
  return summarize(`local runtime, ${workers} thread${workers > 1 ? 's' : ''}`, workers, r.history, r.weights);
}

async function cluster(rounds: number, url: string, processes: number): Promise<Row> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) {
    children.push(spawn(process.execPath, [CLI, 'worker', '--cluster', url, '--workers', '1', '--name', `bench-${i + 1}`], { stdio: 'ignore' }));
  }
  try {
    const cluster = await ClusterExecutor.open(parseClusterUrl(url), { version: VERSION, log: () => {} });
    const r = await runFederated({ ...BASE, rounds, workers: 0 }, { log: () => {}, executor: cluster.attacher() });
    return summarize(`cluster, ${processes} worker process${processes > 1 ? 'es' : ''} × 1 thread`, processes, r.history, r.weights);
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((done) => {
      if (c.exitCode !== null || c.signalCode !== null) return done();
      const force = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(force);
        done();
      });
      c.kill('SIGTERM');
    })));
  }
}

/** Median and fastest ms of one update's Redis round trip: SET of 4·P + 64 bytes, then its bounded read. */
async function redisRoundTrip(url: string, numParams: number): Promise<{ median: number; min: number }> {
  const redis = await connect(parseClusterUrl(url), 'fedmm-bench');
  const bytes = Buffer.alloc(4 * numParams + 64, 1);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    await redis.set('fedmm:bench', bytes);
    const back = await redis.getrangeBuffer('fedmm:bench', 0, bytes.length);
    times.push(performance.now() - t0);
    if (back.length !== bytes.length) throw new Error('bench: short read');
  }
  await redis.del('fedmm:bench');
  redis.disconnect();
  times.sort((a, b) => a - b);
  return { median: times[10], min: times[0] };
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.FEDMM_BENCH_ROUNDS ?? 3);
  const redis = await startRedis();
  const load0 = loadavg()[0];
  try {
    const rows: Row[] = [];
    rows.push(await local(rounds, 2));
    rows.push(await cluster(rounds, redis.url, 2));
    rows.push(await local(rounds, 1));
    rows.push(await cluster(rounds, redis.url, 1));
    const rt = await redisRoundTrip(redis.url, 420_684);
    console.log(`FedAvg, UCI-HAR model, 10 clients/round, ${rounds} rounds (first is warm-up); load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
    console.log('| configuration | updates/s | vs local, same lanes | train ms/update | wire ms/update | wire / train | idle lanes | model bytes |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const ref = rows.find((x) => x.name.startsWith('local') && x.lanes === r.lanes)!;
      const share = `${((100 * r.clusterMs) / r.trainMs).toFixed(2)}%`;
      console.log(`| ${r.name} | ${r.updatesPerSecond.toFixed(2)} | ${(r.updatesPerSecond / ref.updatesPerSecond).toFixed(2)} | ${r.trainMs.toFixed(0)} | ${r.clusterMs.toFixed(1)} | ${share} | ${(100 * r.idle).toFixed(1)}% | ${r.bits}… |`);
    }
    console.log(`Redis round trip of one update (SET + bounded GETRANGE of ${4 * 420_684 + 64} bytes): median ${rt.median.toFixed(1)} ms, fastest ${rt.min.toFixed(1)} ms`);
  } finally {
    await redis.stop();
  }
}
