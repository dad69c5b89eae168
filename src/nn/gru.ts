// The GRU: a differentiable op over the backend's gruForward/gruBackward kernels, and PyTorch's nn.GRU layer.
import type { FloatArray, GruDims } from '../backend/kernels.js';
import { kernels } from '../backend/index.js';
import { addGrad, allocFloat, allocKernelOutput, makeOutput, recordsGraph, resultDtype, Tensor, type DType } from '../tensor/tensor.js';
import { shapeString } from '../tensor/shape.js';
import { defaultRng, type Rng } from '../random.js';
import { checkSize } from './args.js';
import { Module, type Parameter } from './module.js';

/** t's values as `dtype` (the same array when it already is). */
function dataAs(t: Tensor, dtype: DType): FloatArray {
  if (t.dtype === dtype) return t.data;
  const a = allocFloat(dtype, t.size);
  a.set(t.data);
  return a;
}

/**
 * A view of `numel(shape)` elements of `whole` starting at `offset`, sharing its memory; its gradient is
 * routed back into that range of whole's gradient.
 */
function rangeView(whole: Tensor, offset: number, shape: number[]): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return makeOutput(whole.data.subarray(offset, offset + n), shape, [whole], (g) => {
    const gw = allocFloat(whole.dtype, whole.size);
    gw.set(g, offset);
    addGrad(whole, gw, true);
  });
}

function checkShape(op: string, name: string, t: Tensor, expected: number[]): void {
  if (t.ndim !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: ${name} has shape ${shapeString(t.shape)}, expected ${shapeString(expected)}`);
  }
}

/**
 * One GRU layer over a padded batch (PyTorch's equations, gate order r, z, n):
 * x[B,T,I], lengths[B] (valid steps per sample, 0..T; null = all T), h0[1,B,H] or null (zeros),
 * wIh[3H,I], wHh[3H,H], bIh[3H] | null, bHh[3H] | null → [output[B,T,H], hN[1,B,H]].
 * Like a packed sequence: output is zero at steps t ≥ length and hN is each sample's state at its last valid
 * step (h0 for length 0).
 *
 * Both results come from one kernel call and share one gradient rule: the op records a single node over a
 * combined buffer [output | hN], and the two results are views of its two ranges.
 */
export function gru(x: Tensor, lengths: Int32Array | null, h0: Tensor | null,
  wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null): [Tensor, Tensor] {
  if (x.ndim !== 3) throw new Error(`gru: input must be [B, T, I], got ${shapeString(x.shape)}`);
  const [B, T, I] = x.shape;
  if (wIh.ndim !== 2 || wIh.shape[0] % 3 !== 0 || wIh.shape[0] === 0) {
    throw new Error(`gru: weight_ih must be [3H, I] with H ≥ 1, got ${shapeString(wIh.shape)}`);
  }
  const H = wIh.shape[0] / 3;
  if (wIh.shape[1] !== I) {
    throw new Error(`gru: input has ${I} features (shape ${shapeString(x.shape)}) but weight_ih ${shapeString(wIh.shape)} expects ${wIh.shape[1]}`);
  }
  checkShape('gru', 'weight_hh', wHh, [3 * H, H]);
  if (bIh) checkShape('gru', 'bias_ih', bIh, [3 * H]);
  if (bHh) checkShape('gru', 'bias_hh', bHh, [3 * H]);
  if (h0) checkShape('gru', 'h0', h0, [1, B, H]);
  let lens: Int32Array | null = null;
  if (lengths) {
    if (lengths.length !== B) throw new Error(`gru: ${lengths.length} lengths for a batch of ${B}`);
    lengths.forEach((len, b) => {
      if (!(len >= 0 && len <= T)) throw new Error(`gru: length ${len} of sample ${b} outside [0, ${T}]`);
    });
    lens = Int32Array.from(lengths);
  }

  const params = [x, h0, wIh, wHh, bIh, bHh];
  const inputs = params.filter((t): t is Tensor => t !== null);
  const dtype = resultDtype(...inputs);
  const [xd, h0d, wIhd, wHhd, bIhd, bHhd] = params.map((t) => (t ? dataAs(t, dtype) : null));
  const d: GruDims = { B, T, I, H };
  const outSize = B * T * H;
  const combined = allocKernelOutput(dtype, outSize + B * H);
  // Forward only (no graph recorded): the kernel saves no gates.
  const saved = recordsGraph(inputs) ? allocKernelOutput(dtype, B * T * 4 * H) : null;
  const out = combined.subarray(0, outSize);
  kernels().gruForward(xd!, lens, h0d, wIhd!, wHhd!, bIhd, bHhd, out, combined.subarray(outSize), saved, d);

  const node = makeOutput(combined, [combined.length], inputs, (g) => {
    const grads = params.map((t) => (t && t.requiresGrad ? allocKernelOutput(dtype, t.size) : null));
    const [gx, gh0, gWih, gWhh, gbIh, gbHh] = grads;
    kernels().gruBackward(xd!, lens, h0d, wIhd!, wHhd!, out, saved!,
      g.subarray(0, outSize), g.subarray(outSize), gx, gh0, gWih, gWhh, gbIh, gbHh, d);
    params.forEach((t, k) => {
      const gk = grads[k];
      if (t && gk) addGrad(t, gk, true);
    });
  });
  return [rangeView(node, 0, [B, T, H]), rangeView(node, outSize, [1, B, H])];
}

export interface GruOptions {
  /** Learn the biases bias_ih_l0 and bias_hh_l0 (default true). */
  bias?: boolean;
  /** x and output are [B, T, ·] when true, [T, B, ·] when false (PyTorch's default, false). */
  batchFirst?: boolean;
  /** Only 1 is supported (one layer). */
  numLayers?: number;
  /** Only false is supported (one direction). */
  bidirectional?: boolean;
  /** Generator for the initial values (default: the manualSeed generator). */
  rng?: Rng;
}

/**
 * PyTorch's nn.GRU, one layer, one direction: parameters weight_ih_l0 [3H,I], weight_hh_l0 [3H,H],
 * bias_ih_l0 [3H], bias_hh_l0 [3H] (gate order r, z, n), each initialised U(−1/√H, 1/√H).
 */
export class GRU extends Module {
  readonly batchFirst: boolean;
  readonly weight_ih_l0: Parameter;
  readonly weight_hh_l0: Parameter;
  readonly bias_ih_l0: Parameter | null;
  readonly bias_hh_l0: Parameter | null;

  constructor(readonly inputSize: number, readonly hiddenSize: number, options: GruOptions = {}) {
    super();
    checkSize('GRU', 'inputSize', inputSize);
    checkSize('GRU', 'hiddenSize', hiddenSize);
    if ((options.numLayers ?? 1) !== 1) throw new Error(`GRU: numLayers must be 1 (stack GRU modules instead), got ${options.numLayers}`);
    if (options.bidirectional) throw new Error('GRU: bidirectional is not supported (one direction only)');
    this.batchFirst = options.batchFirst ?? false;
    const rng = options.rng ?? defaultRng();
    const bound = 1 / Math.sqrt(hiddenSize);
    const init = (shape: number[]) => Tensor.uniform(shape, -bound, bound, { rng });
    const G = 3 * hiddenSize;
    this.weight_ih_l0 = this.registerParameter('weight_ih_l0', init([G, inputSize]));
    this.weight_hh_l0 = this.registerParameter('weight_hh_l0', init([G, hiddenSize]));
    const bias = options.bias ?? true;
    this.bias_ih_l0 = bias ? this.registerParameter('bias_ih_l0', init([G])) : null;
    this.bias_hh_l0 = bias ? this.registerParameter('bias_hh_l0', init([G])) : null;
  }

  /**
   * x[B,T,I] (batchFirst) or [T,B,I]; lengths[B] valid steps per sample (default all T); h0[1,B,H] (default
   * zeros) → [output [B,T,H] or [T,B,H], hN [1,B,H]].
   */
  forward(x: Tensor, lengths: Int32Array | null = null, h0: Tensor | null = null): [Tensor, Tensor] {
    if (x.ndim !== 3) {
      throw new Error(`GRU: input must be ${this.batchFirst ? '[B, T, I]' : '[T, B, I]'}, got ${shapeString(x.shape)}`);
    }
    if (x.shape[2] !== this.inputSize) {
      throw new Error(`GRU: input has ${x.shape[2]} features (shape ${shapeString(x.shape)}), expected inputSize ${this.inputSize}`);
    }
    const xb = this.batchFirst ? x : x.transpose(0, 1);
    const [output, hN] = gru(xb, lengths, h0, this.weight_ih_l0, this.weight_hh_l0, this.bias_ih_l0, this.bias_hh_l0);
    return [this.batchFirst ? output : output.transpose(0, 1), hN];
  }
}
