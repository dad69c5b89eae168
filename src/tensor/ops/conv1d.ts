// 1-D convolution over [B, C, L] through the backend's conv1d kernels (the dispatcher sends float64 to the reference).
import type { Conv1dDims, FloatArray } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import { addGrad, allocFloat, allocKernelOutput, makeOutput, resultDtype, Tensor, type DType } from '../tensor.js';
import { shapeString } from '../shape.js';

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
}

/** The array in `dtype`, copied only when it is in the other one. */
function inDtype(a: FloatArray, dtype: DType): FloatArray {
  if ((dtype === 'float64') === a instanceof Float64Array) return a;
  const out = allocFloat(dtype, a.length);
  out.set(a);
  return out;
}

/**
 * out[B,Cout,Lout] = conv1d(x[B,Cin,L], w[Cout,Cin,K]) + bias[Cout] (cross-correlation, zero padding),
 * Lout = floor((L + 2·padding − K) / stride) + 1, as torch.nn.functional.conv1d.
 */
export function conv1d(x: Tensor, w: Tensor, bias: Tensor | null = null, options: Conv1dOptions = {}): Tensor {
  const stride = options.stride ?? 1;
  const padding = options.padding ?? 0;
  if (!(Number.isInteger(stride) && stride > 0)) throw new Error(`conv1d: stride must be a positive integer, got ${stride}`);
  if (!(Number.isInteger(padding) && padding >= 0)) throw new Error(`conv1d: padding must be a non-negative integer, got ${padding}`);
  if (x.ndim !== 3) throw new Error(`conv1d: expected input [B, Cin, L], got ${shapeString(x.shape)}`);
  if (w.ndim !== 3) throw new Error(`conv1d: expected weight [Cout, Cin, K], got ${shapeString(w.shape)}`);
  const [B, Cin, L] = x.shape;
  const [Cout, wCin, K] = w.shape;
  if (wCin !== Cin) throw new Error(`conv1d: input has ${Cin} channels, weight ${shapeString(w.shape)} expects ${wCin}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== Cout)) {
    throw new Error(`conv1d: bias of shape ${shapeString(bias.shape)}, expected [${Cout}]`);
  }
  const Lout = Math.floor((L + 2 * padding - K) / stride) + 1;
  if (Lout < 1) throw new Error(`conv1d: input length ${L} (padding ${padding}) is shorter than the kernel ${K}`);
  const d: Conv1dDims = { B, Cin, L, Cout, K, stride, padding, Lout };
  const dtype = resultDtype(x, w, ...(bias ? [bias] : []));
  const xd = inDtype(x.data, dtype);
  const wd = inDtype(w.data, dtype);
  const out = allocKernelOutput(dtype, B * Cout * Lout);
  const k = kernels();
  k.conv1dForward(xd, wd, bias ? inDtype(bias.data, dtype) : null, out, d);
  const inputs = bias ? [x, w, bias] : [x, w];
  return makeOutput(out, [B, Cout, Lout], inputs, (g) => {
    const gx = x.requiresGrad ? allocKernelOutput(dtype, x.size) : null;
    const gw = w.requiresGrad ? allocKernelOutput(dtype, w.size) : null;
    const gb = bias?.requiresGrad ? allocKernelOutput(dtype, Cout) : null;
    k.conv1dBackward(xd, wd, g, gx, gw, gb, d);
    if (gx) addGrad(x, gx, true);
    if (gw) addGrad(w, gw, true);
    if (gb && bias) addGrad(bias, gb, true);
  });
}
