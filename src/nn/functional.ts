// The functional API (exported as F): stateless forms of the layers, activations and losses.
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapeString } from '../tensor/shape.js';
import { conv1d as conv1dOp, type Conv1dOptions } from '../tensor/ops/conv1d.js';
import { maxPool1d as maxPool1dOp } from '../tensor/ops/maxpool1d.js';
import { dropout as dropoutOp } from '../tensor/ops/dropout.js';
import { linearAct } from '../tensor/ops/linear.js';
import { sequenceMean as sequenceMeanOp } from '../tensor/ops/sequence.js';

export { crossEntropy, nllLoss, binaryCrossEntropyWithLogits } from './losses.js';
export type { Conv1dOptions };

/** y[..., out] = x[..., in] · w[out, in]ᵀ + b[out] (torch.nn.functional.linear). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  if (w.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${shapeString(w.shape)}`);
  const [out, inF] = w.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(`linear: input ${shapeString(x.shape)} does not end in ${inF} features (weight ${shapeString(w.shape)})`);
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== out)) throw new Error(`linear: bias of shape ${shapeString(b.shape)}, expected [${out}]`);
  return linearAct(x, w, b, 'none');
}

/** out[B,Cout,Lout] = conv1d(x[B,Cin,L], w[Cout,Cin,K]) + b[Cout] (torch.nn.functional.conv1d). */
export function conv1d(x: Tensor, w: Tensor, b: Tensor | null = null, options: Conv1dOptions = {}): Tensor {
  return conv1dOp(x, w, b, options);
}

/** Max over windows of the last axis: x[..., L] → [..., floor((L − kernel)/stride) + 1]; stride defaults to kernel. */
export function maxPool1d(x: Tensor, kernel: number, stride: number = kernel): Tensor {
  return maxPool1dOp(x, kernel, stride);
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

/** Inverted dropout (identity unless training); `rng` defaults to the manualSeed generator. */
export function dropout(x: Tensor, p = 0.5, training = true, rng?: Rng): Tensor {
  return dropoutOp(x, p, training, rng);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return x.softmax(axis);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.logSoftmax(axis);
}

/** Mean over each sequence's valid steps: x[B,T,D], lengths[B] → [B,D] (zeros where the length is 0). */
export function sequenceMean(x: Tensor, lengths: Int32Array): Tensor {
  return sequenceMeanOp(x, lengths);
}

/**
 * PyTorch's layer_norm over the trailing axes `normalizedShape`: (x − mean) / √(var + eps) · weight + bias,
 * with the biased variance; weight and bias (shape normalizedShape) are optional.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null,
  bias: Tensor | null = null, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(`layerNorm: input ${shapeString(x.shape)} does not end in normalized shape ${shapeString(normalizedShape)}`);
  }
  const axes = tail.map((_, i) => x.ndim - k + i);
  const centered = x.sub(x.mean(axes, true));
  const variance = centered.mul(centered).mean(axes, true);
  let y = centered.mul(variance.add(eps).pow(-0.5));
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}
