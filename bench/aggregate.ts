// The aggregation profile (src/bench/aggregate.ts) as a table: every aggregator at K × P = 100 × 1M and
// 40 × 10M float32 (the keep-all ones at K = 20), in GB/s of update bytes and as a fraction of the read
// bandwidth of the same buffers measured in the same run, on one thread and on every core.
// `fedmm bench --only aggregate` prints the same figures (and 100M) for users.
import { availableParallelism } from 'node:os';
import { tryLoadAddon } from '../src/backend/native.js';
import { aggregateProfile } from '../src/bench/aggregate.js';

export async function run(): Promise<void> {
  const addon = tryLoadAddon();
  console.log(`aggregate: ${addon ? `native ${addon.info().active}` : 'TypeScript reference (no addon: no read baseline)'}`);
  const threads = availableParallelism();
  const figures = aggregateProfile({ sizes: [1_000_000, 10_000_000], threads: threads > 1 ? [1, threads] : [1] });
  console.table(figures.map((f) => ({
    aggregator: f.aggregator, 'K × P': `${f.K} × ${f.P / 1e6}M`, threads: f.threads, 'GB/s': +f.gbps.toFixed(2),
    'read GB/s (same run)': +f.readGbps.toFixed(2), 'of read': +f.fraction.toFixed(2), 'of read (CPU time)': +f.cpuFraction.toFixed(2),
  })));
}
