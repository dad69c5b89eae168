// Conv1d: PyTorch's nn.Conv1d over [B, Cin, L] → [B, Cout, Lout], weight [Cout, Cin, K], bias [Cout].
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegative, checkSize } from './args.js';
import { conv1d } from './functional.js';
import { uniformFanIn } from './init.js';
import { Module, type Parameter } from './module.js';

export interface Conv1dLayerOptions {
  stride?: number;
  /** Zeros added at both ends of the length axis (default 0). */
  padding?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial values (default: the manualSeed generator). */
  rng?: Rng;
}

export class Conv1d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
    options: Conv1dLayerOptions = {}) {
    super();
    checkSize('Conv1d', 'inChannels', inChannels);
    checkSize('Conv1d', 'outChannels', outChannels);
    checkSize('Conv1d', 'kernelSize', kernelSize);
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    checkSize('Conv1d', 'stride', this.stride);
    checkNonNegative('Conv1d', 'padding', this.padding);
    const fanIn = inChannels * kernelSize;
    this.weight = this.registerParameter('weight', uniformFanIn([outChannels, inChannels, kernelSize], fanIn, options.rng));
    this.bias = (options.bias ?? true)
      ? this.registerParameter('bias', uniformFanIn([outChannels], fanIn, options.rng))
      : null;
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}
