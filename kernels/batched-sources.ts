// gpu.js kernel sources for client-batched training: C clients train in lockstep, each on its own weights.
//
// Layout conventions (see sources.ts for gpu.js's own quirks, which apply here too):
// - every per-client tensor is stacked [C, size] (client-major) in one array;
// - every activation has S rows per client (S = the batch size; a client's short or missing batch leaves
//   padded rows, which get no gradient): row r belongs to client c = floor(r / S), R = C·S rows in all;
// - dropout masks arrive as bits, 16 per float (exact integers below 2^24): element e's bit is
//   floor(bits[floor(e/16)] / pw[e mod 16]) mod 2 with pw = (1, 2, 4, …, 2^15) (a lookup, not pow, so the
//   unpacking is exact on every mode); a set bit keeps the value times `scale` = 1/(1 − p);
// - strides name each input's layout, so one kernel serves several layers (and a layer's input read in
//   another layer's layout, e.g. the conv output [R, channels, steps] as the GRU's input [R, steps, features]).
import type { KernelSource } from './sources.js';

/** out[c, i] = g[off + i]: a global tensor copied to every client. output [size, C]. */
const bTile: KernelSource = {
  source: `function bTile(g, off) {
  return g[off + this.thread.x];
}`,
  args: { g: 'Array', off: 'Integer' },
};

/**
 * Per-client conv1d (stride 1). output [Lout, Cout, R]:
 * z[r, co, lo] = bias[c, co] + Σ_{ci,k} w[c, co, ci, k] · x[r·xRow + ci·xc + (lo + k − padding)·xl] (zero outside [0, L)).
 */
const bConvForward: KernelSource = {
  source: `function bConvForward(x, w, bias, Cin, L, K, padding, Cout, S, xRow, xc, xl) {
  const lo = this.thread.x;
  const co = this.thread.y;
  const r = this.thread.z;
  const c = Math.floor(r / S);
  let s = bias[c * Cout + co];
  const wbase = ((c * Cout + co) * Cin) * K;
  for (let ci = 0; ci < Cin; ci++) {
    for (let k = 0; k < K; k++) {
      const l = lo + k - padding;
      if (l >= 0 && l < L) {
        s += w[wbase + ci * K + k] * x[r * xRow + ci * xc + l * xl];
      }
    }
  }
  return s;
}`,
  args: { x: 'Array', w: 'Array', bias: 'Array', Cin: 'Integer', L: 'Integer', K: 'Integer', padding: 'Integer',
    Cout: 'Integer', S: 'Integer', xRow: 'Integer', xc: 'Integer', xl: 'Integer' },
};

/**
 * ReLU → max-pool → dropout over z[rows, L]. output [P, rows]:
 * out[row, o] = max_{k<kernel} relu(z[row, o·stride + k]) · mask(row·P + o).
 */
const bPoolForward: KernelSource = {
  source: `function bPoolForward(z, bits, pw, L, P, kernel, stride, scale, hasMask) {
  const o = this.thread.x;
  const row = this.thread.y;
  const start = row * L + o * stride;
  let best = Math.max(z[start], 0);
  for (let k = 1; k < kernel; k++) {
    const v = Math.max(z[start + k], 0);
    if (v > best) {
      best = v;
    }
  }
  if (hasMask == 1) {
    const e = row * P + o;
    const word = Math.floor(e / 16);
    const q = Math.floor(bits[word] / pw[e - word * 16]);
    if (q - Math.floor(q / 2) * 2 == 0) {
      return 0;
    }
    return best * scale;
  }
  return best;
}`,
  args: { z: 'Array', bits: 'Array', pw: 'Array', L: 'Integer', P: 'Integer', kernel: 'Integer', stride: 'Integer',
    scale: 'Float', hasMask: 'Integer' },
};

/**
 * Backward of bPoolForward from g[rows, P]. output [L, rows]: gz[row, l] = Σ over the windows o whose first
 * maximum of relu(z) sits at l and is > 0 of g[row, o] · mask(row·P + o).
 */
const bPoolBackward: KernelSource = {
  source: `function bPoolBackward(g, z, bits, pw, L, P, kernel, stride, scale, hasMask) {
  const l = this.thread.x;
  const row = this.thread.y;
  let s = 0;
  const oLo = Math.max(0, Math.floor((l - kernel + stride) / stride));
  const oHi = Math.min(P - 1, Math.floor(l / stride));
  for (let o = oLo; o < oHi + 1; o++) {
    const start = row * L + o * stride;
    let best = Math.max(z[start], 0);
    let at = o * stride;
    for (let k = 1; k < kernel; k++) {
      const v = Math.max(z[start + k], 0);
      if (v > best) {
        best = v;
        at = o * stride + k;
      }
    }
    if (at == l && best > 0) {
      let m = 1;
      if (hasMask == 1) {
        const e = row * P + o;
        const word = Math.floor(e / 16);
        const q = Math.floor(bits[word] / pw[e - word * 16]);
        m = (q - Math.floor(q / 2) * 2) * scale;
      }
      s += g[row * P + o] * m;
    }
  }
  return s;
}`,
  args: { g: 'Array', z: 'Array', bits: 'Array', pw: 'Array', L: 'Integer', P: 'Integer', kernel: 'Integer',
    stride: 'Integer', scale: 'Float', hasMask: 'Integer' },
};

/**
 * Per-client conv1d input gradient (stride 1). output [L, Cin, R]:
 * gx[r, ci, l] = Σ_{co,k} w[c, co, ci, k] · gz[r, co, l + padding − k] over indices in [0, Lout).
 */
const bConvGradInput: KernelSource = {
  source: `function bConvGradInput(gz, w, Cin, Cout, K, Lout, padding, S) {
  const l = this.thread.x;
  const ci = this.thread.y;
  const r = this.thread.z;
  const c = Math.floor(r / S);
  let s = 0;
  for (let co = 0; co < Cout; co++) {
    const wbase = ((c * Cout + co) * Cin + ci) * K;
    const gbase = (r * Cout + co) * Lout;
    for (let k = 0; k < K; k++) {
      const lo = l + padding - k;
      if (lo >= 0 && lo < Lout) {
        s += w[wbase + k] * gz[gbase + lo];
      }
    }
  }
  return s;
}`,
  args: { gz: 'Array', w: 'Array', Cin: 'Integer', Cout: 'Integer', K: 'Integer', Lout: 'Integer', padding: 'Integer', S: 'Integer' },
};

/**
 * Per-client conv1d weight gradient (stride 1). output [K, Cin, C·Cout]:
 * gw[c, co, ci, k] = Σ_{b<S, lo<Lout} gz[c·S + b, co, lo] · x[(c·S + b)·xRow + ci·xc + (lo + k − padding)·xl].
 */
const bConvGradWeight: KernelSource = {
  source: `function bConvGradWeight(x, gz, Cout, L, Lout, padding, S, xRow, xc, xl) {
  const k = this.thread.x;
  const ci = this.thread.y;
  const zc = this.thread.z;
  const c = Math.floor(zc / Cout);
  const co = zc - c * Cout;
  let s = 0;
  for (let b = 0; b < S; b++) {
    const r = c * S + b;
    const gbase = (r * Cout + co) * Lout;
    for (let lo = 0; lo < Lout; lo++) {
      const l = lo + k - padding;
      if (l >= 0 && l < L) {
        s += gz[gbase + lo] * x[r * xRow + ci * xc + l * xl];
      }
    }
  }
  return s;
}`,
  args: { x: 'Array', gz: 'Array', Cout: 'Integer', L: 'Integer', Lout: 'Integer', padding: 'Integer', S: 'Integer',
    xRow: 'Integer', xc: 'Integer', xl: 'Integer' },
};

/** Per-client sums (bias gradients). output [J, C]: out[c, j] = Σ_{b<S} Σ_{q<Q} src[(c·S + b)·rowLen + off + j·sj + q·sq]. */
const bClientSum: KernelSource = {
  source: `function bClientSum(src, S, rowLen, off, sj, Q, sq) {
  const j = this.thread.x;
  const c = this.thread.y;
  let s = 0;
  for (let b = 0; b < S; b++) {
    const base = (c * S + b) * rowLen + off + j * sj;
    for (let q = 0; q < Q; q++) {
      s += src[base + q * sq];
    }
  }
  return s;
}`,
  args: { src: 'Array', S: 'Integer', rowLen: 'Integer', off: 'Integer', sj: 'Integer', Q: 'Integer', sq: 'Integer' },
};

/**
 * Per-client Linear → activation → dropout over Tq positions per row. output [N, Tq, R]:
 * y[r, t, n] = act(bias[c, n] + Σ_k w[c, n, k] · x[r·xRow + xOff + t·xt + k·xk]) · mask((r·Tq + t)·N + n);
 * act 0 none, 1 relu, 2 tanh.
 */
const bClientLinear: KernelSource = {
  source: `function bClientLinear(x, w, bias, K, N, S, Tq, xRow, xOff, xt, xk, act, bits, pw, scale, hasMask) {
  const n = this.thread.x;
  const t = this.thread.y;
  const r = this.thread.z;
  const c = Math.floor(r / S);
  let s = bias[c * N + n];
  const wbase = (c * N + n) * K;
  const xbase = r * xRow + xOff + t * xt;
  for (let k = 0; k < K; k++) {
    s += w[wbase + k] * x[xbase + k * xk];
  }
  if (act == 1) {
    s = Math.max(s, 0);
  }
  if (act == 2) {
    s = Math.tanh(s);
  }
  if (hasMask == 1) {
    const e = (r * Tq + t) * N + n;
    const word = Math.floor(e / 16);
    const q = Math.floor(bits[word] / pw[e - word * 16]);
    s = s * (q - Math.floor(q / 2) * 2) * scale;
  }
  return s;
}`,
  args: { x: 'Array', w: 'Array', bias: 'Array', K: 'Integer', N: 'Integer', S: 'Integer', Tq: 'Integer', xRow: 'Integer', xOff: 'Integer',
    xt: 'Integer', xk: 'Integer', act: 'Integer', bits: 'Array', pw: 'Array', scale: 'Float', hasMask: 'Integer' },
};

/**
 * Per-client input gradient of a linear map, times the layer below's local derivative, plus an addend.
 * output [K, Tq, R] (transOut 0) or [Tq, K, R] (transOut 1, e.g. the GRU's input gradient in the conv layout):
 *   v = Σ_n g[r·gRow + gOff + t·gt + n] · w[c, n, k];
 *   mult 1: v · (y > 0) · mask(e), 2: v · (1 − y²), with y = y[r·yRow + t·yt + k] and e = (r·Tq + t)·K + k;
 *   hasAdd: v + add[r·aRow + aOff + t·at + k].
 */
const bClientGradInput: KernelSource = {
  source: `function bClientGradInput(g, w, N, K, S, Tq, gRow, gOff, gt, mult, y, yRow, yt, bits, pw, scale, hasMask, add, aRow, aOff, at, hasAdd, transOut) {
  let k = this.thread.x;
  let t = this.thread.y;
  if (transOut == 1) {
    k = this.thread.y;
    t = this.thread.x;
  }
  const r = this.thread.z;
  const c = Math.floor(r / S);
  const gbase = r * gRow + gOff + t * gt;
  let s = 0;
  for (let n = 0; n < N; n++) {
    s += g[gbase + n] * w[(c * N + n) * K + k];
  }
  if (mult == 1) {
    if (y[r * yRow + t * yt + k] > 0) {
      if (hasMask == 1) {
        const e = (r * Tq + t) * K + k;
        const word = Math.floor(e / 16);
        const q = Math.floor(bits[word] / pw[e - word * 16]);
        s = s * (q - Math.floor(q / 2) * 2) * scale;
      }
    } else {
      s = 0;
    }
  }
  if (mult == 2) {
    const yv = y[r * yRow + t * yt + k];
    s = s * (1 - yv * yv);
  }
  if (hasAdd == 1) {
    s += add[r * aRow + aOff + t * at + k];
  }
  return s;
}`,
  args: { g: 'Array', w: 'Array', N: 'Integer', K: 'Integer', S: 'Integer', Tq: 'Integer', gRow: 'Integer', gOff: 'Integer',
    gt: 'Integer', mult: 'Integer', y: 'Array', yRow: 'Integer', yt: 'Integer', bits: 'Array', pw: 'Array', scale: 'Float',
    hasMask: 'Integer', add: 'Array', aRow: 'Integer', aOff: 'Integer', at: 'Integer', hasAdd: 'Integer', transOut: 'Integer' },
};

/**
 * Per-client sum of outer products (weight gradients). output [Kb, Na, C]:
 * out[c, n, k] = Σ_{b<S} Σ_{t=tFrom}^{T−1} a[r·aRow + aOff + t·at + n·an] · b[r·bRow + bOff + (t − tFrom)·bt + k·bk], r = c·S + b.
 */
const bClientOuter: KernelSource = {
  source: `function bClientOuter(a, b, S, T, aRow, aOff, at, an, bRow, bOff, bt, bk, tFrom) {
  const k = this.thread.x;
  const n = this.thread.y;
  const c = this.thread.z;
  let s = 0;
  for (let i = 0; i < S; i++) {
    const r = c * S + i;
    const abase = r * aRow + aOff + n * an;
    const bbase = r * bRow + bOff + k * bk;
    for (let t = tFrom; t < T; t++) {
      s += a[abase + t * at] * b[bbase + (t - tFrom) * bt];
    }
  }
  return s;
}`,
  args: { a: 'Array', b: 'Array', S: 'Integer', T: 'Integer', aRow: 'Integer', aOff: 'Integer', at: 'Integer', an: 'Integer',
    bRow: 'Integer', bOff: 'Integer', bt: 'Integer', bk: 'Integer', tFrom: 'Integer' },
};

/** Row-wise concatenation. output [Xa + Xb, R]: out[r, q] = q < Xa ? a[r·Xa + q] : b[r·Xb + q − Xa]. */
const bConcatRows: KernelSource = {
  source: `function bConcatRows(a, b, Xa, Xb) {
  const q = this.thread.x;
  const r = this.thread.y;
  if (q < Xa) {
    return a[r * Xa + q];
  }
  return b[r * Xb + q - Xa];
}`,
  args: { a: 'Array', b: 'Array', Xa: 'Integer', Xb: 'Integer' },
};

/**
 * Fused GRU backward step over stacked states[R, T, 5H] = (r, z, n, hn, h') per step. output [7H, R]:
 * (dA_r, dA_z, dA_n | dA_r, dA_z, dh_n | g⊙z) with g = dh[r] + gOut[r·gRow + gOff + t·H] and h_{t−1} the previous
 * step's h' (0 at t = 0); the equations of gruBackwardStep (sources.ts). A finished sample (t ≥ length) writes
 * zeros and passes dh through.
 */
const bGruBackStep: KernelSource = {
  source: `function bGruBackStep(dh, gOut, states, lengths, gRow, gOff, t, T, H) {
  const cc = this.thread.x;
  const r = this.thread.y;
  const seg = Math.floor(cc / H);
  const j = cc - seg * H;
  const dhv = dh[r * H + j];
  if (t >= lengths[r]) {
    if (seg == 6) {
      return dhv;
    }
    return 0;
  }
  const g = dhv + gOut[r * gRow + gOff + t * H + j];
  const sRow = (r * T + t) * 5 * H;
  const z = states[sRow + H + j];
  if (seg == 6) {
    return g * z;
  }
  const rg = states[sRow + j];
  const n = states[sRow + 2 * H + j];
  const hn = states[sRow + 3 * H + j];
  const dAn = g * (1 - z) * (1 - n * n);
  if (seg == 2) {
    return dAn;
  }
  if (seg == 5) {
    return dAn * rg;
  }
  if (seg == 0 || seg == 3) {
    return dAn * hn * rg * (1 - rg);
  }
  let hp = 0;
  if (t > 0) {
    hp = states[sRow - 5 * H + 4 * H + j];
  }
  return g * (hp - n) * z * (1 - z);
}`,
  args: { dh: 'Array', gOut: 'Array', states: 'Array', lengths: 'Array', gRow: 'Integer', gOff: 'Integer',
    t: 'Integer', T: 'Integer', H: 'Integer' },
};

/**
 * The attention's input: both modalities' GRU outputs along time, zero past each sample's length.
 * output [H, Ta + Tb, R] from sa[R, Ta, 5H], sb[R, Tb, 5H] (h' at column 4H) and lengths lenA[R], lenB[R].
 */
const bAttnInput: KernelSource = {
  source: `function bAttnInput(sa, sb, lenA, lenB, Ta, Tb, H) {
  const j = this.thread.x;
  const t = this.thread.y;
  const r = this.thread.z;
  if (t < Ta) {
    if (t < lenA[r]) {
      return sa[(r * Ta + t) * 5 * H + 4 * H + j];
    }
    return 0;
  }
  const u = t - Ta;
  if (u < lenB[r]) {
    return sb[(r * Tb + u) * 5 * H + 4 * H + j];
  }
  return 0;
}`,
  args: { sa: 'Array', sb: 'Array', lenA: 'Array', lenB: 'Array', Ta: 'Integer', Tb: 'Integer', H: 'Integer' },
};

/**
 * Attention weights: softmax over time of the scores s[R, T, heads], masked steps scored ATTENTION_MASKED_SCORE
 * (−1e5). output [T, heads, R]: a[r, k, t].
 */
const bAttnSoftmax: KernelSource = {
  source: `function bAttnSoftmax(s, mask, T, heads) {
  const t = this.thread.x;
  const k = this.thread.y;
  const r = this.thread.z;
  let m = -100000;
  for (let q = 0; q < T; q++) {
    let v = -100000;
    if (mask[r * T + q] != 0) {
      v = s[(r * T + q) * heads + k];
    }
    m = Math.max(m, v);
  }
  let sum = 0;
  for (let p = 0; p < T; p++) {
    let v2 = -100000;
    if (mask[r * T + p] != 0) {
      v2 = s[(r * T + p) * heads + k];
    }
    sum += Math.exp(v2 - m);
  }
  let mine = -100000;
  if (mask[r * T + t] != 0) {
    mine = s[(r * T + t) * heads + k];
  }
  return Math.exp(mine - m) / sum;
}`,
  args: { s: 'Array', mask: 'Array', T: 'Integer', heads: 'Integer' },
};

/** Attention output. output [heads·H, R]: out[r, k·H + j] = Σ_t a[r, k, t] · h[r, t, j]. */
const bAttnOut: KernelSource = {
  source: `function bAttnOut(a, h, T, H, heads) {
  const cc = this.thread.x;
  const r = this.thread.y;
  const k = Math.floor(cc / H);
  const j = cc - k * H;
  let s = 0;
  for (let t = 0; t < T; t++) {
    s += a[(r * heads + k) * T + t] * h[(r * T + t) * H + j];
  }
  return s;
}`,
  args: { a: 'Array', h: 'Array', T: 'Integer', H: 'Integer', heads: 'Integer' },
};

/** Gradient of the attention weights. output [T, heads, R]: ga[r, k, t] = Σ_j gOut[r, k·H + j] · h[r, t, j]. */
const bAttnGradA: KernelSource = {
  source: `function bAttnGradA(gOut, h, T, H, heads) {
  const t = this.thread.x;
  const k = this.thread.y;
  const r = this.thread.z;
  let s = 0;
  for (let j = 0; j < H; j++) {
    s += gOut[(r * heads + k) * H + j] * h[(r * T + t) * H + j];
  }
  return s;
}`,
  args: { gOut: 'Array', h: 'Array', T: 'Integer', H: 'Integer', heads: 'Integer' },
};

/**
 * Score gradient through the softmax. output [heads, T, R]:
 * gs[r, t, k] = mask[r, t] ≠ 0 ? a[r,k,t] · (ga[r,k,t] − Σ_q a[r,k,q] · ga[r,k,q]) : 0.
 */
const bAttnGradScores: KernelSource = {
  source: `function bAttnGradScores(ga, a, mask, T, heads) {
  const k = this.thread.x;
  const t = this.thread.y;
  const r = this.thread.z;
  if (mask[r * T + t] == 0) {
    return 0;
  }
  const base = (r * heads + k) * T;
  let dot = 0;
  for (let q = 0; q < T; q++) {
    dot += a[base + q] * ga[base + q];
  }
  return a[base + t] * (ga[base + t] - dot);
}`,
  args: { ga: 'Array', a: 'Array', mask: 'Array', T: 'Integer', heads: 'Integer' },
};

/** Gradient of the attention's input. output [H, T, R]: gh[r, t, j] = proj[r, t, j] + Σ_k a[r, k, t] · gOut[r, k·H + j]. */
const bAttnGradH: KernelSource = {
  source: `function bAttnGradH(a, gOut, proj, T, H, heads) {
  const j = this.thread.x;
  const t = this.thread.y;
  const r = this.thread.z;
  let s = proj[(r * T + t) * H + j];
  for (let k = 0; k < heads; k++) {
    s += a[(r * heads + k) * T + t] * gOut[(r * heads + k) * H + j];
  }
  return s;
}`,
  args: { a: 'Array', gOut: 'Array', proj: 'Array', T: 'Integer', H: 'Integer', heads: 'Integer' },
};

/**
 * FedRS's restricted logits, per client scale[c, N] (1 for a class the client holds, α for the others; a scaled
 * class's bias is dropped). output [N, R]: z[r, n] = scale[c, n] · Σ_k w[c, n, k] · x[r, k] + (scale[c, n] = 1 ? bias[c, n] : 0).
 */
const bScaledLogits: KernelSource = {
  source: `function bScaledLogits(x, w, bias, scale, K, N, S) {
  const n = this.thread.x;
  const r = this.thread.y;
  const c = Math.floor(r / S);
  let s = 0;
  for (let k = 0; k < K; k++) {
    s += w[(c * N + n) * K + k] * x[r * K + k];
  }
  const sc = scale[c * N + n];
  s = s * sc;
  if (sc == 1) {
    s += bias[c * N + n];
  }
  return s;
}`,
  args: { x: 'Array', w: 'Array', bias: 'Array', scale: 'Array', K: 'Integer', N: 'Integer', S: 'Integer' },
};

/**
 * The logits' gradient through bScaledLogits. output [N, R]: toBias 0: g[r, n] · scale[c, n] (the product's
 * gradient); toBias 1: g[r, n] where scale[c, n] = 1, else 0 (the bias's).
 */
const bScaledLogitsGrad: KernelSource = {
  source: `function bScaledLogitsGrad(g, scale, N, S, toBias) {
  const n = this.thread.x;
  const r = this.thread.y;
  const sc = scale[Math.floor(r / S) * N + n];
  if (toBias == 1) {
    if (sc == 1) {
      return g[r * N + n];
    }
    return 0;
  }
  return g[r * N + n] * sc;
}`,
  args: { g: 'Array', scale: 'Array', N: 'Integer', S: 'Integer', toBias: 'Integer' },
};

/** Cross-entropy gradient. output [N, R]: g[r, n] = (softmax(x[r])[n] − [n = label[r]]) · rowScale[r]. */
const bCrossEntropyGrad: KernelSource = {
  source: `function bCrossEntropyGrad(x, labels, rowScale, N) {
  const n = this.thread.x;
  const r = this.thread.y;
  let m = x[r * N];
  for (let i = 1; i < N; i++) {
    m = Math.max(m, x[r * N + i]);
  }
  let sum = 0;
  for (let q = 0; q < N; q++) {
    sum += Math.exp(x[r * N + q] - m);
  }
  let p = Math.exp(x[r * N + n] - m) / sum;
  if (labels[r] == n) {
    p = p - 1;
  }
  return p * rowScale[r];
}`,
  args: { x: 'Array', labels: 'Array', rowScale: 'Array', N: 'Integer' },
};

/**
 * Each client's summed loss so far. output [C]:
 * out[c] = acc[c] + Σ_{b<S, rowScale > 0} (log Σ_n exp x[r, n] − x[r, label[r]]).
 */
const bClientLoss: KernelSource = {
  source: `function bClientLoss(x, labels, rowScale, acc, S, N) {
  const c = this.thread.x;
  let total = acc[c];
  for (let b = 0; b < S; b++) {
    const r = c * S + b;
    if (rowScale[r] > 0) {
      let m = x[r * N];
      for (let i = 1; i < N; i++) {
        m = Math.max(m, x[r * N + i]);
      }
      let sum = 0;
      let picked = 0;
      for (let q = 0; q < N; q++) {
        sum += Math.exp(x[r * N + q] - m);
        if (q == labels[r]) {
          picked = x[r * N + q];
        }
      }
      total += Math.log(sum) + m - picked;
    }
  }
  return total;
}`,
  args: { x: 'Array', labels: 'Array', rowScale: 'Array', acc: 'Array', S: 'Integer', N: 'Integer' },
};

/**
 * Per-client partial sums of squares of x[c, ·] (or of x[c, ·] − global[off + ·] when hasRef), over chunks of
 * `chunk`. output [ceil(size / chunk), C].
 */
const bClientSumSq: KernelSource = {
  source: `function bClientSumSq(x, ref, off, size, chunk, hasRef) {
  const part = this.thread.x;
  const c = this.thread.y;
  let s = 0;
  for (let i = 0; i < chunk; i++) {
    const idx = part * chunk + i;
    if (idx < size) {
      let v = x[c * size + idx];
      if (hasRef == 1) {
        v = v - ref[off + idx];
      }
      s += v * v;
    }
  }
  return s;
}`,
  args: { x: 'Array', ref: 'Array', off: 'Integer', size: 'Integer', chunk: 'Integer', hasRef: 'Integer' },
};

/** out[c] = acc[c] + Σ_{p<parts} partial[c·parts + p]. output [C]. */
const bAddPartials: KernelSource = {
  source: `function bAddPartials(partial, acc, parts) {
  const c = this.thread.x;
  let s = acc[c];
  for (let p = 0; p < parts; p++) {
    s += partial[c * parts + p];
  }
  return s;
}`,
  args: { partial: 'Array', acc: 'Array', parts: 'Integer' },
};

/**
 * The gradient one client's SGD step uses, as the CPU path forms it: clip to global norm maxNorm (coefficient
 * maxNorm / (√normSq[c] + 1e-6) when below 1; maxNorm 0 = no clipping), plus FedProx's mu·(w − w_global), plus
 * weight decay wd·w. Shared by the two SGD kernels (gpu.js takes one function per kernel: the expression is
 * repeated there).
 */
const SGD_GRAD = `
  let coef = 1;
  if (maxNorm > 0) {
    const q = maxNorm / (Math.sqrt(normSq[c]) + 0.000001);
    if (q < 1) {
      coef = q;
    }
  }
  const w = param[c * size + i];
  const d = grad[c * size + i] * coef + mu * (w - origin[off + i]) + wd * w;`;

/**
 * SGD momentum buffer per client. output [size, C]: buf' = hasBuf ? momentum·buf + d : d (dampening 0), d from
 * SGD_GRAD; a client idle at this step (active[c] = 0) keeps buf.
 */
const bSgdBuf: KernelSource = {
  source: `function bSgdBuf(param, grad, buf, normSq, active, origin, off, size, wd, momentum, hasBuf, maxNorm, mu) {
  const i = this.thread.x;
  const c = this.thread.y;
  if (active[c] == 0) {
    return buf[c * size + i];
  }${SGD_GRAD}
  if (hasBuf == 1) {
    return momentum * buf[c * size + i] + d;
  }
  return d;
}`,
  args: { param: 'Array', grad: 'Array', buf: 'Array', normSq: 'Array', active: 'Array', origin: 'Array', off: 'Integer',
    size: 'Integer', wd: 'Float', momentum: 'Float', hasBuf: 'Integer', maxNorm: 'Float', mu: 'Float' },
};

/** SGD parameter update per client. output [size, C]: w' = w − lr·(useBuf ? buf'[c, i] : d); idle clients keep w. */
const bSgdParam: KernelSource = {
  source: `function bSgdParam(param, grad, buf, normSq, active, origin, off, size, lr, wd, useBuf, maxNorm, mu) {
  const i = this.thread.x;
  const c = this.thread.y;
  if (active[c] == 0) {
    return param[c * size + i];
  }${SGD_GRAD}
  if (useBuf == 1) {
    return w - lr * buf[c * size + i];
  }
  return w - lr * d;
}`,
  args: { param: 'Array', grad: 'Array', buf: 'Array', normSq: 'Array', active: 'Array', origin: 'Array', off: 'Integer',
    size: 'Integer', lr: 'Float', wd: 'Float', useBuf: 'Integer', maxNorm: 'Float', mu: 'Float' },
};

/**
 * The chunk's weighted fold, in client order with Kahan-compensated float32 summation. output [size]:
 * out[i] = Σ_{c<C, weights[c] ≠ 0} weights[c] · (param[c, i] − origin[off + i]) (a zero weight skips the client
 * entirely, so a refused client's non-finite values never enter).
 */
const bFold: KernelSource = {
  source: `function bFold(param, origin, weights, off, size, C) {
  const i = this.thread.x;
  const g = origin[off + i];
  let s = 0;
  let comp = 0;
  for (let c = 0; c < C; c++) {
    const wc = weights[c];
    if (wc != 0) {
      const y = wc * (param[c * size + i] - g) - comp;
      const t = s + y;
      comp = (t - s) - y;
      s = t;
    }
  }
  return s;
}`,
  args: { param: 'Array', origin: 'Array', weights: 'Array', off: 'Integer', size: 'Integer', C: 'Integer' },
};

export const BATCHED_KERNEL_SOURCES = {
  bTile, bConvForward, bPoolForward, bPoolBackward, bConvGradInput, bConvGradWeight, bClientSum, bClientLinear,
  bClientGradInput, bClientOuter, bConcatRows, bGruBackStep, bAttnInput, bAttnSoftmax, bAttnOut, bAttnGradA,
  bAttnGradScores, bAttnGradH, bScaledLogits, bScaledLogitsGrad, bCrossEntropyGrad, bClientLoss, bClientSumSq, bAddPartials, bSgdBuf, bSgdParam, bFold,
} as const;
