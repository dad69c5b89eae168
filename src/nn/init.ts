// PyTorch's default initialisation for Linear and Conv1d: kaiming_uniform_(a = √5) on the weight, which is
// U(−1/√fan_in, 1/√fan_in), and the same bound for the bias.
import { defaultRng, type Rng } from '../random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Shape } from '../tensor/shape.js';

/** U(−1/√fanIn, 1/√fanIn) of `shape`, float32, drawn from `rng` (default: the manualSeed generator). */
export function uniformFanIn(shape: Shape, fanIn: number, rng: Rng = defaultRng()): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return Tensor.uniform(shape, -bound, bound, { rng });
}
