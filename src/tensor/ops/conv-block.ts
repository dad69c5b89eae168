// Conv1d → ReLU → MaxPool1d (→ dropout) as one differentiable op over the convBlock kernels.
import type { ConvBlockDims } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import { addGrad, allocKernelIndices, allocKernelOutput, makeOutput, recordsGraph, resultDtype, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';
import { dataIn } from './dtype.js';
import { checkDropoutProbability, dropoutMask } from './dropout.js';
import type { FusedDropout } from './linear.js';

export interface ConvBlockOptions {
  stride?: number;
  padding?: number;
  poolKernel: number;
  /** default poolKernel */
  poolStride?: number;
  dropout?: FusedDropout | null;
}

/**
 * dropout(maxPool1d(relu(conv1d(x[B,Cin,L], w[Cout,Cin,K]) + b[Cout]))) → [B,Cout,P], with PyTorch's
 * equations for each layer (P = floor((Lout − poolKernel)/poolStride) + 1).
 */
export function convBlock(x: Tensor, w: Tensor, b: Tensor | null, options: ConvBlockOptions): Tensor {
  const stride = options.stride ?? 1;
  const padding = options.padding ?? 0;
  const poolKernel = options.poolKernel;
  const poolStride = options.poolStride ?? poolKernel;
  for (const [name, v, min] of [['stride', stride, 1], ['padding', padding, 0], ['pool kernel', poolKernel, 1], ['pool stride', poolStride, 1]] as const) {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`convBlock: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (x.ndim !== 3) throw new Error(`convBlock: expected input [B, Cin, L], got ${shapeString(x.shape)}`);
  if (w.ndim !== 3) throw new Error(`convBlock: expected weight [Cout, Cin, K], got ${shapeString(w.shape)}`);
  const [B, Cin, L] = x.shape;
  const [Cout, wCin, K] = w.shape;
  if (wCin !== Cin) throw new Error(`convBlock: input has ${Cin} channels, weight ${shapeString(w.shape)} expects ${wCin}`);
  if (b && (b.ndim !== 1 || b.shape[0] !== Cout)) throw new Error(`convBlock: bias of shape ${shapeString(b.shape)}, expected [${Cout}]`);
  const Lout = Math.floor((L + 2 * padding - K) / stride) + 1;
  if (Lout < 1) throw new Error(`convBlock: input length ${L} (padding ${padding}) is shorter than the kernel ${K}`);
  if (Lout < poolKernel) throw new Error(`convBlock: convolution output of length ${Lout} is shorter than the pool kernel ${poolKernel}`);
  const P = Math.floor((Lout - poolKernel) / poolStride) + 1;
  const drop = options.dropout ?? null;
  if (drop) checkDropoutProbability(drop.p);
  const d: ConvBlockDims = { B, Cin, L, Cout, K, stride, padding, Lout, poolKernel, poolStride, P };
  const inputs = b ? [x, w, b] : [x, w];
  const dtype = resultDtype(...inputs);
  const xd = dataIn(x, dtype);
  const wd = dataIn(w, dtype);
  const n = B * Cout * P;
  const mask = drop && drop.training && drop.p > 0 ? dropoutMask(dtype, n, drop.p, drop.rng) : null;
  const pooled = allocKernelOutput(dtype, n);
  // Forward only (no graph recorded): the kernel writes no argmax.
  const argmax = recordsGraph(inputs) ? allocKernelIndices(n) : null;
  const out = mask ? allocKernelOutput(dtype, n) : pooled;
  const k = kernels();
  k.convBlockForward(xd, wd, b ? dataIn(b, dtype) : null, mask, pooled, argmax, out, d);
  return makeOutput(out, [B, Cout, P], inputs, (g) => {
    const gx = x.requiresGrad ? allocKernelOutput(dtype, x.size) : null;
    const gw = w.requiresGrad ? allocKernelOutput(dtype, w.size) : null;
    const gb = b?.requiresGrad ? allocKernelOutput(dtype, Cout) : null;
    k.convBlockBackward(xd, wd, pooled, argmax!, mask, g, gx, gw, gb, d);
    if (gx) addGrad(x, gx, true);
    if (gw) addGrad(w, gw, true);
    if (gb && b) addGrad(b, gb, true);
  });
}
