// Measurements shared by `fedmm bench` (src/cli/commands/bench.ts) and the tinybench tables of bench/: each
// takes the timer its caller uses (median of repetitions here, tinybench's mean there) and returns figures.
import { performance } from 'node:perf_hooks';
import type { Kernels } from '../backend/kernels.js';
import type { Rng } from '../random.js';

/** ms per call of `fn`, as one of the timers below or tinybench measures it. */
export type Timer = (fn: () => void) => number | Promise<number>;

/** Median ms of `fn` over timed repetitions (after one warm-up), for at least `budgetMs` or `minReps`. */
export function medianMs(fn: () => void, budgetMs = 800, minReps = 5): number {
  fn();
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minReps || (performance.now() < end && samples.length < 1000)) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

/** [n] uniform in [−1, 1). */
export function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** C[M, N] = A[M, K] · B[K, N] (B stored [N, K] when transB). */
export interface GemmShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transB: boolean;
}

/** ms per call and GFLOP/s (2·M·N·K flops) of `k.gemm` on random operands drawn from `rng` (A, then B). */
export async function gemmThroughput(k: Kernels, s: GemmShape, rng: Rng, time: Timer): Promise<{ ms: number; gflops: number }> {
  const a = randomArray(s.M * s.K, rng);
  const b = randomArray(s.K * s.N, rng);
  const c = new Float32Array(s.M * s.N);
  const ms = await time(() => k.gemm(false, s.transB, s.M, s.N, s.K, 1, a, b, 0, c));
  return { ms, gflops: (2 * s.M * s.N * s.K) / (ms * 1e6) };
}
