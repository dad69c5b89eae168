// Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight decay): PyTorch's update rules.
import type { FloatArray } from '../backend/kernels.js';
import { kernels } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer } from './optimizer.js';

export interface AdamOptions {
  /** default 1e-3 */ lr?: number;
  /** default [0.9, 0.999] */ betas?: [number, number];
  /** default 1e-8 */ eps?: number;
  /** default 0 for Adam, 1e-2 for AdamW */ weightDecay?: number;
}

export class Adam extends Optimizer {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  private readonly expAvg: FloatArray;
  private readonly expAvgSq: FloatArray;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, private readonly decoupled = false) {
    super(decoupled ? 'AdamW' : 'Adam', params);
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ? [options.betas[0], options.betas[1]] : [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? (decoupled ? 1e-2 : 0);
    this.validate();
    this.expAvg = this.stateBuffer();
    this.expAvgSq = this.stateBuffer();
  }

  private validate(): void {
    const name = this.type;
    if (!(this.lr >= 0)) throw new Error(`${name}: invalid learning rate ${this.lr}`);
    if (!(this.eps >= 0)) throw new Error(`${name}: invalid eps ${this.eps}`);
    this.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new Error(`${name}: invalid beta parameter at index ${i}: ${b}`);
    });
    if (!(this.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay ${this.weightDecay}`);
  }

  /** One update of every parameter that has a gradient (one kernel call when they are flat). */
  step(): void {
    const k = kernels();
    this.forEachSpan((param, grad, offset, length, step) => {
      k.adamStep(param, grad, this.expAvg.subarray(offset, offset + length), this.expAvgSq.subarray(offset, offset + length), {
        lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay,
        decoupledWeightDecay: this.decoupled, step: step + 1,
      });
    });
  }

  protected get buffers(): Record<string, FloatArray> {
    return { expAvg: this.expAvg, expAvgSq: this.expAvgSq };
  }

  protected get options(): Record<string, number | number[]> {
    return { lr: this.lr, betas: [...this.betas], eps: this.eps, weightDecay: this.weightDecay };
  }

  protected setOptions(o: Record<string, number | boolean | number[]>): void {
    const betas = o['betas'] as number[];
    this.lr = o['lr'] as number;
    this.betas = [betas[0], betas[1]];
    this.eps = o['eps'] as number;
    this.weightDecay = o['weightDecay'] as number;
    this.validate();
  }
}

/** AdamW: Adam with decoupled weight decay (param ← param·(1 − lr·wd) before the Adam update); wd default 1e-2. */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, options, true);
  }
}
