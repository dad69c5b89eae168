// LayerNorm: PyTorch's nn.LayerNorm over the trailing `normalizedShape` axes (biased variance),
// with elementwise weight (ones) and bias (zeros) when elementwiseAffine.
import { Tensor } from '../tensor/tensor.js';
import { checkSize } from './args.js';
import { layerNorm } from './functional.js';
import { Module, type Parameter } from './module.js';

export interface LayerNormOptions {
  eps?: number;
  /** Learn weight and bias (default true). */
  elementwiseAffine?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0) throw new Error('LayerNorm: normalizedShape must have at least one axis');
    for (const d of this.normalizedShape) checkSize('LayerNorm', 'normalizedShape entry', d);
    this.eps = options.eps ?? 1e-5;
    if (options.elementwiseAffine ?? true) {
      this.weight = this.registerParameter('weight', Tensor.ones(this.normalizedShape));
      this.bias = this.registerParameter('bias', Tensor.zeros(this.normalizedShape));
    } else {
      this.weight = null;
      this.bias = null;
    }
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
