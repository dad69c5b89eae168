// Finite-difference gradient checks in float64, shared by every op and layer test.
import { expect } from 'vitest';
import { Tensor } from '../../src/tensor/index.js';
import { Rng } from '../../src/random.js';

/** A float64 leaf tensor with values uniform in [lo, hi), requiring grad. */
export function randTensor(shape: number[], rng: Rng, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape, { dtype: 'float64', requiresGrad: true });
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}

/**
 * Checks d(Σ w ⊙ f(inputs))/d(input) for every input against central differences (float64).
 * The random weights w make every output element matter. `f` must be deterministic.
 */
export function gradcheck(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: { eps?: number; atol?: number; rtol?: number; seed?: number } = {}): void {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const rng = new Rng(options.seed ?? 1234);
  const probe = f(...inputs);
  const w = Tensor.zeros(probe.shape, { dtype: 'float64' });
  for (let i = 0; i < w.size; i++) w.data[i] = rng.uniform(-1, 1);
  const objective = (): number => {
    const y = f(...inputs).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w.data[i];
    return s;
  };
  for (const t of inputs) t.grad = null;
  f(...inputs).mul(w).sum().backward();
  inputs.forEach((t, k) => {
    if (!t.requiresGrad) return;
    expect(t.grad, `input ${k} received no gradient`).not.toBeNull();
    for (let i = 0; i < t.size; i++) {
      const saved = t.data[i];
      t.data[i] = saved + eps;
      const up = objective();
      t.data[i] = saved - eps;
      const down = objective();
      t.data[i] = saved;
      const numeric = (up - down) / (2 * eps);
      const analytic = t.grad!.data[i];
      const tol = atol + rtol * Math.abs(numeric);
      if (!(Math.abs(analytic - numeric) <= tol)) {
        throw new Error(`gradcheck: input ${k} element ${i}: analytic ${analytic} vs numeric ${numeric}`);
      }
    }
  });
}

/** Asserts two arrays agree elementwise within atol + rtol·|expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6, rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`expectClose: element ${i}: ${actual[i]} vs expected ${expected[i]} (tol ${tol})`);
    }
  }
}
