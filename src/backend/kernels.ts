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

/** A Conv1d → ReLU → MaxPool1d block (ConvBlock ops): the convolution's dims, then the pooling's. */
export interface ConvBlockDims extends Conv1dDims {
  poolKernel: number;
  poolStride: number;
  /** pooled length = floor((Lout − poolKernel) / poolStride) + 1 */ P: number;
}

/** Activation applied by the fused linear kernels. */
export type Activation = 'none' | 'relu' | 'tanh';

export interface AttentionDims {
  B: number;
  /** time steps */ T: number;
  /** feature size of h */ D: number;
  /** width of the scoring MLP's hidden layer */ hidden: number;
  heads: number;
}

/** The score FedMultimodal's attention gives masked steps before the softmax. */
export const ATTENTION_MASKED_SCORE = -1e5;

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
   * valid step; h0 for length 0) and saved[B,T,4H] = per step (r, z, n, W_hn h + b_hn) for the backward;
   * saved null = forward only (inference: nothing is kept for a backward; out and hN are the same bits).
   */
  gruForward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
    wIh: FloatArray, wHh: FloatArray, bIh: FloatArray | null, bHh: FloatArray | null,
    out: FloatArray, hN: FloatArray, saved: FloatArray | null, d: GruDims): void;

  /**
   * Backward of gruForward through time. gOut[B,T,H] and ghN[B,H] may be null (no gradient from that output).
   * Writes gx[B,T,I], gh0[B,H], gWih[3H,I], gWhh[3H,H], gbIh[3H], gbHh[3H] (each optional: null skips it).
   */
  gruBackward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
    wIh: FloatArray, wHh: FloatArray, out: FloatArray, saved: FloatArray,
    gOut: FloatArray | null, ghN: FloatArray | null,
    gx: FloatArray | null, gh0: FloatArray | null, gWih: FloatArray | null, gWhh: FloatArray | null,
    gbIh: FloatArray | null, gbHh: FloatArray | null, d: GruDims): void;

  /**
   * One encoder block, PyTorch's Conv1d → ReLU → MaxPool1d → Dropout as one call:
   *   z = conv1d(x[B,Cin,L], w[Cout,Cin,K]) + bias[Cout] → [B,Cout,Lout];  r = relu(z) (NaN passes);
   *   pooled[B,Cout,P] = max over each window of r, argmax[B,Cout,P] = its index in 0..Lout−1 (first on ties,
   *   NaN wins); out[B,Cout,P] = pooled ⊙ mask (mask[B,Cout,P] holds 0 or 1/(1−p); null = no dropout, out may
   *   then be pooled itself). pooled and argmax are what the backward needs; argmax null = forward only
   *   (inference: no indices are written; pooled and out are the same bits).
   */
  convBlockForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, mask: FloatArray | null,
    pooled: FloatArray, argmax: Int32Array | null, out: FloatArray, d: ConvBlockDims): void;

  /**
   * Backward of convBlockForward from gOut[B,Cout,P]: gz[B,Cout,Lout] = scatter of gOut ⊙ mask through argmax
   * where pooled > 0 (ReLU's gradient; 0 at exactly 0), then conv1dBackward → gx[B,Cin,L], gw[Cout,Cin,K],
   * gBias[Cout] (each optional).
   */
  convBlockBackward(x: FloatArray, w: FloatArray, pooled: FloatArray, argmax: Int32Array, mask: FloatArray | null,
    gOut: FloatArray, gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, d: ConvBlockDims): void;

  /**
   * PyTorch's Linear → activation → Dropout as one call: y[M,N] = act(x[M,K] · w[N,K]ᵀ + bias[N]);
   * out[M,N] = y ⊙ mask (mask[M,N] of 0 or 1/(1−p); null = no dropout, out may then be y itself).
   */
  linearForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, act: Activation, mask: FloatArray | null,
    y: FloatArray, out: FloatArray, M: number, N: number, K: number): void;

  /**
   * Backward of linearForward from gOut[M,N]: gz = gOut ⊙ mask ⊙ act'(y) (relu: y > 0; tanh: 1 − y²), then
   * gx[M,K] = gz · w, gw[N,K] = gzᵀ · x, gBias[N] = Σ_m gz (each optional).
   */
  linearBackward(x: FloatArray, w: FloatArray, y: FloatArray, act: Activation, mask: FloatArray | null, gOut: FloatArray,
    gx: FloatArray | null, gw: FloatArray | null, gBias: FloatArray | null, M: number, N: number, K: number): void;

  /**
   * FedMultimodal's fuse_base attention (its FuseBaseSelfAttention) over h[B,T,D] with mask[B,T] (0 = padded
   * step or missing modality):
   *   u[B,T,hidden] = tanh(h · w1[hidden,D]ᵀ + b1[hidden]);  s[B,T,heads] = u · w2[heads,hidden]ᵀ + b2[heads];
   *   s[b,t,·] = ATTENTION_MASKED_SCORE where mask[b,t] = 0;  a[B,heads,T] = softmax over t of s[b,·,k];
   *   out[B,heads·D]: out[b, k·D + j] = Σ_t a[b,k,t] · h[b,t,j].
   * u and a are saved for the backward; u null = forward only (inference: u is not kept, a still written;
   * out is the same bits). Biases may be null.
   */
  attentionFusionForward(h: FloatArray, mask: FloatArray, w1: FloatArray, b1: FloatArray | null, w2: FloatArray,
    b2: FloatArray | null, u: FloatArray | null, a: FloatArray, out: FloatArray, d: AttentionDims): void;

  /**
   * Backward of attentionFusionForward from gOut[B,heads·D]: gh[B,T,D], gw1[hidden,D], gb1[hidden],
   * gw2[heads,hidden], gb2[heads] (each optional; masked steps' scores get no gradient, as masked_fill's).
   */
  attentionFusionBackward(h: FloatArray, mask: FloatArray, w1: FloatArray, w2: FloatArray, u: FloatArray, a: FloatArray, gOut: FloatArray,
    gh: FloatArray | null, gw1: FloatArray | null, gb1: FloatArray | null, gw2: FloatArray | null, gb2: FloatArray | null,
    d: AttentionDims): void;

  /**
   * Mean softmax cross-entropy of logits[N,C] against class indices targets[N] (each in [0, C)):
   * returns (1/N) Σ_n (log Σ_c exp x[n,c] − x[n,t_n]) and writes probs[N,C] = softmax of each row.
   */
  crossEntropyForward(logits: FloatArray, targets: Int32Array, probs: FloatArray, N: number, C: number): number;

  /** gx[N,C] = (probs − onehot(targets)) · scale (scale = upstream gradient / N). */
  crossEntropyBackward(probs: FloatArray, targets: Int32Array, scale: number, gx: FloatArray, N: number, C: number): void;

  /** Mean of max(x,0) − x·y + log(1 + exp(−|x|)) over x[n], y[n] (binary_cross_entropy_with_logits). */
  bceWithLogitsForward(x: FloatArray, y: FloatArray, n: number): number;

  /** gx[n] = (σ(x) − y) · scale. */
  bceWithLogitsBackward(x: FloatArray, y: FloatArray, scale: number, gx: FloatArray, n: number): void;

  /**
   * Inverted-dropout mask from xoshiro128** state[4] (src/random.ts's Rng, advanced in place): one 32-bit draw
   * per element, mask[i] = draw < threshold ? 0 : scale (threshold = p·2³², scale = 1/(1−p), 0 when p = 1).
   */
  dropoutMask(state: Uint32Array, threshold: number, scale: number, mask: FloatArray): void;

  /** acc[n] += g[n]: one gradient summed into another (n = acc.length = g.length). */
  accumulate(acc: FloatArray, g: FloatArray): void;

  /**
   * Σ x[n]² in float64: 8 partial sums (lane i mod 8 over whole blocks of 8, the tail into lane 0), combined as
   * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
   */
  squaredNorm(x: FloatArray): number;

  /** x[n] *= s in place (float32 x: s rounded to float32, each product rounded to float32). */
  scale(x: FloatArray, s: number): void;

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
