// Linear: y[..., out] = x[..., in] · weightᵀ + bias (PyTorch's nn.Linear, weight [out, in]).
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { linear } from './functional.js';
import { uniformFanIn } from './init.js';
import { Module, type Parameter } from './module.js';
import { checkSize } from './args.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial values (default: the manualSeed generator). */
  rng?: Rng;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    this.weight = this.registerParameter('weight', uniformFanIn([outFeatures, inFeatures], inFeatures, options.rng));
    this.bias = (options.bias ?? true)
      ? this.registerParameter('bias', uniformFanIn([outFeatures], inFeatures, options.rng))
      : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
