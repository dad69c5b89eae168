// SGD with momentum, dampening, Nesterov and L2 weight decay: PyTorch's torch.optim.SGD update rule.
import type { FloatArray } from '../backend/kernels.js';
import { kernels } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  private readonly momentumBuffer: FloatArray;

  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    super('SGD', params);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    this.validate();
    this.momentumBuffer = this.stateBuffer();
  }

  private validate(): void {
    if (!(this.lr >= 0)) throw new Error(`SGD: invalid learning rate ${this.lr}`);
    if (!(this.momentum >= 0)) throw new Error(`SGD: invalid momentum ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: nesterov requires a momentum and zero dampening');
    }
  }

  /** One update of every parameter that has a gradient (one kernel call when they are flat). */
  step(): void {
    const k = kernels();
    const withMomentum = this.momentum !== 0;
    this.forEachSpan((param, grad, offset, length, step) => {
      k.sgdStep(param, grad, withMomentum ? this.momentumBuffer.subarray(offset, offset + length) : null, {
        lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov,
        weightDecay: this.weightDecay, hasMomentumBuffer: step > 0,
      });
    });
  }

  protected get buffers(): Record<string, FloatArray> {
    return { momentumBuffer: this.momentumBuffer };
  }

  protected get options(): Record<string, number | boolean> {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  protected setOptions(o: Record<string, number | boolean | number[]>): void {
    this.lr = o['lr'] as number;
    this.momentum = o['momentum'] as number;
    this.dampening = o['dampening'] as number;
    this.nesterov = o['nesterov'] as boolean;
    this.weightDecay = o['weightDecay'] as number;
    this.validate();
  }
}
