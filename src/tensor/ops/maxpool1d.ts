// Max pooling over the last axis through the backend's maxPool1d kernels (the dispatcher sends float64 to the reference).
import { kernels } from '../../backend/index.js';
import { addGrad, allocFloat, makeOutput, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';

/**
 * x[..., L] → out[..., Lout], Lout = floor((L − kernel) / stride) + 1 (no padding, as
 * torch.nn.functional.max_pool1d); stride defaults to kernel. The gradient goes to each window's maximum.
 */
export function maxPool1d(x: Tensor, kernel: number, stride: number = kernel): Tensor {
  if (!(Number.isInteger(kernel) && kernel > 0)) throw new Error(`maxPool1d: kernel must be a positive integer, got ${kernel}`);
  if (!(Number.isInteger(stride) && stride > 0)) throw new Error(`maxPool1d: stride must be a positive integer, got ${stride}`);
  if (x.ndim < 1) throw new Error('maxPool1d: expected at least one axis');
  const L = x.shape[x.ndim - 1];
  if (L < kernel) throw new Error(`maxPool1d: input ${shapeString(x.shape)} is shorter than the kernel ${kernel}`);
  const rows = x.size / L;
  const Lout = Math.floor((L - kernel) / stride) + 1;
  const out = allocFloat(x.dtype, rows * Lout);
  const argmax = new Int32Array(rows * Lout);
  const k = kernels();
  k.maxPool1dForward(x.data, out, argmax, rows, L, kernel, stride);
  return makeOutput(out, [...x.shape.slice(0, -1), Lout], [x], (g) => {
    const gx = allocFloat(x.dtype, x.size);
    k.maxPool1dBackward(g, argmax, gx, rows, L, Lout);
    addGrad(x, gx, true);
  });
}
