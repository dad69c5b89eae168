// Base of the optimizers: parameter bookkeeping, one flat state buffer per kind, the contiguity test that
// lets a step run as ONE kernel call over a flattened module's buffers, and state dicts.
import type { FloatArray } from '../backend/kernels.js';
import { heapFloat, type DType, type Tensor } from '../tensor/tensor.js';

/** Everything a checkpoint needs to resume an optimizer. */
export interface OptimizerState {
  type: string;
  options: Record<string, number | boolean | number[]>;
  /** Per parameter: how many updates it has received (Adam's bias-correction step; SGD: has a momentum buffer). */
  steps: number[];
  /** Flat state buffers (same layout as the parameters, concatenated), copied. */
  buffers: Record<string, FloatArray>;
}

/** A flat range covering every parameter and its gradient, when both are contiguous views of one buffer each. */
export interface FlatSpan {
  param: FloatArray;
  grad: FloatArray;
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Offset of each parameter in the flat state buffers. */
  protected readonly offsets: number[];
  protected readonly total: number;
  protected readonly dtype: DType;
  protected readonly steps: number[];

  constructor(readonly type: string, params: Iterable<Tensor>) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${type}: got an empty parameter list`);
    this.dtype = this.params[0].dtype;
    this.offsets = [];
    let offset = 0;
    this.params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`${type}: parameter ${i} does not require grad`);
      if (p.dtype !== this.dtype) throw new Error(`${type}: parameter ${i} is ${p.dtype}, parameter 0 is ${this.dtype}`);
      this.offsets.push(offset);
      offset += p.size;
    });
    this.total = offset;
    this.steps = new Array<number>(this.params.length).fill(0);
  }

  abstract step(): void;
  protected abstract get buffers(): Record<string, FloatArray>;
  protected abstract get options(): Record<string, number | boolean | number[]>;
  protected abstract setOptions(options: Record<string, number | boolean | number[]>): void;

  /** A zeroed state buffer laid out like the parameters. */
  protected stateBuffer(): FloatArray {
    return heapFloat(this.dtype, this.total);
  }

  /** Zeroes every gradient in place (buffers are kept, so flat gradient views stay views). */
  zeroGrad(): void {
    for (const p of this.params) p.grad?.data.fill(0);
  }

  /**
   * The whole parameter and gradient range as two arrays when every parameter is the next slice of one
   * buffer and every gradient the next slice of another (a flattened module), with equal step counts.
   */
  protected flatSpan(): FlatSpan | null {
    const first = this.params[0];
    if (!first.grad) return null;
    const pBase = first.data;
    const gBase = first.grad.data;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (!p.grad || this.steps[i] !== this.steps[0]) return null;
      const expected = this.offsets[i] * pBase.BYTES_PER_ELEMENT;
      if (p.data.buffer !== pBase.buffer || p.data.byteOffset !== pBase.byteOffset + expected) return null;
      if (p.grad.data.buffer !== gBase.buffer || p.grad.data.byteOffset !== gBase.byteOffset + expected) return null;
      if (p.grad.data.constructor !== pBase.constructor) return null;
    }
    const Ctor = pBase.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
    return {
      param: new Ctor(pBase.buffer as ArrayBuffer, pBase.byteOffset, this.total),
      grad: new Ctor(gBase.buffer as ArrayBuffer, gBase.byteOffset, this.total),
    };
  }

  /** Runs `update` once over the flat span if there is one, else once per parameter that has a gradient. */
  protected forEachSpan(update: (param: FloatArray, grad: FloatArray, offset: number, length: number, step: number) => void): void {
    const span = this.flatSpan();
    if (span) {
      const step = this.steps[0];
      update(span.param, span.grad, 0, this.total, step);
      this.steps.fill(step + 1);
      return;
    }
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      update(p.data, p.grad.data, this.offsets[i], p.size, this.steps[i]);
      this.steps[i]++;
    });
  }

  stateDict(): OptimizerState {
    const buffers: Record<string, FloatArray> = {};
    for (const [k, v] of Object.entries(this.buffers)) buffers[k] = v.slice();
    return { type: this.type, options: structuredClone(this.options), steps: [...this.steps], buffers };
  }

  /** Restores options, step counts and state buffers; throws naming what does not match. */
  loadStateDict(state: OptimizerState): void {
    if (state.type !== this.type) throw new Error(`loadStateDict: state of a ${state.type} optimizer given to ${this.type}`);
    if (state.steps.length !== this.params.length) {
      throw new Error(`loadStateDict: state has ${state.steps.length} parameters, this ${this.type} has ${this.params.length}`);
    }
    const own = this.buffers;
    for (const key of Object.keys(own)) {
      const b = state.buffers[key];
      if (!b) throw new Error(`loadStateDict: missing buffer "${key}"`);
      if (b.length !== this.total) throw new Error(`loadStateDict: buffer "${key}" has ${b.length} values, expected ${this.total}`);
    }
    for (const key of Object.keys(state.buffers)) {
      if (!(key in own)) throw new Error(`loadStateDict: unexpected buffer "${key}"`);
    }
    this.setOptions(state.options);
    for (const [key, b] of Object.entries(own)) b.set(state.buffers[key]);
    state.steps.forEach((s, i) => (this.steps[i] = s));
  }
}
