// Tensor and the reverse-mode autograd engine.
//
// A Tensor is a contiguous row-major Float32Array (or Float64Array, for gradient checks) with a shape.
// Every op builds its output with `makeOutput`, attaching one closure that, given the output's gradient,
// adds each input's share through `addGrad`. `backward()` walks the recorded graph in reverse
// topological order; leaves accumulate into `.grad` like PyTorch's.
import type { FloatArray } from '../backend/kernels.js';
import { kernels } from '../backend/index.js';
import { defaultRng, type Rng } from '../random.js';
import { numel, shapeString, type Shape } from './shape.js';
import { activeArena } from './arena.js';
import * as ew from './ops/elementwise.js';
import * as red from './ops/reduce.js';
import * as lay from './ops/layout.js';
import { matmul, type MatmulOptions } from './ops/matmul.js';
import { logSoftmax, softmax } from './ops/softmax.js';

export type DType = 'float32' | 'float64';
export type { FloatArray };

export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
}

type BackwardFn = (grad: FloatArray) => void;

let gradEnabled = true;

/** Runs `fn` without recording a graph (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** A zeroed buffer for an op's output, saved tensor or gradient: from the step arena when one is active (float32). */
export function allocFloat(dtype: DType, n: number): FloatArray {
  if (dtype === 'float64') return new Float64Array(n);
  const arena = activeArena();
  return arena ? arena.take(n) : new Float32Array(n);
}

/**
 * A buffer for a kernel to write (kernels overwrite every element of their outputs): from the step arena
 * without zeroing when one is active, else a fresh zeroed one.
 */
export function allocKernelOutput(dtype: DType, n: number): FloatArray {
  if (dtype === 'float64') return new Float64Array(n);
  const arena = activeArena();
  return arena ? arena.take(n, false) : new Float32Array(n);
}

/** An int32 buffer for a kernel to write (e.g. pooling argmax): from the step arena when one is active. */
export function allocKernelIndices(n: number): Int32Array {
  const arena = activeArena();
  return arena ? arena.takeIndices(n) : new Int32Array(n);
}

/** A zeroed buffer that outlives any step (parameters, optimizer state, tensors users construct): never an arena's. */
export function heapFloat(dtype: DType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export function dtypeOf(a: FloatArray): DType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}

/** The dtype of an op's result: float64 if any input is float64. */
export function resultDtype(...inputs: Tensor[]): DType {
  return inputs.some((t) => t.data instanceof Float64Array) ? 'float64' : 'float32';
}

const freedGraph: BackwardFn = () => {
  throw new Error('backward: trying to backward through the graph a second time; pass { retainGraph: true } the first time');
};

export class Tensor {
  data: FloatArray;
  readonly shape: number[];
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** @internal inputs of the op that produced this tensor */
  _parents: Tensor[] = [];
  /** @internal gradient rule of that op; null for leaves */
  _backward: BackwardFn | null = null;
  /** @internal gradient being accumulated during one backward pass */
  _gradAcc: FloatArray | null = null;

  constructor(data: FloatArray, shape: Shape, requiresGrad = false) {
    if (data.length !== numel(shape)) {
      throw new Error(`Tensor: ${data.length} values do not fill shape ${shapeString(shape)}`);
    }
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
  }

  /**
   * A tensor over `data`. A Float32Array or Float64Array is used as is (shared, like torch.from_numpy);
   * anything else is copied into float32 (or float64 when asked). `shape` defaults to [data.length].
   */
  static from(data: ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
    const s = shape ?? [data.length];
    let arr: FloatArray;
    if (options.dtype === 'float64') arr = data instanceof Float64Array ? data : Float64Array.from(data);
    else if (options.dtype === 'float32') arr = data instanceof Float32Array ? data : Float32Array.from(data);
    else arr = data instanceof Float32Array || data instanceof Float64Array ? data : Float32Array.from(data);
    return new Tensor(arr, s, options.requiresGrad ?? false);
  }

  static zeros(shape: Shape, options: TensorOptions = {}): Tensor {
    return new Tensor(heapFloat(options.dtype ?? 'float32', numel(shape)), shape, options.requiresGrad ?? false);
  }

  static full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
    const t = Tensor.zeros(shape, options);
    t.data.fill(value);
    return t;
  }

  static ones(shape: Shape, options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  /** Standard normal values from `rng` (default: the manualSeed generator). */
  static randn(shape: Shape, options: TensorOptions & { rng?: Rng } = {}): Tensor {
    const t = Tensor.zeros(shape, options);
    const rng = options.rng ?? defaultRng();
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal();
    return t;
  }

  /** Uniform values in [lo, hi) from `rng`. */
  static uniform(shape: Shape, lo: number, hi: number, options: TensorOptions & { rng?: Rng } = {}): Tensor {
    const t = Tensor.zeros(shape, options);
    const rng = options.rng ?? defaultRng();
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform(lo, hi);
    return t;
  }

  /** Concatenation along an axis (torch.cat). */
  static cat(tensors: Tensor[], axis = 0): Tensor {
    return lay.cat(tensors, axis);
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True for tensors the user created (no recorded op produced them). */
  get isLeaf(): boolean {
    return this._backward === null;
  }

  item(): number {
    if (this.data.length !== 1) throw new Error(`item: tensor of shape ${shapeString(this.shape)} has ${this.data.length} elements, not 1`);
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** A copy that shares no memory and records no graph. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }

  /** The same values, cut from the graph (shares memory, like torch's detach). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new Error('requiresGrad_: only leaf tensors can stop requiring grad; use detach()');
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Reverse-mode differentiation from this tensor. `gradient` is required unless the tensor is a scalar.
   * Leaves that require grad accumulate into `.grad`; the graph is freed unless retainGraph.
   */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    if (!this.requiresGrad) throw new Error('backward: tensor does not require grad and has no grad_fn');
    if (gradient === undefined && this.data.length !== 1) {
      throw new Error(`backward: grad can be implicitly created only for scalar outputs, got shape ${shapeString(this.shape)}`);
    }
    if (gradient && gradient.data.length !== this.data.length) {
      throw new Error(`backward: gradient of shape ${shapeString(gradient.shape)} does not match ${shapeString(this.shape)}`);
    }
    const order = topologicalOrder(this);
    const seed = allocFloat(this.dtype, this.data.length);
    if (gradient) seed.set(gradient.data);
    else seed[0] = 1;
    this._gradAcc = seed;
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const g = node._gradAcc;
      node._gradAcc = null;
      if (!g) continue;
      if (node._backward) {
        node._backward(g);
        if (!options.retainGraph) {
          node._backward = freedGraph;
          node._parents = [];
        }
      } else {
        accumulateLeafGrad(node, g);
      }
    }
  }

  // ---- elementwise ----
  add(other: Tensor | number): Tensor { return ew.add(this, other); }
  sub(other: Tensor | number): Tensor { return ew.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ew.mul(this, other); }
  div(other: Tensor | number): Tensor { return ew.div(this, other); }
  neg(): Tensor { return ew.neg(this); }
  pow(exponent: number): Tensor { return ew.pow(this, exponent); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  /** Where mask (broadcastable, nonzero = true) is set, the result is `value`. */
  maskedFill(mask: Tensor, value: number): Tensor { return ew.maskedFill(this, mask, value); }

  // ---- reductions ----
  sum(axis?: number | number[], keepdim = false): Tensor { return red.sum(this, axis, keepdim); }
  mean(axis?: number | number[], keepdim = false): Tensor { return red.mean(this, axis, keepdim); }
  /** Maximum over one axis (values only), or over everything when axis is omitted. */
  max(axis?: number, keepdim = false): Tensor { return red.max(this, axis, keepdim); }
  argmax(axis: number): Int32Array { return red.argmax(this, axis); }

  // ---- layout ----
  reshape(shape: Shape): Tensor { return lay.reshape(this, shape); }
  view(shape: Shape): Tensor { return lay.reshape(this, shape); }
  permute(dims: number[]): Tensor { return lay.permute(this, dims); }
  transpose(axis0: number, axis1: number): Tensor { return lay.transpose(this, axis0, axis1); }
  /** Elements [start, end) along an axis (torch.narrow with an end). */
  slice(axis: number, start: number, end: number): Tensor { return lay.slice(this, axis, start, end); }
  indexSelect(axis: number, indices: Int32Array | number[]): Tensor { return lay.indexSelect(this, axis, indices); }

  // ---- products and normalisers ----
  matmul(other: Tensor, options?: MatmulOptions): Tensor { return matmul(this, other, options); }
  softmax(axis = -1): Tensor { return softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return logSoftmax(this, axis); }

  toString(): string {
    const head = Array.from(this.data.subarray(0, 8), (v) => v.toPrecision(4)).join(', ');
    return `Tensor(${shapeString(this.shape)}, ${this.dtype}, [${head}${this.data.length > 8 ? ', …' : ''}])`;
  }
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS (graphs of long GRU sequences are deep): push a node, then its parents, emit on exit.
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next < node._parents.length) {
      top[1]++;
      const p = node._parents[next];
      if (p.requiresGrad && !visited.has(p)) {
        visited.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}

function accumulateLeafGrad(leaf: Tensor, g: FloatArray): void {
  if (!leaf.grad) {
    // A leaf's .grad outlives the step: adopt g only when it is not an arena's buffer.
    const adopt = g.length === leaf.data.length && dtypeOf(g) === leaf.dtype && activeArena() === null;
    leaf.grad = new Tensor(adopt ? g : convert(g, leaf, heapFloat), leaf.shape);
    return;
  }
  kernels().accumulate(leaf.grad.data, g);
}

/** g copied into a new buffer of like's dtype and size, from `alloc`. */
function convert(g: FloatArray, like: Tensor, alloc: (dtype: DType, n: number) => FloatArray): FloatArray {
  const out = alloc(like.dtype, like.data.length);
  out.set(g);
  return out;
}

/**
 * Builds an op's output. The graph is recorded only when grad mode is on and some input requires grad;
 * `backward` then receives the output's gradient and must call `addGrad` for each input it differentiates.
 */
/**
 * Whether an op over `inputs` records a backward node (grad mode on and some input requires grad); when it
 * does not, the op may skip everything it would only keep for the backward (forward-only kernels).
 */
export function recordsGraph(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

export function makeOutput(data: FloatArray, shape: Shape, inputs: Tensor[], backward: BackwardFn): Tensor {
  const out = new Tensor(data, shape);
  if (recordsGraph(inputs)) {
    out.requiresGrad = true;
    out._parents = inputs;
    out._backward = backward;
  }
  return out;
}

/**
 * Adds `g` (same number of elements as `t`) into t's pending gradient. `owned` says the caller hands
 * over `g` (freshly allocated, referenced nowhere else), so it may be adopted without a copy.
 */
export function addGrad(t: Tensor, g: FloatArray, owned: boolean): void {
  if (!t.requiresGrad) return;
  const acc = t._gradAcc;
  if (!acc) {
    t._gradAcc = owned && dtypeOf(g) === t.dtype ? g : convert(g, t, allocFloat);
    return;
  }
  kernels().accumulate(acc, g);
}
