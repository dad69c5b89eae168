// Elementwise ops with broadcasting. Each op: forward loop, then its gradient rule.
//
// Binary ops walk a RowPlan (./broadcast.ts): per row, a tight loop with each input's stride 1 or 0.
// Gradients of a broadcast input are summed back by the same walk (its stride 0 folds a row into one
// element), so no index maps or full-size temporaries are built.
import type { FloatArray } from '../../backend/kernels.js';
import { addGrad, allocFloat, makeOutput, resultDtype, Tensor, type DType } from '../tensor.js';
import { broadcastShapes, sameShape } from '../shape.js';
import { rowPlan, type RowPlan } from './broadcast.js';

function asTensor(x: Tensor | number, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const t = Tensor.zeros([], { dtype: like.dtype });
  t.data[0] = x;
  return t;
}

/** out[o..o+n) = f(x[xo + i·xs], y[yo + i·ys]) for one row. */
type RowForward = (x: FloatArray, xo: number, xs: number, y: FloatArray, yo: number, ys: number, out: FloatArray, o: number, n: number) => void;
/** dst[do + i·ds] += ∂f/∂(that input) · g[o + i] for one row (x, y as in the forward). */
type RowBackward = (g: FloatArray, o: number, x: FloatArray, xo: number, xs: number, y: FloatArray, yo: number, ys: number,
  dst: FloatArray, d0: number, ds: number, n: number) => void;

interface BinaryRule {
  name: string;
  forward: RowForward;
  gradA: RowBackward;
  gradB: RowBackward;
  /** The gradient wrt a (or b) is the output gradient itself (add; add for a in sub): no loop when unbroadcast. */
  passA?: boolean;
  passB?: boolean;
}

function binary(rule: BinaryRule, a: Tensor, bIn: Tensor | number): Tensor {
  const b = asTensor(bIn, a);
  const plan = rowPlan(a.shape, b.shape, rule.name);
  const dtype = resultDtype(a, b);
  const x = a.data;
  const y = b.data;
  const out = allocFloat(dtype, plan.rows * plan.n);
  const { n, aStride, bStride, aOffsets, bOffsets } = plan;
  for (let r = 0; r < plan.rows; r++) rule.forward(x, aOffsets[r], aStride, y, bOffsets[r], bStride, out, r * n, n);
  return makeOutput(out, plan.shape, [a, b], (g) => {
    if (a.requiresGrad) addGrad(a, inputGrad(rule.gradA, rule.passA, g, plan, x, y, true, a.size, dtype), true);
    if (b.requiresGrad) addGrad(b, inputGrad(rule.gradB, rule.passB, g, plan, x, y, false, b.size, dtype), true);
  });
}

function inputGrad(rule: RowBackward, pass: boolean | undefined, g: FloatArray, plan: RowPlan, x: FloatArray, y: FloatArray,
  forA: boolean, size: number, dtype: DType): FloatArray {
  const { n, aStride, bStride, aOffsets, bOffsets } = plan;
  const unbroadcast = size === plan.rows * plan.n;
  if (pass && unbroadcast) return g.slice();
  const dst = allocFloat(dtype, size);
  const offsets = forA ? aOffsets : bOffsets;
  const ds = forA ? aStride : bStride;
  for (let r = 0; r < plan.rows; r++) rule(g, r * n, x, aOffsets[r], aStride, y, bOffsets[r], bStride, dst, offsets[r], ds, n);
  return dst;
}

const ADD: BinaryRule = {
  name: 'add',
  forward: (x, xo, xs, y, yo, ys, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = x[xo + i * xs] + y[yo + i * ys]; },
  gradA: (g, o, _x, _xo, _xs, _y, _yo, _ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i]; },
  gradB: (g, o, _x, _xo, _xs, _y, _yo, _ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i]; },
  passA: true,
  passB: true,
};

const SUB: BinaryRule = {
  name: 'sub',
  forward: (x, xo, xs, y, yo, ys, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = x[xo + i * xs] - y[yo + i * ys]; },
  gradA: (g, o, _x, _xo, _xs, _y, _yo, _ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i]; },
  gradB: (g, o, _x, _xo, _xs, _y, _yo, _ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] -= g[o + i]; },
  passA: true,
};

const MUL: BinaryRule = {
  name: 'mul',
  forward: (x, xo, xs, y, yo, ys, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = x[xo + i * xs] * y[yo + i * ys]; },
  gradA: (g, o, _x, _xo, _xs, y, yo, ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i] * y[yo + i * ys]; },
  gradB: (g, o, x, xo, xs, _y, _yo, _ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i] * x[xo + i * xs]; },
};

const DIV: BinaryRule = {
  name: 'div',
  forward: (x, xo, xs, y, yo, ys, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = x[xo + i * xs] / y[yo + i * ys]; },
  gradA: (g, o, _x, _xo, _xs, y, yo, ys, d, d0, ds, n) => { for (let i = 0; i < n; i++) d[d0 + i * ds] += g[o + i] / y[yo + i * ys]; },
  gradB: (g, o, x, xo, xs, y, yo, ys, d, d0, ds, n) => {
    for (let i = 0; i < n; i++) {
      const v = y[yo + i * ys];
      d[d0 + i * ds] -= (g[o + i] * x[xo + i * xs]) / (v * v);
    }
  },
};

export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary(ADD, a, b);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary(SUB, a, b);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary(MUL, a, b);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  return binary(DIV, a, b);
}

/**
 * A unary op from its forward loop and its gradient loop; gradient(g, x, out, gx) writes gx from the
 * output gradient, the input and the output. Each op passes its own two loops (no per-element calls).
 */
function unary(a: Tensor, forward: (x: FloatArray, out: FloatArray) => void,
  gradient: (g: FloatArray, x: FloatArray, out: FloatArray, gx: FloatArray) => void): Tensor {
  const x = a.data;
  const out = allocFloat(a.dtype, x.length);
  forward(x, out);
  return makeOutput(out, a.shape, [a], (g) => {
    const gx = allocFloat(a.dtype, x.length);
    gradient(g, x, out, gx);
    addGrad(a, gx, true);
  });
}

export function neg(a: Tensor): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = -x[i]; },
    (g, _x, _out, gx) => { for (let i = 0; i < g.length; i++) gx[i] = -g[i]; });
}

export function pow(a: Tensor, p: number): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.pow(x[i], p); },
    (g, x, _out, gx) => { if (p !== 0) for (let i = 0; i < g.length; i++) gx[i] = g[i] * p * Math.pow(x[i], p - 1); });
}

export function exp(a: Tensor): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]); },
    (g, _x, out, gx) => { for (let i = 0; i < g.length; i++) gx[i] = g[i] * out[i]; });
}

export function log(a: Tensor): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]); },
    (g, x, _out, gx) => { for (let i = 0; i < g.length; i++) gx[i] = g[i] / x[i]; });
}

export function tanh(a: Tensor): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]); },
    (g, _x, out, gx) => {
      for (let i = 0; i < g.length; i++) {
        const t = out[i];
        gx[i] = g[i] * (1 - t * t);
      }
    });
}

export function sigmoid(a: Tensor): Tensor {
  return unary(a,
    (x, out) => { for (let i = 0; i < x.length; i++) out[i] = sigmoidScalar(x[i]); },
    (g, _x, out, gx) => {
      for (let i = 0; i < g.length; i++) {
        const s = out[i];
        gx[i] = g[i] * s * (1 - s);
      }
    });
}

function sigmoidScalar(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** ReLU; NaN passes through, and the gradient at exactly 0 is 0, as PyTorch's. */
export function relu(a: Tensor): Tensor {
  return unary(a,
    (x, out) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        out[i] = v > 0 || v !== v ? v : 0;
      }
    },
    (g, x, _out, gx) => { for (let i = 0; i < g.length; i++) gx[i] = x[i] > 0 ? g[i] : 0; });
}

/** out = mask ? value : a, with mask broadcast to a's shape (mask values nonzero = true). No gradient to mask. */
export function maskedFill(a: Tensor, mask: Tensor, value: number): Tensor {
  if (!sameShape(broadcastShapes(a.shape, mask.shape, 'maskedFill'), a.shape)) {
    throw new Error(`maskedFill: mask of shape [${mask.shape}] must broadcast to the tensor's shape [${a.shape}]`);
  }
  const plan = rowPlan(a.shape, mask.shape, 'maskedFill');
  const { n, rows, bStride, bOffsets } = plan;
  const x = a.data;
  const m = mask.data;
  const out = allocFloat(a.dtype, x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const mo = bOffsets[r];
    for (let i = 0; i < n; i++) out[o + i] = m[mo + i * bStride] !== 0 ? value : x[o + i];
  }
  return makeOutput(out, a.shape, [a], (g) => {
    const ga = allocFloat(a.dtype, x.length);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      const mo = bOffsets[r];
      for (let i = 0; i < n; i++) ga[o + i] = m[mo + i * bStride] !== 0 ? 0 : g[o + i];
    }
    addGrad(a, ga, true);
  });
}
