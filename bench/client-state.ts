// Memory at scale.
// 1. SCAFFOLD's per-client control variates cᵢ (P float32 each) in the client-state store at UCI-HAR's
//    P = 420,684: K clients' states written through a 256 MiB memory budget; reports resident memory,
//    bytes in memory and on disk per idle client, and write/read rates. The baseline is the same states
//    held in plain memory (what the store saves).
// 2. FedAvg populations of 10,000 and 100,000 clients (logistic task), 1,000 clients per round: the main
//    thread's resident-memory growth, which must not depend on the population.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientStateStore } from '../src/runtime/client-state.js';
import { runFederated } from '../src/runtime/scheduler.js';

const P = 420_684;
const MiB = 2 ** 20;
const rssMiB = () => +(process.memoryUsage().rss / MiB).toFixed(0);

export async function run(): Promise<void> {
  const K = Number(process.env.FEDMM_BENCH_STATE_CLIENTS ?? 1000);
  const dir = mkdtempSync(join(tmpdir(), 'fedmm-state-bench-'));
  try {
    const rss0 = rssMiB();
    const store = new ClientStateStore({ dir: join(dir, 'cs'), budgetBytes: 256 * MiB });
    const c = new Float32Array(P);
    const t0 = performance.now();
    for (let id = 0; id < K; id++) {
      c[0] = id;
      store.stage(id, { c: c.slice() });
      if (id % 100 === 99) store.commit();
    }
    store.commit();
    const t1 = performance.now();
    let check = 0;
    for (let id = 0; id < K; id += 10) check += store.get(id)!.c[0];
    const t2 = performance.now();
    if (check !== Array.from({ length: Math.ceil(K / 10) }, (_, i) => i * 10).reduce((a, b) => a + b, 0)) throw new Error('client-state bench: read back wrong values');
    const st = store.stats();
    const files = readdirSync(join(dir, 'cs')).filter((f) => f.endsWith('.bin'));
    const disk = files.reduce((a, f) => a + statSync(join(dir, 'cs', f)).size, 0);
    console.log(`client-state store: ${K} SCAFFOLD states of P = ${P} (${(4 * P / MiB).toFixed(2)} MiB each), budget 256 MiB`);
    console.table([{
      clients: K,
      'plain memory would need MiB': +((K * 4 * P) / MiB).toFixed(0),
      'in memory MiB': +(st.bytesInMemory / MiB).toFixed(0),
      'RSS growth MiB': rssMiB() - rss0,
      'spilled clients': st.spilled,
      'disk bytes per spilled client': Math.round(disk / files.length),
      'write MB/s': +((K * 4 * P) / 1e6 / ((t1 - t0) / 1000)).toFixed(0),
      'read MB/s': +((Math.ceil(K / 10) * 4 * P) / 1e6 / ((t2 - t1) / 1000)).toFixed(0),
    }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Same clients per round, populations 10× apart: a per-idle-client cost would show as RSS growing with N.
  const rows: Record<string, number>[] = [];
  for (const population of [10_000, 100_000]) {
    const before = rssMiB();
    const t = performance.now();
    const r = await runFederated({
      task: { kind: 'logistic', numClients: population, features: 16, classes: 4, minSamples: 10, maxSamples: 30 },
      algorithm: 'fedavg', rounds: 3, clientRate: 1000 / population, batchSize: 16, workers: Number(process.env.FEDMM_BENCH_WORKERS ?? 2), evalEvery: 0, seed: 1,
    });
    const secs = (performance.now() - t) / 1000;
    rows.push({ population, rounds: r.completedRounds, updates: r.totals.updates, 'updates/s': +(r.totals.updates / secs).toFixed(0), 'main RSS before MiB': before, 'main RSS growth MiB': rssMiB() - before });
  }
  console.log('FedAvg, 1,000 clients per round, logistic task (P = 68)');
  console.table(rows);
}
