// Sequential: PyTorch's nn.Sequential — children named "0", "1", … applied in order.
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** A module with a one-tensor-in, one-tensor-out forward (what Sequential chains). */
export type UnaryModule = Module & { forward(x: Tensor): Tensor };

export class Sequential extends Module {
  private readonly layers: UnaryModule[];

  constructor(...layers: UnaryModule[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): UnaryModule {
    const m = this.layers.at(index);
    if (!m) throw new Error(`Sequential: index ${index} out of range for ${this.layers.length} layers`);
    return m;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
