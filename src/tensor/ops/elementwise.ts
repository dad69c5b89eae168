// Elementwise ops with broadcasting. Each op: forward loop, then its gradient rule.
import { addGrad, allocFloat, makeOutput, resultDtype, Tensor } from '../tensor.js';
import { broadcastIndex, broadcastShapes, numel, reduceToShape, sameShape } from '../shape.js';

function asTensor(x: Tensor | number, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const t = Tensor.zeros([], { dtype: like.dtype });
  t.data[0] = x;
  return t;
}

/**
 * out = f(a, b) over the broadcast shape. Each binary op supplies per-element derivative closures
 * (g, x, y, out) ↦ ∂; the broadcast bookkeeping and the reduction of gradients live here once.
 */
function binary(
  name: string,
  a: Tensor,
  bIn: Tensor | number,
  f: (x: number, y: number) => number,
  dA: ((g: number, x: number, y: number, out: number) => number) | null,
  dB: ((g: number, x: number, y: number, out: number) => number) | null,
): Tensor {
  const b = asTensor(bIn, a);
  const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, name);
  const mapA = broadcastIndex(a.shape, shape);
  const mapB = broadcastIndex(b.shape, shape);
  const x = a.data;
  const y = b.data;
  const dtype = resultDtype(a, b);
  const out = allocFloat(dtype, numel(shape));
  const n = out.length;
  if (!mapA && !mapB) for (let i = 0; i < n; i++) out[i] = f(x[i], y[i]);
  else if (!mapA) for (let i = 0; i < n; i++) out[i] = f(x[i], y[mapB![i]]);
  else if (!mapB) for (let i = 0; i < n; i++) out[i] = f(x[mapA[i]], y[i]);
  else for (let i = 0; i < n; i++) out[i] = f(x[mapA[i]], y[mapB[i]]);
  return makeOutput(out, shape, [a, b], (g) => {
    if (a.requiresGrad && dA) {
      const ga = allocFloat(dtype, n);
      for (let i = 0; i < n; i++) ga[i] = dA(g[i], x[mapA ? mapA[i] : i], y[mapB ? mapB[i] : i], out[i]);
      addGrad(a, reduceToShape(ga, shape, a.shape), true);
    }
    if (b.requiresGrad && dB) {
      const gb = allocFloat(dtype, n);
      for (let i = 0; i < n; i++) gb[i] = dB(g[i], x[mapA ? mapA[i] : i], y[mapB ? mapB[i] : i], out[i]);
      addGrad(b, reduceToShape(gb, shape, b.shape), true);
    }
  });
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary('add', a, b, (x, y) => x + y, (g) => g, (g) => g);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary('sub', a, b, (x, y) => x - y, (g) => g, (g) => -g);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary('mul', a, b, (x, y) => x * y, (g, _x, y) => g * y, (g, x) => g * x);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  return binary('div', a, b, (x, y) => x / y, (g, _x, y) => g / y, (g, x, y) => (-g * x) / (y * y));
}

/** out = f(x); the derivative closure sees the input and the output value. */
function unary(a: Tensor, f: (x: number) => number, d: (g: number, x: number, out: number) => number): Tensor {
  const x = a.data;
  const n = x.length;
  const out = allocFloat(a.dtype, n);
  for (let i = 0; i < n; i++) out[i] = f(x[i]);
  return makeOutput(out, a.shape, [a], (g) => {
    const ga = allocFloat(a.dtype, n);
    for (let i = 0; i < n; i++) ga[i] = d(g[i], x[i], out[i]);
    addGrad(a, ga, true);
  });
}

export function neg(a: Tensor): Tensor {
  return unary(a, (x) => -x, (g) => -g);
}

export function pow(a: Tensor, p: number): Tensor {
  return unary(a, (x) => Math.pow(x, p), (g, x) => (p === 0 ? 0 : g * p * Math.pow(x, p - 1)));
}

export function exp(a: Tensor): Tensor {
  return unary(a, Math.exp, (g, _x, out) => g * out);
}

export function log(a: Tensor): Tensor {
  return unary(a, Math.log, (g, x) => g / x);
}

export function tanh(a: Tensor): Tensor {
  return unary(a, Math.tanh, (g, _x, out) => g * (1 - out * out));
}

export function sigmoid(a: Tensor): Tensor {
  return unary(a, sigmoidScalar, (g, _x, out) => g * out * (1 - out));
}

export function sigmoidScalar(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** ReLU; the gradient at exactly 0 is 0, as PyTorch's. */
export function relu(a: Tensor): Tensor {
  return unary(a, (x) => (x > 0 ? x : x === x ? 0 : x), (g, x) => (x > 0 ? g : 0));
}

/** out = mask ? value : a, with mask broadcast to a's shape (mask values nonzero = true). No gradient to mask. */
export function maskedFill(a: Tensor, mask: Tensor, value: number): Tensor {
  if (!sameShape(broadcastShapes(a.shape, mask.shape, 'maskedFill'), a.shape)) {
    throw new Error(`maskedFill: mask of shape [${mask.shape}] must broadcast to the tensor's shape [${a.shape}]`);
  }
  const map = broadcastIndex(mask.shape, a.shape);
  const x = a.data;
  const m = mask.data;
  const n = x.length;
  const out = allocFloat(a.dtype, n);
  for (let i = 0; i < n; i++) out[i] = m[map ? map[i] : i] !== 0 ? value : x[i];
  return makeOutput(out, a.shape, [a], (g) => {
    const ga = allocFloat(a.dtype, n);
    for (let i = 0; i < n; i++) ga[i] = m[map ? map[i] : i] !== 0 ? 0 : g[i];
    addGrad(a, ga, true);
  });
}
