// The kernel signatures: the numeric work a backend may provide, one entry per op.
//
// Tensor ops (src/tensor) and layers (src/nn) call these through `kernels()`, the active backend's
// dispatcher (src/backend/registry.ts), which alone decides when the TypeScript reference runs instead
// (a float64 call, a size the backend does not take, an op the backend lacks).
// Conventions for every kernel:
// - arrays are contiguous and row-major; the shape comment names each one's layout;
// - outputs are caller-provided and OVERWRITTEN (never accumulated into), unless a comment says otherwise;
// - the TypeScript reference (src/backend/js) implements every op over Float32Array or Float64Array
//   (float64 is for gradient checks); another backend registers only what it runs (see registry.ts).

export type FloatArray = Float32Array | Float64Array;

export type BackendName = 'js' | 'native' | 'gpu';

export interface GruDims {
  /** batch */ B: number;
  /** time steps (padded length) */ T: number;
  /** input features */ I: number;
  /** hidden size */ H: number;
}

export interface Conv1dDims {
  B: number;
  Cin: number;
  /** input length */ L: number;
  Cout: number;
  /** kernel size */ K: number;
  stride: number;
  padding: number;
  /** output length = floor((L + 2·padding − K) / stride) + 1 */ Lout: number;
}

export interface SgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** false on the first step: PyTorch then sets buf = grad (no dampening). */
  hasMomentumBuffer: boolean;
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW's decoupled decay (param *= 1 − lr·wd); false: Adam's L2 (grad += wd·param). */
  decoupledWeightDecay: boolean;
  /** 1-based step number, for bias correction. */
  step: number;
}

/** Every op's signature; a backend's kernels (`Kernels`) provide all of them through the dispatcher. */
export interface KernelOps {
  /**
   * c[M,N] = alpha · op(a) · op(b) + beta · c.
   * op(a) is [M,K]: a is stored [M,K], or [K,M] when transA. op(b) is [K,N]: b is [K,N], or [N,K] when transB.
   * beta = 0 overwrites c (NaNs in c are not propagated).
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    a: FloatArray, b: FloatArray, beta: number, c: FloatArray): void;

  /** out[B,Cout,Lout] = Σ_{ci,k} w[Cout,Cin,K] · xpad[B,Cin,·] + bias[Cout]  (cross-correlation, zero padding). */
  conv1dForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, d: Conv1dDims): void;

  /** Given gOut[B,Cout,Lout]: gx[B,Cin,L], gw[Cout,Cin,K], gBias[Cout]; each output is optional. */
  conv1dBackward(x: FloatArray, w: FloatArray, gOut: FloatArray,
    gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, d: Conv1dDims): void;

  /**
   * Max pooling over the last axis of x[rows, L] → out[rows, Lout], Lout = floor((L − kernel) / stride) + 1;
   * argmax[rows, Lout] receives the index (0..L-1) of each window's maximum (first one on ties, NaN wins).
   */
  maxPool1dForward(x: FloatArray, out: FloatArray, argmax: Int32Array,
    rows: number, L: number, kernel: number, stride: number): void;

  /** gx[rows, L] = scatter of gOut[rows, Lout] through argmax (overwrites gx, summing collisions). */
  maxPool1dBackward(gOut: FloatArray, argmax: Int32Array, gx: FloatArray, rows: number, L: number, Lout: number): void;

  /**
   * One GRU layer over a padded batch, PyTorch's equations, gate order (r, z, n):
   *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz),
   *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
   * x[B,T,I] (batch first); lengths[B] valid steps per sample (null = all T; 0 allowed); h0[B,H] or null (zeros);
   * wIh[3H,I], wHh[3H,H], bIh[3H], bHh[3H] (biases may be null).
   * Writes out[B,T,H] (zeros at steps t ≥ length, as a packed sequence), hN[B,H] (h at each sample's last
   * valid step; h0 for length 0) and saved[B,T,4H] = per step (r, z, n, W_hn h + b_hn) for the backward.
   */
  gruForward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
    wIh: FloatArray, wHh: FloatArray, bIh: FloatArray | null, bHh: FloatArray | null,
    out: FloatArray, hN: FloatArray, saved: FloatArray, d: GruDims): void;

  /**
   * Backward of gruForward through time. gOut[B,T,H] and ghN[B,H] may be null (no gradient from that output).
   * Writes gx[B,T,I], gh0[B,H], gWih[3H,I], gWhh[3H,H], gbIh[3H], gbHh[3H] (each optional: null skips it).
   */
  gruBackward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
    wIh: FloatArray, wHh: FloatArray, out: FloatArray, saved: FloatArray,
    gOut: FloatArray | null, ghN: FloatArray | null,
    gx: FloatArray | null, gh0: FloatArray | null, gWih: FloatArray | null, gWhh: FloatArray | null,
    gbIh: FloatArray | null, gbHh: FloatArray | null, d: GruDims): void;

  /** PyTorch SGD for one flat buffer, in place: param, grad and momentumBuf all of length n. */
  sgdStep(param: FloatArray, grad: FloatArray, momentumBuf: FloatArray | null, o: SgdOptions): void;

  /** PyTorch Adam / AdamW for one flat buffer, in place (expAvg, expAvgSq are the moment buffers). */
  adamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, o: AdamOptions): void;
}

export type OpName = keyof KernelOps;

/** A backend's kernels as the engine sees them: every op, dispatched (registry.ts). */
export interface Kernels extends KernelOps {
  readonly name: BackendName;
  /** Which code path runs: 'typescript', 'avx512', 'avx2', 'baseline', 'webgpu', 'cpu-fallback', … */
  readonly variant: string;
}
