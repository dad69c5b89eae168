// Layout ops: reshape (a view), permute/transpose, cat, slice, indexSelect (copies).
import { addGrad, allocFloat, makeOutput, resultDtype, Tensor } from '../tensor.js';
import { aroundAxis, normAxis, numel, shapeString, type Shape } from '../shape.js';

/** Same data, new shape (one dimension may be -1). Shares memory with the input, like a PyTorch view. */
export function reshape(t: Tensor, shape: Shape): Tensor {
  const resolved = [...shape];
  const free = resolved.indexOf(-1);
  if (free !== -1) {
    const known = resolved.reduce((p, d, i) => (i === free ? p : p * d), 1);
    resolved[free] = known === 0 ? 0 : t.size / known;
  }
  if (numel(resolved) !== t.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot view shape ${shapeString(t.shape)} as ${shapeString(shape)}`);
  }
  return makeOutput(t.data, resolved, [t], (g) => addGrad(t, g, false));
}

function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** out[i0..] = x[...] with out's axis d taken from x's axis dims[d]. */
export function permute(t: Tensor, dims: number[]): Tensor {
  const rank = t.ndim;
  const perm = dims.map((d) => normAxis(d, rank, 'permute'));
  if (perm.length !== rank || new Set(perm).size !== rank) {
    throw new Error(`permute: [${dims}] is not a permutation of ${rank} axes`);
  }
  const outShape = perm.map((d) => t.shape[d]);
  const inStrides = strides(t.shape);
  const srcStrides = perm.map((d) => inStrides[d]);
  const out = allocFloat(t.dtype, t.size);
  walkPermuted(outShape, srcStrides, (o, s, n, st) => {
    const x = t.data;
    for (let i = 0; i < n; i++) out[o + i] = x[s + i * st];
  });
  return makeOutput(out, outShape, [t], (g) => {
    const ga = allocFloat(t.dtype, t.size);
    walkPermuted(outShape, srcStrides, (o, s, n, st) => {
      for (let i = 0; i < n; i++) ga[s + i * st] = g[o + i];
    });
    addGrad(t, ga, true);
  });
}

/**
 * Walks an output of `shape` row by row (rows of its last axis): row(o, s, n, st) gets the row's first output
 * index o, its first source index s, the row length n and the source stride along it.
 */
function walkPermuted(shape: Shape, srcStrides: number[], row: (o: number, s: number, n: number, st: number) => void): void {
  const rank = shape.length;
  const total = numel(shape);
  if (total === 0) return;
  if (rank === 0) {
    row(0, 0, 1, 0);
    return;
  }
  const n = shape[rank - 1];
  const st = srcStrides[rank - 1];
  const counter = new Array<number>(rank - 1).fill(0);
  let src = 0;
  for (let o = 0; o < total; o += n) {
    row(o, src, n, st);
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]++;
      src += srcStrides[d];
      if (counter[d] < shape[d]) break;
      src -= srcStrides[d] * counter[d];
      counter[d] = 0;
    }
  }
}

export function transpose(t: Tensor, axis0: number, axis1: number): Tensor {
  const dims = t.shape.map((_, i) => i);
  const a = normAxis(axis0, t.ndim, 'transpose');
  const b = normAxis(axis1, t.ndim, 'transpose');
  dims[a] = b;
  dims[b] = a;
  return permute(t, dims);
}

/** Concatenates along `axis`; all other dimensions must agree. */
export function cat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected at least one tensor');
  const first = tensors[0];
  const ax = normAxis(axis, first.ndim, 'cat');
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`cat: shapes ${shapeString(first.shape)} and ${shapeString(t.shape)} differ outside axis ${ax}`);
    }
  }
  const [outer, , inner] = aroundAxis(first.shape, ax);
  const widths = tensors.map((t) => t.shape[ax] * inner);
  const rowWidth = widths.reduce((a, b) => a + b, 0);
  const outShape = [...first.shape];
  outShape[ax] = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const out = allocFloat(resultDtype(...tensors), outer * rowWidth);
  let offset = 0;
  tensors.forEach((t, k) => {
    const w = widths[k];
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * w, (o + 1) * w), o * rowWidth + offset);
    offset += w;
  });
  return makeOutput(out, outShape, tensors, (g) => {
    let off = 0;
    tensors.forEach((t, k) => {
      const w = widths[k];
      if (t.requiresGrad) {
        const gt = allocFloat(t.dtype, t.size);
        for (let o = 0; o < outer; o++) gt.set(g.subarray(o * rowWidth + off, o * rowWidth + off + w), o * w);
        addGrad(t, gt, true);
      }
      off += w;
    });
  });
}

/** Elements [start, end) along `axis`. */
export function slice(t: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, t.ndim, 'slice');
  const n = t.shape[ax];
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= n)) {
    throw new Error(`slice: range [${start}, ${end}) out of bounds for axis ${ax} of size ${n}`);
  }
  const [outer, , inner] = aroundAxis(t.shape, ax);
  const w = (end - start) * inner;
  const outShape = [...t.shape];
  outShape[ax] = end - start;
  const out = allocFloat(t.dtype, outer * w);
  for (let o = 0; o < outer; o++) out.set(t.data.subarray((o * n + start) * inner, (o * n + start) * inner + w), o * w);
  return makeOutput(out, outShape, [t], (g) => {
    const ga = allocFloat(t.dtype, t.size);
    for (let o = 0; o < outer; o++) ga.set(g.subarray(o * w, (o + 1) * w), (o * n + start) * inner);
    addGrad(t, ga, true);
  });
}

/** Gathers the given indices along `axis` (repeats allowed; gradients of repeats add up). */
export function indexSelect(t: Tensor, axis: number, indices: Int32Array | number[]): Tensor {
  const ax = normAxis(axis, t.ndim, 'indexSelect');
  const [outer, n, inner] = aroundAxis(t.shape, ax);
  const idx = Int32Array.from(indices);
  for (const i of idx) {
    if (i < 0 || i >= n) throw new Error(`indexSelect: index ${i} out of bounds for axis ${ax} of size ${n}`);
  }
  const m = idx.length;
  const outShape = [...t.shape];
  outShape[ax] = m;
  const out = allocFloat(t.dtype, outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < m; k++) {
      const src = (o * n + idx[k]) * inner;
      out.set(t.data.subarray(src, src + inner), (o * m + k) * inner);
    }
  }
  return makeOutput(out, outShape, [t], (g) => {
    const ga = allocFloat(t.dtype, t.size);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < m; k++) {
        const dst = (o * n + idx[k]) * inner;
        const src = (o * m + k) * inner;
        for (let i = 0; i < inner; i++) ga[dst + i] += g[src + i];
      }
    }
    addGrad(t, ga, true);
  });
}
