// FedMultimodal's Conv1dEncoder: 3 × [Conv1d k=5 pad=2 → ReLU → MaxPool1d(2,2) → Dropout], channels
// in → n → 2n → 4n, over [B, T, D] inputs; time shrinks by 8.
import { defaultRng, type Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { convBlock } from '../tensor/ops/conv-block.js';
import { Conv1d, Dropout, MaxPool1d, Module, ReLU } from '../nn/index.js';

export class Conv1dEncoder extends Module {
  readonly conv1: Conv1d;
  readonly conv2: Conv1d;
  readonly conv3: Conv1d;
  readonly relu: ReLU;
  readonly pooling: MaxPool1d;
  readonly dropout: Dropout;

  constructor(readonly inputDim: number, readonly nFilters = 32, dropout = 0.1, rng?: Rng) {
    super();
    const conv = (cin: number, cout: number) => new Conv1d(cin, cout, 5, { padding: 2, rng });
    this.conv1 = this.registerModule('conv1', conv(inputDim, nFilters));
    this.conv2 = this.registerModule('conv2', conv(nFilters, 2 * nFilters));
    this.conv3 = this.registerModule('conv3', conv(2 * nFilters, 4 * nFilters));
    this.relu = this.registerModule('relu', new ReLU());
    this.pooling = this.registerModule('pooling', new MaxPool1d(2, 2));
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
  }

  /** Output channels (the GRU's input size). */
  get outputDim(): number {
    return 4 * this.nFilters;
  }

  /** x[B, T, D] → [B, floor(T/8), 4n]. */
  forward(x: Tensor): Tensor {
    let y = x.permute([0, 2, 1]);
    const pooling = this.pooling;
    const dropout = { p: this.dropout.p, training: this.dropout.training, rng: this.dropout.rng ?? defaultRng() };
    for (const conv of [this.conv1, this.conv2, this.conv3]) {
      // conv → relu → pooling → dropout, fused into one kernel call per direction
      y = convBlock(y, conv.weight, conv.bias, {
        stride: conv.stride, padding: conv.padding, poolKernel: pooling.kernelSize, poolStride: pooling.stride, dropout,
      });
    }
    return y.permute([0, 2, 1]);
  }
}

/**
 * Valid steps after the encoder's three ×2 poolings: floor(len / 8), but at least 1 for a present
 * modality (a short but present input keeps one step; only a missing one, length 0, stays 0).
 * The original divides without the floor of 1 (MELD then patches 0 to 1 for every sample, missing too).
 */
export function pooledLength(len: number): number {
  return len === 0 ? 0 : Math.max(1, Math.floor(len / 8));
}
