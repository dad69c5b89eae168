// MaxPool1d: PyTorch's nn.MaxPool1d (no padding) over the last axis; stride defaults to the kernel size.
import type { Tensor } from '../tensor/tensor.js';
import { checkSize } from './args.js';
import { maxPool1d } from './functional.js';
import { Module } from './module.js';

export class MaxPool1d extends Module {
  readonly stride: number;

  constructor(readonly kernelSize: number, stride?: number) {
    super();
    this.stride = stride ?? kernelSize;
    checkSize('MaxPool1d', 'kernelSize', kernelSize);
    checkSize('MaxPool1d', 'stride', this.stride);
  }

  forward(x: Tensor): Tensor {
    return maxPool1d(x, this.kernelSize, this.stride);
  }
}
