// Gradient clipping by total norm: PyTorch's torch.nn.utils.clip_grad_norm_ (L2).
import { kernels } from '../backend/index.js';
import type { FloatArray, Tensor } from '../tensor/tensor.js';

/**
 * norm = √(Σ over every gradient element g²); when maxNorm / (norm + 1e-6) < 1 every gradient is scaled
 * by that factor in place. Parameters without a gradient are skipped. Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be a non-negative number, got ${maxNorm}`);
  return clipGradBuffers([...params].flatMap((p) => (p.grad ? [p.grad.data] : [])), maxNorm);
}

/** clipGradNorm over raw gradient buffers (e.g. a model's one flat gradient buffer); maxNorm ∞ only measures. */
export function clipGradBuffers(grads: readonly FloatArray[], maxNorm: number): number {
  const k = kernels();
  let sq = 0;
  for (const g of grads) sq += k.squaredNorm(g);
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) k.scale(g, coef);
  return norm;
}
