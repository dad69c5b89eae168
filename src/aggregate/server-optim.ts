// Server-side optimizers over the flat global model, after Reddi et al. 2021, "Adaptive Federated
// Optimization" (FedAvgM, FedAdam, FedYogi, FedAdagrad). step(params, pseudoGrad) takes the pseudo-gradient
// g = w_global − w_avg (optionally divided by the local lr, as FedMultimodal's FedOpt does), i.e. minus the
// paper's Δ, and applies, per coordinate in float64 with float32 state:
//   m = β1·m + (1 − β1)·g
//   Adam:    v = β2·v + (1 − β2)·g²
//   Yogi:    v = v − (1 − β2)·g²·sign(v − g²)
//   Adagrad: v = v + g²
//   params −= lr · m / (√v + τ)          (no bias correction, as in the paper; v starts at τ² by default)
// ServerSgd: m = μ·m + g; params −= lr·m.
// The state buffers (m, v) are public Float32Arrays, for checkpoints; loadState copies them back.
import { aggregateOps } from './ops.js';

function checkStep(name: string, size: number, params: Float32Array, g: Float32Array): void {
  if (params.length !== size) throw new Error(`${name}.step: params has ${params.length} values, expected ${size}`);
  if (g.length !== size) throw new Error(`${name}.step: pseudoGrad has ${g.length} values, expected ${size}`);
}

function checkPositive(name: string, what: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${name}: ${what} must be a positive finite number, got ${v}`);
}

function loadInto(name: string, what: string, dst: Float32Array, src: Float32Array | undefined): void {
  if (!src) throw new Error(`${name}.loadState: missing ${what}`);
  if (src.length !== dst.length) throw new Error(`${name}.loadState: ${what} has ${src.length} values, expected ${dst.length}`);
  dst.set(src);
}

export interface ServerSgdOptions {
  lr: number;
  /** 0 (default): plain server SGD (FedAvg with server lr); > 0: FedAvgM. */
  momentum?: number;
}

export class ServerSgd {
  readonly lr: number;
  readonly momentum: number;
  /** Momentum buffer (empty when momentum = 0). */
  readonly m: Float32Array;

  constructor(readonly size: number, o: ServerSgdOptions) {
    checkPositive('ServerSgd', 'lr', o.lr);
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`ServerSgd: momentum must be in [0, 1), got ${this.momentum}`);
    this.m = new Float32Array(this.momentum > 0 ? size : 0);
  }

  step(params: Float32Array, pseudoGrad: Float32Array): void {
    checkStep('ServerSgd', this.size, params, pseudoGrad);
    aggregateOps().serverSgdStep(params, pseudoGrad, this.momentum > 0 ? this.m : null, this.lr, this.momentum);
  }

  state(): { m: Float32Array } {
    return { m: this.m };
  }

  loadState(s: { m?: Float32Array }): void {
    if (this.momentum > 0) loadInto('ServerSgd', 'm', this.m, s.m);
  }
}

export interface AdaptiveServerOptions {
  lr: number;
  /** default 0.9 */ beta1?: number;
  /** default 0.99 (unused by Adagrad) */ beta2?: number;
  /** adaptivity τ, default 1e-3 */ tau?: number;
  /** initial v, default τ² */ initialAccumulator?: number;
}

const RULES = { FedAdam: 0, FedYogi: 1, FedAdagrad: 2 } as const;
type RuleName = keyof typeof RULES;

abstract class AdaptiveServerOptimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
  /** First moment [size]. */
  readonly m: Float32Array;
  /** Second-moment accumulator [size]. */
  readonly v: Float32Array;
  protected abstract readonly rule: RuleName;

  constructor(readonly size: number, o: AdaptiveServerOptions, name: string) {
    checkPositive(name, 'lr', o.lr);
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.99;
    this.tau = o.tau ?? 1e-3;
    if (!(this.beta1 >= 0 && this.beta1 < 1)) throw new Error(`${name}: beta1 must be in [0, 1), got ${this.beta1}`);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) throw new Error(`${name}: beta2 must be in [0, 1), got ${this.beta2}`);
    checkPositive(name, 'tau', this.tau);
    this.m = new Float32Array(size);
    this.v = new Float32Array(size).fill(o.initialAccumulator ?? this.tau * this.tau);
  }

  step(params: Float32Array, pseudoGrad: Float32Array): void {
    checkStep(this.rule, this.size, params, pseudoGrad);
    aggregateOps().fedoptStep(RULES[this.rule], params, pseudoGrad, this.m, this.v, this.lr, this.beta1, this.beta2, this.tau);
  }

  state(): { m: Float32Array; v: Float32Array } {
    return { m: this.m, v: this.v };
  }

  loadState(s: { m?: Float32Array; v?: Float32Array }): void {
    loadInto(this.rule, 'm', this.m, s.m);
    loadInto(this.rule, 'v', this.v, s.v);
  }
}

export class FedAdam extends AdaptiveServerOptimizer {
  protected readonly rule = 'FedAdam' as const;
  constructor(size: number, o: AdaptiveServerOptions) {
    super(size, o, 'FedAdam');
  }
}

export class FedYogi extends AdaptiveServerOptimizer {
  protected readonly rule = 'FedYogi' as const;
  constructor(size: number, o: AdaptiveServerOptions) {
    super(size, o, 'FedYogi');
  }
}

export class FedAdagrad extends AdaptiveServerOptimizer {
  protected readonly rule = 'FedAdagrad' as const;
  constructor(size: number, o: AdaptiveServerOptions) {
    super(size, o, 'FedAdagrad');
  }
}
