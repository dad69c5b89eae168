// gpu.js kernel sources for the training hot path.
//
// Each kernel is a string (gpu.js parses the source with acorn; a string is immune to whatever a
// TypeScript or test-runner transform would do to a function body) plus its argument types. gpu.js runs one
// thread per output cell: output [X, Y, Z] gives this.thread.x < X (fastest), this.thread.y < Y,
// this.thread.z < Z. Every array argument is read flat with one subscript, whatever its logical shape, so a
// device-resident result (a WebGPU buffer / GL texture from a pipeline kernel) binds wherever a Float32Array
// does. Index arithmetic in gpu.js's generated shaders is partly f32: exact below 2^24 elements per array
// (the backend keeps larger problems on the reference kernels, see gpu-backend.ts).
//
// gpu.js hoists loop counters to the kernel's scope: every loop in a kernel uses its own counter name.
// Reads are always guarded so no thread indexes outside an array: WGSL clamps such reads, but the cpu
// fallback would read `undefined` and poison the sum with NaN.

import { BATCHED_KERNEL_SOURCES } from './batched-sources.js';

export type ArgType = 'Array' | 'Integer' | 'Float';

export interface KernelSource {
  /** gpu.js kernel function, as source text. */
  readonly source: string;
  /** Argument name → gpu.js type, in the function's parameter order. */
  readonly args: Readonly<Record<string, ArgType>>;
}

/**
 * Strided, batched GEMM. output [N, M, batch]:
 * c[z, i, j] = alpha · Σ_k a[aOff + z·saz + i·sai + k·sak] · b[bOff + z·sbz + k·sbk + j·sbj].
 * The strides express all four transpose combinations and sub-matrices (row slices of a wider buffer).
 */
const gemm: KernelSource = {
  source: `function gemm(a, b, aOff, saz, sai, sak, bOff, sbz, sbk, sbj, K, alpha) {
  const j = this.thread.x;
  const i = this.thread.y;
  const z = this.thread.z;
  const abase = aOff + z * saz + i * sai;
  const bbase = bOff + z * sbz + j * sbj;
  let s = 0;
  for (let k = 0; k < K; k++) {
    s += a[abase + k * sak] * b[bbase + k * sbk];
  }
  return alpha * s;
}`,
  args: { a: 'Array', b: 'Array', aOff: 'Integer', saz: 'Integer', sai: 'Integer', sak: 'Integer',
    bOff: 'Integer', sbz: 'Integer', sbk: 'Integer', sbj: 'Integer', K: 'Integer', alpha: 'Float' },
};

/**
 * GEMM plus a scaled addend. output [N, M, batch]:
 * out[z, i, j] = alpha · Σ_k a[…] · b[…] + beta · c[cOff + z·scz + i·sci + j·scj]  (a, b strided as in gemm).
 * Used for beta ≠ 0, for the weighted accumulation of client updates, and for the GRU backward's
 * dh ← dGh·W_hh + g⊙z (the addend is a column slice of the step buffer).
 */
const gemmAcc: KernelSource = {
  source: `function gemmAcc(a, b, c, aOff, saz, sai, sak, bOff, sbz, sbk, sbj, cOff, scz, sci, scj, K, alpha, beta) {
  const j = this.thread.x;
  const i = this.thread.y;
  const z = this.thread.z;
  const abase = aOff + z * saz + i * sai;
  const bbase = bOff + z * sbz + j * sbj;
  let s = 0;
  for (let k = 0; k < K; k++) {
    s += a[abase + k * sak] * b[bbase + k * sbk];
  }
  return alpha * s + beta * c[cOff + z * scz + i * sci + j * scj];
}`,
  args: { a: 'Array', b: 'Array', c: 'Array', aOff: 'Integer', saz: 'Integer', sai: 'Integer', sak: 'Integer',
    bOff: 'Integer', sbz: 'Integer', sbk: 'Integer', sbj: 'Integer',
    cOff: 'Integer', scz: 'Integer', sci: 'Integer', scj: 'Integer', K: 'Integer', alpha: 'Float', beta: 'Float' },
};

/**
 * GEMM plus a bias row. output [N, M]: out[i, j] = Σ_k a[aOff + i·sai + k·sak] · b[k·sbk + j·sbj] + bias[j].
 * The GRU's input and hidden projections (x·W_ihᵀ + b_ih, h·W_hhᵀ + b_hh).
 */
const gemmBias: KernelSource = {
  source: `function gemmBias(a, b, bias, aOff, sai, sak, sbk, sbj, K) {
  const j = this.thread.x;
  const i = this.thread.y;
  const abase = aOff + i * sai;
  let s = 0;
  for (let k = 0; k < K; k++) {
    s += a[abase + k * sak] * b[k * sbk + j * sbj];
  }
  return s + bias[j];
}`,
  args: { a: 'Array', b: 'Array', bias: 'Array', aOff: 'Integer', sai: 'Integer', sak: 'Integer',
    sbk: 'Integer', sbj: 'Integer', K: 'Integer' },
};

/**
 * conv1d forward (cross-correlation, zero padding). output [Lout, Cout, B]:
 * out[b, co, lo] = bias[co] + Σ_{ci,k} w[co, ci, k] · x[b, ci, lo·stride + k − padding].
 * x[B,Cin,L], w[Cout,Cin,K], bias[Cout] (zeros when the layer has none).
 */
const conv1dForward: KernelSource = {
  source: `function conv1dForward(x, w, bias, Cin, L, K, stride, padding) {
  const lo = this.thread.x;
  const co = this.thread.y;
  const bi = this.thread.z;
  let s = bias[co];
  for (let ci = 0; ci < Cin; ci++) {
    const xrow = (bi * Cin + ci) * L;
    const wrow = (co * Cin + ci) * K;
    for (let k = 0; k < K; k++) {
      const l = lo * stride + k - padding;
      if (l >= 0 && l < L) {
        s += w[wrow + k] * x[xrow + l];
      }
    }
  }
  return s;
}`,
  args: { x: 'Array', w: 'Array', bias: 'Array', Cin: 'Integer', L: 'Integer', K: 'Integer',
    stride: 'Integer', padding: 'Integer' },
};

/**
 * conv1d input gradient, as a gather (one thread per input cell). output [L, Cin, B]:
 * gx[b, ci, l] = Σ_{co,k} w[co, ci, k] · g[b, co, lo] over lo = (l + padding − k) / stride when that is an
 * integer in [0, Lout). g[B,Cout,Lout], w[Cout,Cin,K].
 */
const conv1dGradInput: KernelSource = {
  source: `function conv1dGradInput(g, w, Cin, Cout, K, Lout, stride, padding) {
  const l = this.thread.x;
  const ci = this.thread.y;
  const bi = this.thread.z;
  let s = 0;
  for (let co = 0; co < Cout; co++) {
    const grow = (bi * Cout + co) * Lout;
    const wrow = (co * Cin + ci) * K;
    for (let k = 0; k < K; k++) {
      const num = l + padding - k;
      if (num >= 0) {
        const lo = Math.floor(num / stride);
        if (lo * stride == num && lo < Lout) {
          s += w[wrow + k] * g[grow + lo];
        }
      }
    }
  }
  return s;
}`,
  args: { g: 'Array', w: 'Array', Cin: 'Integer', Cout: 'Integer', K: 'Integer', Lout: 'Integer',
    stride: 'Integer', padding: 'Integer' },
};

/**
 * conv1d weight gradient. output [K, Cin, Cout]:
 * gw[co, ci, k] = Σ_{b,lo} g[b, co, lo] · x[b, ci, lo·stride + k − padding]. x[B,Cin,L], g[B,Cout,Lout].
 */
const conv1dGradWeight: KernelSource = {
  source: `function conv1dGradWeight(x, g, B, Cin, Cout, L, Lout, stride, padding) {
  const k = this.thread.x;
  const ci = this.thread.y;
  const co = this.thread.z;
  let s = 0;
  for (let bi = 0; bi < B; bi++) {
    const xrow = (bi * Cin + ci) * L;
    const grow = (bi * Cout + co) * Lout;
    for (let lo = 0; lo < Lout; lo++) {
      const l = lo * stride + k - padding;
      if (l >= 0 && l < L) {
        s += g[grow + lo] * x[xrow + l];
      }
    }
  }
  return s;
}`,
  args: { x: 'Array', g: 'Array', B: 'Integer', Cin: 'Integer', Cout: 'Integer', L: 'Integer', Lout: 'Integer',
    stride: 'Integer', padding: 'Integer' },
};

/**
 * Two-axis strided sum (the reduction helper). output [J]:
 * out[j] = Σ_{p<P} Σ_{q<Q} src[p·sp + j·sj + q·sq].
 * Column sums of [rows, cols]: P = rows, sp = cols, sj = 1, Q = 1. conv1d bias gradient of g[B,Cout,Lout]:
 * P = B, sp = Cout·Lout, sj = Lout, Q = Lout, sq = 1.
 */
const sumAxes: KernelSource = {
  source: `function sumAxes(src, P, sp, sj, Q, sq) {
  const j = this.thread.x;
  let s = 0;
  for (let p = 0; p < P; p++) {
    const base = p * sp + j * sj;
    for (let q = 0; q < Q; q++) {
      s += src[base + q * sq];
    }
  }
  return s;
}`,
  args: { src: 'Array', P: 'Integer', sp: 'Integer', sj: 'Integer', Q: 'Integer', sq: 'Integer' },
};

/**
 * Partial sums of squares over contiguous chunks. output [ceil(n / chunk)]:
 * out[c] = Σ_{i in chunk c, i < n} x[i]². The host adds the few partials (grad-norm clipping, update norms).
 */
const sumSquaresPartial: KernelSource = {
  source: `function sumSquaresPartial(x, n, chunk) {
  const start = this.thread.x * chunk;
  let s = 0;
  for (let i = 0; i < chunk; i++) {
    const idx = start + i;
    if (idx < n) {
      const v = x[idx];
      s += v * v;
    }
  }
  return s;
}`,
  args: { x: 'Array', n: 'Integer', chunk: 'Integer' },
};

/** Elementwise out[i] = alpha · x[i] + beta · y[i]. output [n]. */
const axpby: KernelSource = {
  source: `function axpby(x, y, alpha, beta) {
  const i = this.thread.x;
  return alpha * x[i] + beta * y[i];
}`,
  args: { x: 'Array', y: 'Array', alpha: 'Float', beta: 'Float' },
};

/** Identity copy, output [n]: with pipeline on, uploads a host array once into a device-resident buffer. */
const upload: KernelSource = {
  source: `function upload(x) {
  return x[this.thread.x];
}`,
  args: { x: 'Array' },
};

/**
 * Max-pool window argmax. output [Lout, rows]: the index (0..L-1, as a float) of the maximum of
 * x[r, o·stride .. o·stride + kernel − 1]; first on ties, a NaN wins (where the shader compiler keeps IEEE
 * NaN semantics: WGSL lets it assume there are none).
 */
const maxPoolArgmax: KernelSource = {
  source: `function maxPoolArgmax(x, L, kernel, stride) {
  const o = this.thread.x;
  const r = this.thread.y;
  const start = o * stride;
  const row = r * L;
  let best = start;
  let bestValue = x[row + start];
  let found = 0;
  if (bestValue != bestValue) {
    found = 1;
  }
  for (let k = 1; k < kernel; k++) {
    if (found == 0) {
      const v = x[row + start + k];
      if (v > bestValue || v != v) {
        bestValue = v;
        best = start + k;
        if (v != v) {
          found = 1;
        }
      }
    }
  }
  return best;
}`,
  args: { x: 'Array', L: 'Integer', kernel: 'Integer', stride: 'Integer' },
};

/** Gather along rows. output [Lout, rows]: out[r, o] = x[r·L + idx[r·Lout + o]] (the max-pool values). */
const gatherRows: KernelSource = {
  source: `function gatherRows(x, idx, L, Lout) {
  const o = this.thread.x;
  const r = this.thread.y;
  return x[r * L + idx[r * Lout + o]];
}`,
  args: { x: 'Array', idx: 'Array', L: 'Integer', Lout: 'Integer' },
};

/**
 * Max-pool backward as a gather (no scatter, no atomics). output [L, rows]:
 * gx[r, l] = Σ_{o < Lout, argmax[r, o] = l} gOut[r, o]. The interface passes no kernel size or stride, so each
 * thread scans its row's Lout windows.
 */
const maxPoolBackward: KernelSource = {
  source: `function maxPoolBackward(g, idx, Lout) {
  const l = this.thread.x;
  const r = this.thread.y;
  const row = r * Lout;
  let s = 0;
  for (let o = 0; o < Lout; o++) {
    if (idx[row + o] == l) {
      s += g[row + o];
    }
  }
  return s;
}`,
  args: { g: 'Array', idx: 'Array', Lout: 'Integer' },
};

/**
 * Fused GRU step (PyTorch's gate equations, order r, z, n). output [5H, B], one row per sample:
 * state[b] = (r, z, n, hn, h') with hn = W_hn·h + b_hn, h' = (1 − z)·n + z·h.
 * gi[B·T, 3H] = x·W_ihᵀ + b_ih (all steps), gh[B, 3H] = h·W_hhᵀ + b_hh (this step),
 * h = hPrev[hOff + b·hStride + j] (h0 [B,H] at t = 0, else the h' columns of the previous state),
 * lengths[B]. A sample whose sequence has ended (t ≥ length) keeps h and writes zeros elsewhere.
 */
const gruGates: KernelSource = {
  source: `function gruGates(gi, gh, hPrev, lengths, hOff, hStride, t, T, H) {
  const c = this.thread.x;
  const bi = this.thread.y;
  const seg = Math.floor(c / H);
  const j = c - seg * H;
  const hp = hPrev[hOff + bi * hStride + j];
  if (t >= lengths[bi]) {
    if (seg == 4) {
      return hp;
    }
    return 0;
  }
  const giRow = (bi * T + t) * 3 * H;
  const ghRow = bi * 3 * H;
  const r = 1 / (1 + Math.exp(-(gi[giRow + j] + gh[ghRow + j])));
  if (seg == 0) {
    return r;
  }
  const z = 1 / (1 + Math.exp(-(gi[giRow + H + j] + gh[ghRow + H + j])));
  if (seg == 1) {
    return z;
  }
  const hn = gh[ghRow + 2 * H + j];
  if (seg == 3) {
    return hn;
  }
  const a = Math.min(Math.max(gi[giRow + 2 * H + j] + r * hn, -15), 15);
  const n = Math.tanh(a);
  if (seg == 2) {
    return n;
  }
  return (1 - z) * n + z * hp;
}`,
  args: { gi: 'Array', gh: 'Array', hPrev: 'Array', lengths: 'Array', hOff: 'Integer', hStride: 'Integer',
    t: 'Integer', T: 'Integer', H: 'Integer' },
};

/**
 * Fused GRU backward step. output [7H, B], one row per sample:
 * (dA_r, dA_z, dA_n | dA_r, dA_z, dh_n | g⊙z), with g = dh[b] + gOut[b, t] (hasGOut), the gate values from
 * saved[B,T,4H] = (r, z, n, hn) and h_{t−1} = out[b, t−1] (t > 0) or h0[b]:
 *   dA_n = g(1 − z)(1 − n²),  dA_r = dA_n·hn·r(1 − r),  dA_z = g(h_{t−1} − n)·z(1 − z),  dh_n = dA_n·r.
 * The first 3H columns are the input-projection gradient, the next 3H the hidden-projection gradient (so
 * each is one contiguous slice for the GEMMs), the last H the part of dh_{t−1} that bypasses W_hh.
 * A finished sample (t ≥ length) writes zeros and passes dh through unchanged.
 */
const gruBackwardStep: KernelSource = {
  source: `function gruBackwardStep(dh, gOut, saved, out, h0, lengths, hasGOut, t, T, H) {
  const c = this.thread.x;
  const bi = this.thread.y;
  const seg = Math.floor(c / H);
  const j = c - seg * H;
  const dhv = dh[bi * H + j];
  if (t >= lengths[bi]) {
    if (seg == 6) {
      return dhv;
    }
    return 0;
  }
  let g = dhv;
  if (hasGOut == 1) {
    g += gOut[(bi * T + t) * H + j];
  }
  const sRow = (bi * T + t) * 4 * H;
  const z = saved[sRow + H + j];
  if (seg == 6) {
    return g * z;
  }
  const r = saved[sRow + j];
  const n = saved[sRow + 2 * H + j];
  const hn = saved[sRow + 3 * H + j];
  const dAn = g * (1 - z) * (1 - n * n);
  if (seg == 2) {
    return dAn;
  }
  if (seg == 5) {
    return dAn * r;
  }
  if (seg == 0 || seg == 3) {
    return dAn * hn * r * (1 - r);
  }
  let hp = 0;
  if (t > 0) {
    hp = out[(bi * T + t - 1) * H + j];
  } else {
    hp = h0[bi * H + j];
  }
  return g * (hp - n) * z * (1 - z);
}`,
  args: { dh: 'Array', gOut: 'Array', saved: 'Array', out: 'Array', h0: 'Array', lengths: 'Array',
    hasGOut: 'Integer', t: 'Integer', T: 'Integer', H: 'Integer' },
};

/**
 * Masked softmax over the last axis (attention fusion over modalities). output [C, R]:
 * out[r, c] = mask[r, c] ≠ 0 ? exp(x[r, c] − m) / Σ_{kept} exp(x[r, ·] − m) : 0, m = max over the kept
 * entries; a row with nothing kept is all zeros.
 */
const maskedSoftmax: KernelSource = {
  source: `function maskedSoftmax(x, mask, C) {
  const c = this.thread.x;
  const r = this.thread.y;
  const row = r * C;
  if (mask[row + c] == 0) {
    return 0;
  }
  let m = x[row + c];
  for (let k = 0; k < C; k++) {
    if (mask[row + k] != 0) {
      m = Math.max(m, x[row + k]);
    }
  }
  let s = 0;
  for (let q = 0; q < C; q++) {
    if (mask[row + q] != 0) {
      s += Math.exp(x[row + q] - m);
    }
  }
  return Math.exp(x[row + c] - m) / s;
}`,
  args: { x: 'Array', mask: 'Array', C: 'Integer' },
};

/**
 * SGD momentum buffer. output [n]: d = grad + wd·param;  buf' = hasBuf ? momentum·buf + (1 − dampening)·d : d.
 */
const sgdMomentum: KernelSource = {
  source: `function sgdMomentum(param, grad, buf, weightDecay, momentum, dampening, hasBuf) {
  const i = this.thread.x;
  const d = grad[i] + weightDecay * param[i];
  if (hasBuf == 1) {
    return momentum * buf[i] + (1 - dampening) * d;
  }
  return d;
}`,
  args: { param: 'Array', grad: 'Array', buf: 'Array', weightDecay: 'Float', momentum: 'Float',
    dampening: 'Float', hasBuf: 'Integer' },
};

/**
 * SGD parameter update. output [n]: d = grad + wd·param; with momentum (useBuf) d = nesterov ? d + momentum·buf'
 * : buf' (buf' from sgdMomentum); param' = param − lr·d.
 */
const sgdParam: KernelSource = {
  source: `function sgdParam(param, grad, buf, lr, weightDecay, momentum, useBuf, nesterov) {
  const i = this.thread.x;
  let d = grad[i] + weightDecay * param[i];
  if (useBuf == 1) {
    if (nesterov == 1) {
      d = d + momentum * buf[i];
    } else {
      d = buf[i];
    }
  }
  return param[i] - lr * d;
}`,
  args: { param: 'Array', grad: 'Array', buf: 'Array', lr: 'Float', weightDecay: 'Float', momentum: 'Float',
    useBuf: 'Integer', nesterov: 'Integer' },
};

/** Adam moment update. output [n]: g = grad + l2·param; m' = beta·m + (1 − beta)·g^power (power 1 or 2). */
const adamMoment: KernelSource = {
  source: `function adamMoment(param, grad, m, l2, beta, power) {
  const i = this.thread.x;
  const g = grad[i] + l2 * param[i];
  if (power == 2) {
    return beta * m[i] + (1 - beta) * g * g;
  }
  return beta * m[i] + (1 - beta) * g;
}`,
  args: { param: 'Array', grad: 'Array', m: 'Array', l2: 'Float', beta: 'Float', power: 'Integer' },
};

/**
 * Adam / AdamW parameter update. output [n], from the updated moments m', v':
 * param' = param·decay − stepSize·m' / (√v' / sqrtBc2 + eps).
 */
const adamParam: KernelSource = {
  source: `function adamParam(param, m, v, decay, stepSize, sqrtBc2, eps) {
  const i = this.thread.x;
  return param[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + eps);
}`,
  args: { param: 'Array', m: 'Array', v: 'Array', decay: 'Float', stepSize: 'Float', sqrtBc2: 'Float', eps: 'Float' },
};

export const KERNEL_SOURCES = {
  ...BATCHED_KERNEL_SOURCES,
  gemm, gemmAcc, gemmBias, conv1dForward, conv1dGradInput, conv1dGradWeight, sumAxes, sumSquaresPartial,
  axpby, upload, maxPoolArgmax, gatherRows, maxPoolBackward, gruGates, gruBackwardStep, maskedSoftmax,
  sgdMomentum, sgdParam, adamMoment, adamParam,
} as const;

export type KernelName = keyof typeof KERNEL_SOURCES;
