// Norms, clipping and the non-finite scan over one flat update [P].
import { aggregateOps } from './ops.js';

/** Index of the first Inf or NaN in x, or −1. */
export function findNonFinite(x: Float32Array): number {
  return aggregateOps().findNonFinite(x);
}

/** ‖x‖₂, accumulated in float64. */
export function l2Norm(x: Float32Array): number {
  return Math.sqrt(aggregateOps().sumSquares(x));
}

/**
 * Scales x in place so that ‖x‖₂ ≤ maxNorm (x·(maxNorm/‖x‖) when it is larger); returns the norm before
 * clipping. A non-finite x is refused (its norm is meaningless).
 */
export function clipByNorm(x: Float32Array, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipByNorm: maxNorm must be positive, got ${maxNorm}`);
  const ops = aggregateOps();
  const bad = ops.findNonFinite(x);
  if (bad >= 0) throw new Error(`clipByNorm: non-finite value at index ${bad}`);
  const norm = Math.sqrt(ops.sumSquares(x));
  if (norm > maxNorm) ops.scale(x, maxNorm / norm);
  return norm;
}
