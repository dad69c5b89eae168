// The cluster mode against the local runtime, in one run on one machine: the same FedAvg workload (UCI-HAR
// model, attention fusion, d_hid 128; 10 of fedmm's 105 simulated UCI-HAR clients a round; 1 local epoch,
// batch 16; no evaluation) trained by the local runtime (Piscina threads) and by `fedmm run --cluster`'s
// coordinator with the same number of `fedmm worker` processes of one thread each, on a private redis-server.
//
// Each repeat runs, for 1 and 2 lanes, a local run and a cluster run back to back (the order alternates
// between repeats), and measures over the rounds after the warm-up (pools, worker start, task building):
//   train ms/update   mean local training time of one client (worker side)
//   CPU ms/update     CPU time of every process involved — this one (the local runtime and its threads, or the
//                     coordinator), and for the cluster its worker processes and the redis-server — per update
//   lane-ms/update    lanes × wall time / updates: what one update occupies of the machine's lanes
//   wire ms/update    per update, the phases encode + decode + redis (the Redis round trips of both sides)
// and, per local/cluster pair, the cluster's overhead per update as a share of what an update costs the local
// runtime (whose CPU per update is its clients' training, plus decode and fold on the main thread):
//   CPU overhead      CPU ms/update of the cluster / of the local run − 1
//   wall overhead     lane-ms/update of the cluster / of the local run − 1
// The target is an overhead ≤ 5% of local training time. Last, the floor of that overhead on this machine: one
// update's bytes through Redis alone (SET from one connection, GETRANGE from another), wall and CPU. Environment: FEDMM_BENCH_ROUNDS (default 7, of which
// FEDMM_BENCH_WARMUP = 2 are warm-up), FEDMM_BENCH_REPEATS (default 3).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { ClusterExecutor } from '../src/cluster/coordinator.js';
import { BulkChannel } from '../src/cluster/bulk.js';
import { parseClusterUrl } from '../src/cluster/connection.js';
import { VERSION } from '../src/cli/version.js';
import type { ClientExecutor } from '../src/runtime/executor.js';
import { runFederated, type RoundRecord, type RunHooks } from '../src/runtime/scheduler.js';
import { startRedis } from './redis-server.js';

const TASK = { kind: 'fedmultimodal', dataset: 'uci-har', seed: 0 };
const BASE = { task: TASK, algorithm: 'fedavg', clientRate: 0.1, localEpochs: 1, batchSize: 16, lr: 0.05, momentum: 0.9, weightDecay: 1e-5, gradClip: 10, evalEvery: 0, seed: 1 };
const CLI = resolve('dist/src/cli/main.js');

interface Sample {
  readonly kind: 'local' | 'cluster';
  readonly lanes: number;
  readonly updates: number;
  readonly trainMs: number;
  readonly cpuMs: number;
  /** CPU ms/update of this process's main thread, of its other threads, of the worker processes and of the redis-server. */
  readonly cpuParts: readonly number[];
  readonly laneMs: number;
  readonly wireMs: number;
  readonly bits: string;
}

/** CPU time (ms) of a process's live threads, from /proc/<pid>/task/<tid>/schedstat (ns, exact). */
function processCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/** CPU ms of this process's main thread, of its other threads (ended ones included), of the worker processes and of the redis-server. */
function cpuMs(workers: readonly number[], redis: number | null): number[] {
  const own = process.cpuUsage();
  const main = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  return [main, (own.user + own.system) / 1000 - main, workers.reduce((s, pid) => s + processCpuMs(pid), 0), redis === null ? 0 : processCpuMs(redis)];
}

/** Runs `rounds` rounds and measures the ones after `warmup`: wall, CPU of this process and `others`, phases. */
async function measure(kind: Sample['kind'], lanes: number, rounds: number, warmup: number, workers: readonly number[], redis: number | null,
  executor?: RunHooks['executor']): Promise<Sample> {
  let t0 = 0;
  let c0: number[] = [];
  let t1 = 0;
  let c1: number[] = [];
  const onRound = (r: RoundRecord) => {
    if (r.round === warmup - 1) [t0, c0] = [performance.now(), cpuMs(workers, redis)];
    if (r.round === rounds - 1) [t1, c1] = [performance.now(), cpuMs(workers, redis)];
  };
  const r = await runFederated({ ...BASE, rounds, workers: kind === 'local' ? lanes : 0 }, { log: () => {}, onRound, ...(executor ? { executor } : {}) });
  const measured = r.history.slice(warmup);
  const sum = (f: (h: RoundRecord) => number) => measured.reduce((a, h) => a + f(h), 0);
  const updates = sum((h) => h.accepted);
  return {
    kind, lanes, updates,
    trainMs: sum((h) => h.phases.localTrain) / updates,
    cpuMs: c1.reduce((a, x, i) => a + x - c0[i], 0) / updates,
    cpuParts: c1.map((x, i) => (x - c0[i]) / updates),
    laneMs: (lanes * (t1 - t0)) / updates,
    wireMs: sum((h) => h.phases.redis + h.phases.encode + h.phases.decode) / updates,
    bits: Buffer.from(r.weights.buffer, r.weights.byteOffset, r.weights.byteLength).toString('base64').slice(0, 12),
  };
}

async function cluster(url: string, redisPid: number, processes: number, rounds: number, warmup: number): Promise<Sample> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) {
    children.push(spawn(process.execPath, [CLI, 'worker', '--cluster', url, '--workers', '1', '--name', `bench-${i + 1}`], { stdio: 'ignore' }));
  }
  try {
    const coordinator = await ClusterExecutor.open(parseClusterUrl(url), { version: VERSION, log: () => {} });
    const attach: (...a: Parameters<NonNullable<RunHooks['executor']>>) => ClientExecutor = coordinator.attacher();
    return await measure('cluster', processes, rounds, warmup, children.map((c) => c.pid!), redisPid, attach);
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

/**
 * The floor of moving one update through Redis: SET of 4·P + 64 bytes from one connection, then its bounded
 * GETRANGE from another (the bulk channel of the worker and the coordinator), the same key overwritten so that
 * Redis reuses its memory. Median and fastest wall ms, and CPU ms per transfer pair of this process and Redis.
 */
async function updateTransfer(url: string, redisPid: number, numParams: number): Promise<{ median: number; min: number; cpu: number; redisCpu: number }> {
  const target = parseClusterUrl(url);
  const [writer, reader] = [new BulkChannel(target, 'fedmm-bench-writer'), new BulkChannel(target, 'fedmm-bench-reader')];
  const bytes = new Uint8Array(4 * numParams + 64).fill(1);
  const times: number[] = [];
  const tries = 41;
  for (let i = 0; i < 5; i++) await writer.set('fedmm:bench', bytes, 60_000);
  const [c0, r0] = [cpuMs([], redisPid), processCpuMs(redisPid)];
  for (let i = 0; i < tries; i++) {
    const t0 = performance.now();
    await writer.set('fedmm:bench', bytes, 60_000);
    const back = await reader.getRange('fedmm:bench', bytes.length + 1, (n) => new Uint8Array(new ArrayBuffer(n)));
    times.push(performance.now() - t0);
    if (back.length !== bytes.length) throw new Error('bench: short read');
  }
  const [c1, r1] = [cpuMs([], redisPid), processCpuMs(redisPid)];
  writer.close();
  reader.close();
  times.sort((a, b) => a - b);
  return { median: times[(tries - 1) / 2], min: times[0], cpu: (c1[0] + c1[1] - c0[0] - c0[1]) / tries, redisCpu: (r1 - r0) / tries };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(): Promise<void> {
  const rounds = Number(process.env.FEDMM_BENCH_ROUNDS ?? 7);
  const warmup = Number(process.env.FEDMM_BENCH_WARMUP ?? 2);
  const repeats = Number(process.env.FEDMM_BENCH_REPEATS ?? 3);
  if (!(rounds > warmup && warmup >= 1)) throw new Error('bench cluster: FEDMM_BENCH_ROUNDS must exceed FEDMM_BENCH_WARMUP ≥ 1');
  const redis = await startRedis();
  const load0 = loadavg()[0];
  const pairs: { lanes: number; local: Sample; cluster: Sample }[] = [];
  try {
    for (let rep = 0; rep < repeats; rep++) {
      for (const lanes of [1, 2]) {
        const runLocal = () => measure('local', lanes, rounds, warmup, [], null);
        const runCluster = () => cluster(redis.url, redis.pid, lanes, rounds, warmup);
        const [local, onCluster] = rep % 2 === 0
          ? [await runLocal(), await runCluster()]
          : await runCluster().then(async (c) => [await runLocal(), c] as const);
        pairs.push({ lanes, local, cluster: onCluster });
      }
    }
    const floor = await updateTransfer(redis.url, redis.pid, 420_684);
    console.log(`FedAvg, UCI-HAR model, 10 clients/round, ${rounds} rounds (${warmup} warm-up) × ${repeats} repeats; load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
    console.log('| lanes | run | train ms/update | CPU ms/update (main thread + other threads + worker processes + redis) | lane-ms/update | wire ms/update | CPU overhead | wall overhead | model bytes |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const { lanes, local, cluster: c } of pairs) {
      for (const s of [local, c]) {
        const over = s === local ? ['', ''] : [pct(c.cpuMs / local.cpuMs - 1), pct(c.laneMs / local.laneMs - 1)];
        console.log(`| ${lanes} | ${s.kind} | ${s.trainMs.toFixed(1)} | ${s.cpuMs.toFixed(1)} (${s.cpuParts.map((x) => x.toFixed(1)).join(' + ')}) | ${s.laneMs.toFixed(1)} | ${s.wireMs.toFixed(2)} | ${over[0]} | ${over[1]} | ${s.bits}… |`);
      }
    }
    for (const lanes of [1, 2]) {
      const mine = pairs.filter((p) => p.lanes === lanes);
      const cpu = mine.map((p) => p.cluster.cpuMs / p.local.cpuMs - 1);
      const wall = mine.map((p) => p.cluster.laneMs / p.local.laneMs - 1);
      const range = (xs: number[]) => `median ${pct(median(xs))} (${pct(Math.min(...xs))} … ${pct(Math.max(...xs))})`;
      console.log(`${lanes} lane${lanes > 1 ? 's' : ''}: CPU overhead ${range(cpu)}; wall overhead ${range(wall)}`);
    }
    console.log(`One update through Redis alone (bulk channel SET + bounded GETRANGE of ${4 * 420_684 + 64} bytes): median ${floor.median.toFixed(1)} ms, `
      + `fastest ${floor.min.toFixed(1)} ms; CPU ${floor.cpu.toFixed(2)} ms (this process) + ${floor.redisCpu.toFixed(2)} ms (redis-server)`);
  } finally {
    await redis.stop();
  }
}
