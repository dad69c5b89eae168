// Calibration for the 'auto' backend choice: one short workload, timed the same way on each candidate backend,
// so that auto picks a GPU only where it is faster here than the CPU kernels. (Presence is not speed: the
// per-call gpu backend ran a GRU classifier step in ≈ 130 ms on an H200 against ≈ 3 ms native; BENCHMARKS.md.)
import type { Kernels } from './kernels.js';

/** A GRU layer at the UCI-HAR encoder's size (batch 16, 32 steps after the convolutions, 64 in, 128 hidden). */
const GRU = { B: 16, T: 32, I: 64, H: 128 };
/** The head: [B·T, H] · [C, H]ᵀ. */
const CLASSES = 6;

/**
 * One training step's worth of kernel calls on `k`: GRU forward, the head's GEMM and its two gradient GEMMs,
 * GRU backward. Buffers are allocated once and filled with fixed values, so the returned closure only calls
 * kernels; what it computes is thrown away.
 */
export function calibrationStep(k: Kernels): () => void {
  const { B, T, I, H } = GRU;
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(0.7 * i + 0.3));
  const x = fill(B * T * I, 1);
  const wIh = fill(3 * H * I, 0.1);
  const wHh = fill(3 * H * H, 0.1);
  const bIh = fill(3 * H, 0.01);
  const bHh = fill(3 * H, 0.01);
  const wHead = fill(CLASSES * H, 0.1);
  const out = new Float32Array(B * T * H);
  const hN = new Float32Array(B * H);
  const saved = new Float32Array(B * T * 4 * H);
  const logits = new Float32Array(B * T * CLASSES);
  const gLogits = fill(B * T * CLASSES, 0.01);
  const gHead = new Float32Array(CLASSES * H);
  const gOut = new Float32Array(B * T * H);
  const gx = new Float32Array(B * T * I);
  const gWih = new Float32Array(3 * H * I);
  const gWhh = new Float32Array(3 * H * H);
  const gbIh = new Float32Array(3 * H);
  const gbHh = new Float32Array(3 * H);
  return () => {
    k.gruForward(x, null, null, wIh, wHh, bIh, bHh, out, hN, saved, GRU);
    k.gemm(false, true, B * T, CLASSES, H, 1, out, wHead, 0, logits);
    k.gemm(true, false, CLASSES, H, B * T, 1, gLogits, out, 0, gHead);
    k.gemm(false, false, B * T, H, CLASSES, 1, gLogits, wHead, 0, gOut);
    k.gruBackward(x, null, null, wIh, wHh, out, saved, gOut, null, gx, null, gWih, gWhh, gbIh, gbHh, GRU);
  };
}

/** Median milliseconds of `reps` calibration steps on `k`, after one untimed warm-up step. */
export function calibrationMs(k: Kernels, reps = 3): number {
  const step = calibrationStep(k);
  step();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The candidate with the lowest calibrationMs (the first on a tie), and every candidate's figure by name. */
export function fastestBackend(candidates: readonly Kernels[], reps = 3): { kernels: Kernels; ms: Record<string, number> } {
  if (candidates.length === 0) throw new Error('fastestBackend: no candidate backend');
  const ms: Record<string, number> = {};
  let best = candidates[0];
  for (const k of candidates) {
    ms[k.name] = calibrationMs(k, reps);
    if (ms[k.name] < ms[best.name]) best = k;
  }
  return { kernels: best, ms };
}

/** Client updates per second of the batched device path and of the CPU path on the same calibration clients. */
export interface RoundPathRates {
  readonly batched: number;
  readonly cpu: number;
}

/**
 * Whether 'auto' trains a run's clients on the batched device path: only when it delivered more client updates
 * per second than the CPU path on all its workers, on the same clients in the same run (a tie stays on the CPU).
 */
export function batchedPathWins(rates: RoundPathRates): boolean {
  return rates.batched > rates.cpu;
}
