// Dropout: PyTorch's nn.Dropout — inverted dropout in train mode, identity in eval mode.
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { dropout } from './functional.js';
import { Module } from './module.js';

export class Dropout extends Module {
  /**
   * @param p probability of zeroing an element.
   * @param rng generator for the masks (default: the manualSeed generator at each call).
   */
  constructor(readonly p = 0.5, readonly rng?: Rng) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.rng);
  }
}
