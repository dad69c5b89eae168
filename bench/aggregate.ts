// StreamingMean of K = 100 client updates × P = 1,000,000 float32 values (400 MB of updates, so they come
// from memory, not cache): update bytes per second, against a read-only float64 sum of the same bytes in
// C++ (the addon's `sum`, 32 partial sums) measured right before and after each figure in the same run. Also the pending-buffer sizes and the
// TypeScript fallback, and P split over 2 threads (the baseline stays the one-thread sum).
import { nativeAggregateOps, referenceAggregateOps, StreamingMean } from '../src/aggregate/index.js';
import type { AggregateOps } from '../src/aggregate/index.js';
import { tryLoadAddon } from '../src/backend/native.js';
import { randomArray } from '../src/bench/measure.js';
import { Rng } from '../src/random.js';
import { meanMs } from './common.js';

const K = 100, P = 1_000_000;

export async function run(): Promise<void> {
  const rng = new Rng(5);
  const updates = Array.from({ length: K }, () => randomArray(P, rng));
  const weights = updates.map(() => 1 + rng.int(100));
  const bytes = K * P * 4;
  const gbps = (ms: number): number => bytes / (ms * 1e6);
  const out = new Float32Array(P);

  const addon = tryLoadAddon();
  const rows: Record<string, string | number>[] = [];
  // The machine is shared, so each streaming figure is divided by read-only sums measured right before and
  // right after it (their mean), not by one sum measured minutes earlier.
  const sink = { s: 0 };
  const sumGbps = async (): Promise<number> => gbps(await meanMs(() => { for (const u of updates) sink.s += addon!.sum(u); }, 600, 3, 1));
  const streaming = async (ops: AggregateOps, pending: number, label: string, threads = 1): Promise<void> => {
    const sm = new StreamingMean(P, { pending, ops, threads });
    const before = addon ? await sumGbps() : NaN;
    const g = gbps(await meanMs(() => {
      sm.reset();
      updates.forEach((u, k) => sm.add(u, weights[k]));
      sm.result(out);
    }, 600, 3, 1));
    const base = addon ? (before + (await sumGbps())) / 2 : NaN;
    rows.push({
      'K=100 × P=1M float32': label,
      'GB/s': +g.toFixed(2),
      'read-only sum GB/s (C++, same moment)': Number.isNaN(base) ? '—' : +base.toFixed(2),
      'vs read-only sum': Number.isNaN(base) ? '—' : +(g / base).toFixed(2),
    });
  };
  if (addon) {
    console.log(`aggregate: native ${addon.info().active}; read-only sum = the addon's float64 sum (32 partial sums)`);
    for (const pending of [4, 1, 2, 8]) {
      await streaming(nativeAggregateOps(), pending, `StreamingMean native, pending ${pending}${pending === 4 ? ' (default)' : ''}`);
    }
    await streaming(nativeAggregateOps(), 4, 'StreamingMean native, pending 4, 2 threads (vs the 1-thread sum)', 2);
  }
  await streaming(referenceAggregateOps, 4, 'StreamingMean TypeScript fallback');
  console.table(rows);
}
