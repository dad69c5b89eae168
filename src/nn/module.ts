// Module: PyTorch's nn.Module — named parameters and children, train/eval, state dicts — plus a flat
// parameter buffer: `flatten()` re-homes every parameter of the tree into ONE contiguous array (each
// parameter's `.data` a view into it) and every gradient into a second one (each `.grad` a view), so a
// client update is a single buffer that is serialized or aggregated without copying.
import { heapFloat, Tensor, type DType, type FloatArray } from '../tensor/tensor.js';
import { numel, sameShape, shapeString, type Shape } from '../tensor/shape.js';

/** A tensor that is a module's learnable weight (always requires grad). */
export class Parameter extends Tensor {
  constructor(data: FloatArray, shape: Shape) {
    super(data, shape, true);
  }
}

/** Where one parameter lives inside the flat buffers. */
export interface FlatEntry {
  name: string;
  offset: number;
  shape: number[];
}

/** The flat buffers of a module tree: params[n], grads[n] and each parameter's slice, in namedParameters order. */
export interface FlatBuffers {
  params: FloatArray;
  grads: FloatArray;
  layout: FlatEntry[];
}

export type StateDict = Record<string, Tensor>;

export class Module {
  /** Train mode (dropout active) or eval mode; set through train()/eval(). */
  training = true;
  private readonly ownParameters = new Map<string, Parameter>();
  private readonly ownModules = new Map<string, Module>();
  private flat: FlatBuffers | null = null;

  /** Registers a parameter under `name` (PyTorch's register_parameter); returns it as a Parameter. */
  registerParameter(name: string, tensor: Tensor): Parameter {
    this.checkName(name);
    const p = tensor instanceof Parameter ? tensor : new Parameter(tensor.data, tensor.shape);
    this.ownParameters.set(name, p);
    return p;
  }

  /** Registers a child module under `name` (PyTorch's add_module); returns it. */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.ownModules.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`Module: invalid name "${name}" (non-empty, no dots)`);
    if (this.ownParameters.has(name) || this.ownModules.has(name)) {
      throw new Error(`Module: "${name}" is already registered`);
    }
  }

  /** Parameters of this module and its descendants: own first, then each child's, in registration order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [name, p] of m.ownParameters) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([modName ? `${modName}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Immediate children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.ownModules];
  }

  children(): Module[] {
    return [...this.ownModules.values()];
  }

  /** This module (named `prefix`, '' at the root) and every descendant, depth first, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (name: string, m: Module): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [childName, child] of m.ownModules) visit(name ? `${name}.${childName}` : childName, child);
    };
    visit(prefix, this);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Sets train mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Zeroes every gradient in place. Unlike PyTorch (which sets grads to None) the gradient buffers are
   * kept, so the flat gradient buffer stays the one `.grad` views into.
   */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad?.data.fill(0);
  }

  /**
   * Re-homes every parameter into one contiguous buffer (values preserved) and every gradient into a second
   * one (existing gradient values preserved, zeros otherwise), laid out in namedParameters order.
   * Idempotent: when every parameter and gradient is still a view at its place, returns the same buffers.
   * Called by the root module; a child flattened earlier is simply re-homed into the root's buffers.
   */
  flatten(): FlatBuffers {
    const named = this.namedParameters();
    if (this.flat && this.flatIsCurrent(named, this.flat)) return this.flat;
    const dtype = commonDtype(named);
    const total = named.reduce((s, [, p]) => s + p.size, 0);
    const params = heapFloat(dtype, total);
    const grads = heapFloat(dtype, total);
    const layout: FlatEntry[] = [];
    let offset = 0;
    for (const [name, p] of named) {
      const n = p.size;
      params.set(p.data, offset);
      if (p.grad) grads.set(p.grad.data, offset);
      p.data = params.subarray(offset, offset + n);
      p.grad = new Tensor(grads.subarray(offset, offset + n), p.shape);
      layout.push({ name, offset, shape: [...p.shape] });
      offset += n;
    }
    this.flat = { params, grads, layout };
    return this.flat;
  }

  private flatIsCurrent(named: [string, Parameter][], flat: FlatBuffers): boolean {
    if (named.length !== flat.layout.length) return false;
    return named.every(([name, p], i) => {
      const e = flat.layout[i];
      return e.name === name && isViewAt(p.data, flat.params, e.offset, p.size) && p.grad !== null &&
        isViewAt(p.grad.data, flat.grads, e.offset, p.size);
    });
  }

  /** The flat parameter buffer (flattening first if needed). */
  flatParameters(): FloatArray {
    return this.flatten().params;
  }

  /** The flat gradient buffer (flattening first if needed). */
  flatGradients(): FloatArray {
    return this.flatten().grads;
  }

  /**
   * Converts every parameter (and gradient) to `dtype` — float64 is for gradient checks. A flattened
   * module is flattened again in the new dtype.
   */
  to(dtype: DType): this {
    const wasFlat = this.flat !== null;
    for (const p of this.parameters()) {
      if (p.dtype === dtype) continue;
      p.data = convert(p.data, dtype);
      if (p.grad) p.grad = new Tensor(convert(p.grad.data, dtype), p.shape);
    }
    this.flat = null;
    if (wasFlat) this.flatten();
    return this;
  }

  /** Name → detached copy of each parameter (copies, so a saved state cannot change under training). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, p] of this.namedParameters()) out[name] = p.clone();
    return out;
  }

  /**
   * Copies values from `dict` into the parameters in place (flat views stay views). Strict, like PyTorch's
   * default: a missing key, an unexpected key or a shape mismatch throws naming the key.
   */
  loadStateDict(dict: Record<string, Tensor>): void {
    const named = this.namedParameters();
    const own = new Map(named);
    for (const key of Object.keys(dict)) {
      if (!own.has(key)) throw new Error(`loadStateDict: unexpected key "${key}"`);
    }
    for (const [name, p] of named) {
      const t = dict[name];
      if (t === undefined) throw new Error(`loadStateDict: missing key "${name}"`);
      if (!sameShape(t.shape, p.shape) || t.size !== numel(p.shape)) {
        throw new Error(`loadStateDict: key "${name}" has shape ${shapeString(t.shape)}, expected ${shapeString(p.shape)}`);
      }
    }
    for (const [name, p] of named) p.data.set(dict[name].data);
  }
}

function isViewAt(view: FloatArray, buffer: FloatArray, offset: number, length: number): boolean {
  return view.length === length && view.buffer === buffer.buffer && view.constructor === buffer.constructor &&
    view.byteOffset === buffer.byteOffset + offset * buffer.BYTES_PER_ELEMENT;
}

function commonDtype(named: [string, Parameter][]): DType {
  const dtype = named.length ? named[0][1].dtype : 'float32';
  for (const [name, p] of named) {
    if (p.dtype !== dtype) throw new Error(`flatten: parameter "${name}" is ${p.dtype}, others ${dtype}; call module.to(dtype) first`);
  }
  return dtype;
}

function convert(a: FloatArray, dtype: DType): FloatArray {
  const out = heapFloat(dtype, a.length);
  out.set(a);
  return out;
}
