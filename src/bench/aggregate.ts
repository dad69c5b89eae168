// The aggregation profile shared by `fedmm bench --only aggregate` and bench/aggregate.ts: for each aggregator,
// size P and thread count, the update bytes aggregated per second and that figure as a fraction of the
// machine's read bandwidth for the same bytes, measured in the same run (the addon's readBytes: every
// 64-bit word of the same update buffers loaded once, as memchr does; on n threads, by n threads splitting
// each buffer as the fold splits P), interleaved with the aggregator's repetitions; each figure is the fastest
// repetition of each (the machine may be shared and noisy). On one thread the fraction is also given by
// process CPU time, which leaves out time spent waiting for a core.
import { performance } from 'node:perf_hooks';
import { createAggregator, getAggregatorKind, type AggregatorSpec } from '../aggregate/index.js';
import { tryLoadAddon } from '../backend/native.js';
import { Rng } from '../random.js';
import { randomArray } from './measure.js';

export interface AggregateFigure {
  readonly aggregator: string;
  /** Values per update. */
  readonly P: number;
  /** Updates per round. */
  readonly K: number;
  readonly threads: number;
  /** Fastest round, ms. */
  readonly ms: number;
  /** K·P·4 bytes / fastest round. */
  readonly gbps: number;
  /** Read bandwidth over the same buffers on the same number of threads, same run (NaN without the addon). */
  readonly readGbps: number;
  /** gbps / readGbps. */
  readonly fraction: number;
  /** One thread: the same fraction from process CPU time (steadier on a busy machine); NaN otherwise. */
  readonly cpuFraction: number;
}

export interface AggregateProfileOptions {
  /** Aggregator specs to measure (default: every built-in with small parameters). */
  readonly specs?: readonly AggregatorSpec[];
  /** Update sizes (default 1M, 10M, 100M). */
  readonly sizes?: readonly number[];
  /** Thread counts for the streaming aggregators (the others run on one thread). */
  readonly threads?: readonly number[];
  /** Bytes of updates held at once (default 1.6 GB): K = min(100, budget / 4P), at least MIN_UPDATES. */
  readonly budgetBytes?: number;
  /** Updates at most for the aggregators that keep every update (Krum's cost grows with K²; default 20). */
  readonly keepAllK?: number;
  /** Repetitions of each figure (default 3; 2 at P ≥ 50M). */
  readonly repeats?: number;
  readonly log?: (line: string) => void;
}

export const DEFAULT_SPECS: readonly AggregatorSpec[] = [
  { name: 'mean' }, { name: 'norm-clip', clipNorm: 1 }, { name: 'median' }, { name: 'trimmed-mean', trim: 0.1 },
  { name: 'krum', byzantine: 1 }, { name: 'multi-krum', byzantine: 1 }, { name: 'bulyan', byzantine: 1 },
];

/** Updates per round at least: the fewest Bulyan accepts with f = 1 (n ≥ 4f + 3; Krum needs 2f + 3). */
const MIN_UPDATES = 7;

/** K buffers of P floats with distinct contents: rotations of one random vector (copied at memcpy speed). */
function makeUpdates(K: number, P: number, rng: Rng): Float32Array[] {
  const base = randomArray(P, rng);
  return Array.from({ length: K }, (_, k) => {
    if (k === 0) return base;
    const u = new Float32Array(P);
    const shift = (k * 7919) % P;
    u.set(base.subarray(shift));
    u.set(base.subarray(0, shift), P - shift);
    return u;
  });
}

export function aggregateProfile(o: AggregateProfileOptions = {}): AggregateFigure[] {
  const specs = o.specs ?? DEFAULT_SPECS;
  const sizes = o.sizes ?? [1_000_000, 10_000_000, 100_000_000];
  const threadCounts = o.threads ?? [1];
  const budget = o.budgetBytes ?? 1.6e9;
  const addon = tryLoadAddon();
  const figures: AggregateFigure[] = [];
  const rng = new Rng(7);
  let sink = 0;
  for (const P of sizes) {
    const K = Math.max(MIN_UPDATES, Math.min(100, Math.floor(budget / (4 * P))));
    const updates = makeUpdates(K, P, rng);
    const weights = updates.map((_, k) => 1 + (k % 17));
    const repeats = o.repeats ?? (P >= 50_000_000 ? 2 : 3);
    for (const spec of specs) {
      const kind = getAggregatorKind(spec.name);
      const k = kind.keepsAllUpdates ? Math.min(K, o.keepAllK ?? 20) : K;
      const ups = updates.slice(0, k);
      for (const threads of kind.keepsAllUpdates ? [1] : threadCounts) {
        const agg = createAggregator(spec, { numParams: P, vectorNames: ['delta'], threads });
        const round = (): void => {
          agg.begin();
          ups.forEach((u, i) => agg.add({ tag: i, weight: weights[i], vectors: { delta: u } }));
          if (!agg.finish().aggregate) throw new Error(`bench: ${spec.name} aggregated nothing`);
        };
        const read = (): void => { for (const u of ups) sink ^= addon!.readBytes(u, threads); };
        const best = [Infinity, Infinity], bestRead = [Infinity, Infinity];
        const keep = (into: number[], t: number[]) => { into[0] = Math.min(into[0], t[0]); into[1] = Math.min(into[1], t[1]); };
        round(); // warm-up (allocates the accumulators)
        for (let r = 0; r < repeats; r++) {
          if (addon) keep(bestRead, timed(read));
          keep(best, timed(round));
        }
        if (addon) keep(bestRead, timed(read));
        const bytes = k * P * 4;
        const gbps = bytes / (best[0] * 1e6);
        const readGbps = addon ? bytes / (bestRead[0] * 1e6) : NaN;
        const cpuFraction = addon && threads === 1 ? bestRead[1] / best[1] : NaN;
        const fig = { aggregator: spec.name, P, K: k, threads, ms: best[0], gbps, readGbps, fraction: gbps / readGbps, cpuFraction };
        o.log?.(`${spec.name} P=${P} K=${k} threads=${threads}: ${gbps.toFixed(2)} GB/s, ${fig.fraction.toFixed(2)} of read ${readGbps.toFixed(2)} GB/s (CPU time: ${cpuFraction.toFixed(2)})`);
        figures.push(fig);
      }
    }
  }
  if (sink === 0.5) throw new Error('unreachable');
  return figures;
}

/** [wall ms, process CPU ms] of one call. */
function timed(fn: () => void): number[] {
  const t = performance.now();
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return [performance.now() - t, (d.user + d.system) / 1000];
}
