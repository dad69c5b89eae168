// Reductions over axes. One-axis kernels view the tensor as [outer, n, inner].
import { addGrad, allocFloat, makeOutput, Tensor } from '../tensor.js';
import { aroundAxis, normAxis } from '../shape.js';

function reducedShape(shape: readonly number[], axis: number, keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

/** Axes to reduce, normalised, distinct, in descending order (so earlier reductions keep later indices valid). */
function axesOf(t: Tensor, axis: number | number[] | undefined, op: string): number[] | null {
  if (axis === undefined) return null;
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => normAxis(a, t.ndim, op));
  return [...new Set(list)].sort((a, b) => b - a);
}

/** Sum of everything → shape [] ; gradient broadcasts back. */
function sumAll(t: Tensor): Tensor {
  const x = t.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  const out = allocFloat(t.dtype, 1);
  out[0] = s;
  return makeOutput(out, [], [t], (g) => {
    const ga = allocFloat(t.dtype, x.length);
    ga.fill(g[0]);
    addGrad(t, ga, true);
  });
}

/** x[outer, n, inner] → out[outer, inner] = Σ_k x[o, k, i]. */
function sumAxis(t: Tensor, axis: number, keepdim: boolean): Tensor {
  const [outer, n, inner] = aroundAxis(t.shape, axis);
  const x = t.data;
  const out = allocFloat(t.dtype, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const base = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) out[o * inner + i] += x[base + i];
    }
  }
  return makeOutput(out, reducedShape(t.shape, axis, keepdim), [t], (g) => {
    const ga = allocFloat(t.dtype, x.length);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < n; k++) ga.set(g.subarray(o * inner, (o + 1) * inner), (o * n + k) * inner);
    }
    addGrad(t, ga, true);
  });
}

export function sum(t: Tensor, axis?: number | number[], keepdim = false): Tensor {
  const axes = axesOf(t, axis, 'sum');
  if (!axes) return sumAll(t);
  let r = t;
  for (const a of axes) r = sumAxis(r, a, keepdim);
  return r;
}

export function mean(t: Tensor, axis?: number | number[], keepdim = false): Tensor {
  const axes = axesOf(t, axis, 'mean');
  const count = axes ? axes.reduce((c, a) => c * t.shape[a], 1) : t.size;
  return sum(t, axis, keepdim).mul(1 / count);
}

/** Maximum over one axis (gradient to the first maximal element), or over all elements. */
export function max(t: Tensor, axis?: number, keepdim = false): Tensor {
  const x = t.data;
  if (x.length === 0) throw new Error('max: empty tensor');
  if (axis === undefined) {
    const flat = t.reshape([1, x.length, 1]);
    return maxAxis(flat, 1, false).reshape(keepdim ? t.shape.map(() => 1) : []);
  }
  return maxAxis(t, normAxis(axis, t.ndim, 'max'), keepdim);
}

function maxAxis(t: Tensor, axis: number, keepdim: boolean): Tensor {
  const [outer, n, inner] = aroundAxis(t.shape, axis);
  const idx = argmaxAround(t, outer, n, inner);
  const x = t.data;
  const out = allocFloat(t.dtype, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) out[o * inner + i] = x[(o * n + idx[o * inner + i]) * inner + i];
  }
  return makeOutput(out, reducedShape(t.shape, axis, keepdim), [t], (g) => {
    const ga = allocFloat(t.dtype, x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) ga[(o * n + idx[o * inner + i]) * inner + i] = g[o * inner + i];
    }
    addGrad(t, ga, true);
  });
}

function argmaxAround(t: Tensor, outer: number, n: number, inner: number): Int32Array {
  const x = t.data;
  const idx = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = 0;
      let bestValue = x[o * n * inner + i];
      for (let k = 1; k < n && bestValue === bestValue; k++) {
        const v = x[(o * n + k) * inner + i];
        if (v > bestValue || v !== v) {
          best = k;
          bestValue = v;
        }
      }
      idx[o * inner + i] = best;
    }
  }
  return idx;
}

/** Index of the maximum along an axis (first on ties; NaN counts as maximal, like PyTorch). */
export function argmax(t: Tensor, axis: number): Int32Array {
  const a = normAxis(axis, t.ndim, 'argmax');
  const [outer, n, inner] = aroundAxis(t.shape, a);
  return argmaxAround(t, outer, n, inner);
}
