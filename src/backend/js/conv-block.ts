// Reference Conv1d → ReLU → MaxPool1d (→ dropout mask) block, composed from the reference conv1d and
// max-pooling kernels (the same equations, one call per direction).
import type { ConvBlockDims, FloatArray } from '../kernels.js';
import { conv1dBackward, conv1dForward } from './conv1d.js';
import { maxPool1dForward } from './maxpool1d.js';

function like(a: FloatArray, n: number): FloatArray {
  return a instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/**
 * x[B,Cin,L], w[Cout,Cin,K], bias[Cout] | null, mask[B,Cout,P] | null → pooled[B,Cout,P], argmax[B,Cout,P]
 * (null: forward only, the indices go to a scratch buffer), out[B,Cout,P] = pooled ⊙ mask.
 */
export function convBlockForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, mask: FloatArray | null,
  pooled: FloatArray, argmax: Int32Array | null, out: FloatArray, d: ConvBlockDims): void {
  const rows = d.B * d.Cout;
  const z = like(pooled, rows * d.Lout);
  conv1dForward(x, w, bias, z, d);
  for (let i = 0; i < z.length; i++) {
    const v = z[i];
    z[i] = v > 0 || v !== v ? v : 0;
  }
  maxPool1dForward(z, pooled, argmax ?? new Int32Array(rows * d.P), rows, d.Lout, d.poolKernel, d.poolStride);
  const n = rows * d.P;
  if (mask) for (let i = 0; i < n; i++) out[i] = pooled[i] * mask[i];
  else if (out !== pooled) for (let i = 0; i < n; i++) out[i] = pooled[i];
}

/** gOut[B,Cout,P] → gx[B,Cin,L], gw[Cout,Cin,K], gBias[Cout] (each optional). */
export function convBlockBackward(x: FloatArray, w: FloatArray, pooled: FloatArray, argmax: Int32Array, mask: FloatArray | null,
  gOut: FloatArray, gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, d: ConvBlockDims): void {
  const rows = d.B * d.Cout;
  const gz = like(gOut, rows * d.Lout);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < d.P; p++) {
      const i = r * d.P + p;
      if (pooled[i] > 0) gz[r * d.Lout + argmax[i]] += mask ? gOut[i] * mask[i] : gOut[i];
    }
  }
  conv1dBackward(x, w, gz, gx, gw, gBias, d);
}
