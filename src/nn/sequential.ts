// Sequential: PyTorch's nn.Sequential — children named "0", "1", … applied in order. A Linear followed by
// ReLU or Tanh and/or Dropout runs as one fused kernel call (the same equations as the layers one by one).
import type { Activation } from '../backend/kernels.js';
import { defaultRng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { linearAct } from '../tensor/ops/linear.js';
import { ReLU, Tanh } from './activation.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
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
    return this.forwardRange(x, 0, this.layers.length);
  }

  /** Layers [start, end) applied to x, fusing each Linear [→ ReLU | Tanh] [→ Dropout] run into one op. */
  forwardRange(x: Tensor, start: number, end: number): Tensor {
    let y = x;
    for (let i = start; i < end; i++) {
      const m = this.layers[i];
      if (!(m instanceof Linear)) {
        y = m.forward(y);
        continue;
      }
      let act: Activation = 'none';
      const next = i + 1 < end ? this.layers[i + 1] : null;
      if (next instanceof ReLU || next instanceof Tanh) {
        act = next instanceof ReLU ? 'relu' : 'tanh';
        i++;
      }
      const after = i + 1 < end ? this.layers[i + 1] : null;
      let drop = null;
      if (after instanceof Dropout) {
        drop = { p: after.p, training: after.training, rng: after.rng ?? defaultRng() };
        i++;
      }
      y = linearAct(y, m.weight, m.bias, act, drop);
    }
    return y;
  }
}
