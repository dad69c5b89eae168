// The operations the gpu backend offers, each a short orchestration of gpu.js kernels on one Device.
//
// Float32Array in, Float32Array out: the sync facade (gpu-backend.ts) sends the inputs over, these run the
// kernels, and the named outputs travel back. Within an operation intermediates stay on the device as
// resident results (pipeline handles): the GRU's input projection and hidden state across all steps, the
// momentum/moment buffers feeding the parameter update, the max-pool argmax feeding the gather. What is read
// back is what the fixed Kernels interface hands to the caller in host memory — plus, in the GRU backward,
// the per-step gate gradients (see gruBackward).
import type { Device, DeviceValue, KernelArg } from './device.js';
import { trainChunk } from './batched-train.js';

export interface GemmRequest {
  transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number;
  a: Float32Array; b: Float32Array; beta: number; c: Float32Array;
}
export interface BatchedGemmRequest {
  batch: number; transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number;
  a: Float32Array; b: Float32Array;
}
export interface Conv1dShape {
  B: number; Cin: number; L: number; Cout: number; K: number; stride: number; padding: number; Lout: number;
}
export interface Conv1dForwardRequest { x: Float32Array; w: Float32Array; bias: Float32Array | null; d: Conv1dShape }
export interface Conv1dBackwardRequest {
  x: Float32Array; w: Float32Array; gOut: Float32Array; wantGx: boolean; wantGw: boolean; wantGBias: boolean; d: Conv1dShape;
}
export interface MaxPoolForwardRequest { x: Float32Array; rows: number; L: number; kernel: number; stride: number }
export interface MaxPoolBackwardRequest { gOut: Float32Array; argmax: Int32Array; rows: number; L: number; Lout: number }
export interface GruShape { B: number; T: number; I: number; H: number }
export interface GruForwardRequest {
  x: Float32Array; lengths: Int32Array | null; h0: Float32Array | null; wIh: Float32Array; wHh: Float32Array;
  bIh: Float32Array | null; bHh: Float32Array | null; d: GruShape;
}
export interface GruBackwardRequest {
  x: Float32Array; lengths: Int32Array | null; h0: Float32Array | null; wIh: Float32Array; wHh: Float32Array;
  out: Float32Array; saved: Float32Array; gOut: Float32Array | null; ghN: Float32Array | null;
  want: { gx: boolean; gh0: boolean; gWih: boolean; gWhh: boolean; gbIh: boolean; gbHh: boolean }; d: GruShape;
}
export interface SgdRequest {
  param: Float32Array; grad: Float32Array; momentumBuf: Float32Array | null;
  lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; hasMomentumBuffer: boolean;
}
export interface AdamRequest {
  param: Float32Array; grad: Float32Array; expAvg: Float32Array; expAvgSq: Float32Array;
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupledWeightDecay: boolean; step: number;
}
export interface AccumulateRequest { updates: Float32Array; weights: Float32Array; clients: number; P: number; beta: number; acc: Float32Array | null }
export interface MaskedSoftmaxRequest { x: Float32Array; mask: Float32Array; R: number; C: number }
export interface AxpbyRequest { x: Float32Array; y: Float32Array; alpha: number; beta: number }
export interface SumSquaresRequest { x: Float32Array }

export type Outputs = Record<string, Float32Array | Int32Array | number>;

/** Strides of op(a)[M,K] and op(b)[K,N] as gemm's (sai, sak) and (sbk, sbj). */
function gemmStrides(transA: boolean, transB: boolean, M: number, N: number, K: number): [number, number, number, number] {
  return [transA ? 1 : K, transA ? M : 1, transB ? 1 : N, transB ? K : 1];
}

/** c[M,N] = alpha·op(a)·op(b) + beta·c: one dispatch over M·N threads. */
export async function gemm(dev: Device, r: GemmRequest): Promise<Outputs> {
  const { transA, transB, M, N, K, alpha, beta } = r;
  const c = new Float32Array(M * N);
  if (M === 0 || N === 0) return { c };
  if (K === 0) {
    if (beta !== 0) for (let i = 0; i < M * N; i++) c[i] = beta * r.c[i];
    return { c };
  }
  const [sai, sak, sbk, sbj] = gemmStrides(transA, transB, M, N, K);
  if (beta === 0) {
    await dev.runRead('gemm', [N, M, 1], [r.a, r.b, 0, 0, sai, sak, 0, 0, sbk, sbj, K, alpha], c);
  } else {
    await dev.runRead('gemmAcc', [N, M, 1],
      [r.a, r.b, r.c, 0, 0, sai, sak, 0, 0, sbk, sbj, 0, 0, N, 1, K, alpha, beta], c);
  }
  return { c };
}

/** c[batch,M,N] = alpha·op(a[z])·op(b[z]) for every z, all batch GEMMs in one dispatch (3-D grid). */
export async function batchedGemm(dev: Device, r: BatchedGemmRequest): Promise<Outputs> {
  const { batch, transA, transB, M, N, K, alpha } = r;
  const c = new Float32Array(batch * M * N);
  if (batch === 0 || M === 0 || N === 0 || K === 0) return { c };
  const [sai, sak, sbk, sbj] = gemmStrides(transA, transB, M, N, K);
  await dev.runRead('gemm', [N, M, batch], [r.a, r.b, 0, M * K, sai, sak, 0, K * N, sbk, sbj, K, alpha], c);
  return { c };
}

/**
 * acc[P] = Σ_c weights[c]·updates[c, :] + beta·acc: the weighted accumulation of `clients` stacked client
 * updates [clients, P], every client in one dispatch (a [1, clients]·[clients, P] GEMM).
 */
export async function weightedAccumulate(dev: Device, r: AccumulateRequest): Promise<Outputs> {
  const { clients, P, beta } = r;
  const acc = new Float32Array(P);
  if (P === 0) return { acc };
  if (clients === 0) {
    if (beta !== 0 && r.acc) for (let i = 0; i < P; i++) acc[i] = beta * r.acc[i];
    return { acc };
  }
  if (beta === 0 || !r.acc) {
    await dev.runRead('gemm', [P, 1, 1], [r.weights, r.updates, 0, 0, 0, 1, 0, 0, P, 1, clients, 1], acc);
  } else {
    await dev.runRead('gemmAcc', [P, 1, 1],
      [r.weights, r.updates, r.acc, 0, 0, 0, 1, 0, 0, P, 1, 0, 0, 0, 1, clients, 1, beta], acc);
  }
  return { acc };
}

export async function conv1dForward(dev: Device, r: Conv1dForwardRequest): Promise<Outputs> {
  const { B, Cin, L, Cout, K, stride, padding, Lout } = r.d;
  const out = new Float32Array(B * Cout * Lout);
  if (out.length === 0) return { out };
  const bias = r.bias ?? new Float32Array(Cout);
  await dev.runRead('conv1dForward', [Lout, Cout, B], [r.x, r.w, bias, Cin, L, K, stride, padding], out);
  return { out };
}

/** gx, gw and gBias of conv1d; gOut is uploaded once and shared by the three kernels. */
export async function conv1dBackward(dev: Device, r: Conv1dBackwardRequest): Promise<Outputs> {
  const { B, Cin, L, Cout, K, stride, padding, Lout } = r.d;
  const outputs: Outputs = {};
  const g = await dev.run('upload', [Math.max(1, B * Cout * Lout)], [r.gOut.length > 0 ? r.gOut : new Float32Array(1)]);
  try {
    if (r.wantGx) {
      const gx = new Float32Array(B * Cin * L);
      if (gx.length > 0 && Lout > 0) {
        await dev.runRead('conv1dGradInput', [L, Cin, B], [g, r.w, Cin, Cout, K, Lout, stride, padding], gx);
      }
      outputs.gx = gx;
    }
    if (r.wantGw) {
      const gw = new Float32Array(Cout * Cin * K);
      if (gw.length > 0 && B * Lout > 0) {
        await dev.runRead('conv1dGradWeight', [K, Cin, Cout], [r.x, g, B, Cin, Cout, L, Lout, stride, padding], gw);
      }
      outputs.gw = gw;
    }
    if (r.wantGBias) {
      const gBias = new Float32Array(Cout);
      if (Cout > 0 && B * Lout > 0) {
        await dev.runRead('sumAxes', [Cout], [g, B, Cout * Lout, Lout, Lout, 1], gBias);
      }
      outputs.gBias = gBias;
    }
  } finally {
    dev.release(g);
  }
  return outputs;
}

/** out[rows,Lout] and argmax[rows,Lout]: the argmax kernel's result stays resident for the value gather. */
export async function maxPoolForward(dev: Device, r: MaxPoolForwardRequest): Promise<Outputs> {
  const { rows, L, kernel, stride } = r;
  const Lout = Math.floor((L - kernel) / stride) + 1;
  const out = new Float32Array(rows * Lout);
  const argmax = new Int32Array(rows * Lout);
  if (out.length === 0) return { out, argmax };
  const idx = await dev.run('maxPoolArgmax', [Lout, rows], [r.x, L, kernel, stride]);
  try {
    await dev.runRead('gatherRows', [Lout, rows], [r.x, idx, L, Lout], out);
    const idxHost = await dev.read(idx, rows * Lout);
    for (let i = 0; i < idxHost.length; i++) argmax[i] = idxHost[i];
  } finally {
    dev.release(idx);
  }
  return { out, argmax };
}

export async function maxPoolBackward(dev: Device, r: MaxPoolBackwardRequest): Promise<Outputs> {
  const { rows, L, Lout } = r;
  const gx = new Float32Array(rows * L);
  if (gx.length === 0 || Lout === 0) return { gx };
  const idx = Float32Array.from(r.argmax);
  await dev.runRead('maxPoolBackward', [L, rows], [r.gOut, idx, Lout], gx);
  return { gx };
}

function lengthsOf(lengths: Int32Array | null, B: number, T: number): Float32Array {
  const f = new Float32Array(B);
  for (let b = 0; b < B; b++) f[b] = lengths ? lengths[b] : T;
  return f;
}

/**
 * GRU forward. The input projection gi = x·W_ihᵀ + b_ih is one GEMM over all B·T rows and stays resident;
 * each step is two dispatches, gh = h·W_hhᵀ + b_hh and the fused gate kernel, whose [B,5H] state feeds the
 * next step on the device (h' is a column slice of it). Each step's state is also read back (asynchronously,
 * overlapping the following steps) because out and saved are outputs the interface wants in host memory.
 */
export async function gruForward(dev: Device, r: GruForwardRequest): Promise<Outputs> {
  const { B, T, I, H } = r.d;
  const G = 3 * H;
  const S = 5 * H;
  const out = new Float32Array(B * T * H);
  const saved = new Float32Array(B * T * 4 * H);
  const hN = new Float32Array(B * H);
  if (r.h0) hN.set(r.h0.subarray(0, B * H));
  if (B === 0 || T === 0 || H === 0) return { out, hN, saved };

  const lengths = lengthsOf(r.lengths, B, T);
  const held: DeviceValue[] = [];
  const reads: Promise<Float32Array>[] = [];
  try {
    const gi = await dev.run('gemmBias', [G, B * T], [r.x, r.wIh, r.bIh ?? new Float32Array(G), 0, I, 1, 1, I, I]);
    held.push(gi);
    // W_hh, b_hh and the lengths are read by every step: uploaded once.
    const wHh = await dev.run('upload', [G * H], [r.wHh]);
    held.push(wHh);
    const bHh = await dev.run('upload', [G], [r.bHh ?? new Float32Array(G)]);
    held.push(bHh);
    const lengthsDev = await dev.run('upload', [B], [lengths]);
    held.push(lengthsDev);
    let h: KernelArg = hN.slice();
    let hOff = 0;
    let hStride = H;
    for (let t = 0; t < T; t++) {
      const gh = await dev.run('gemmBias', [G, B], [h, wHh, bHh, hOff, hStride, 1, 1, H, H]);
      held.push(gh);
      const state = await dev.run('gruGates', [S, B], [gi, gh, h, lengthsDev, hOff, hStride, t, T, H]);
      held.push(state);
      reads.push(dev.read(state, B * S));
      h = state;
      hOff = 4 * H;
      hStride = S;
    }
    const states = await Promise.all(reads);
    for (let t = 0; t < T; t++) {
      const st = states[t];
      for (let b = 0; b < B; b++) {
        if (t >= lengths[b]) continue;
        const row = b * S;
        saved.set(st.subarray(row, row + 4 * H), (b * T + t) * 4 * H);
        out.set(st.subarray(row + 4 * H, row + S), (b * T + t) * H);
      }
    }
    const last = states[T - 1];
    for (let b = 0; b < B; b++) hN.set(last.subarray(b * S + 4 * H, (b + 1) * S), b * H);
  } finally {
    for (const v of held) dev.release(v);
  }
  return { out, hN, saved };
}

/**
 * GRU backward through time. saved, out and gOut are uploaded once; each step is the fused step kernel
 * ([B,7H]: input-projection gate gradients | hidden-projection gate gradients | g⊙z) and one GEMM that
 * carries dh to the previous step (dh ← dGh·W_hh + g⊙z, on the device). The per-step gate gradients are read
 * back asynchronously and laid out as [B·T, 3H] on the host: gpu.js gives every kernel call a fresh output
 * buffer and has no way to write a step's rows into a shared [B,T,3H] buffer, so the sequence is assembled
 * there and uploaded once for the weight/input-gradient GEMMs after the loop.
 */
export async function gruBackward(dev: Device, r: GruBackwardRequest): Promise<Outputs> {
  const { B, T, I, H } = r.d;
  const G = 3 * H;
  const S = 7 * H;
  const w = r.want;
  const outputs: Outputs = {};
  const gh0 = new Float32Array(B * H);
  if (r.ghN) gh0.set(r.ghN.subarray(0, B * H));
  const needInput = w.gx || w.gWih || w.gbIh;
  const needHidden = w.gWhh || w.gbHh;
  const dGi = new Float32Array(needInput ? B * T * G : 0);
  const dGh = new Float32Array(needHidden ? B * T * G : 0);

  const held: DeviceValue[] = [];
  try {
    if (B > 0 && T > 0 && H > 0) {
      const lengths = lengthsOf(r.lengths, B, T);
      const saved = await dev.run('upload', [B * T * 4 * H], [r.saved]);
      held.push(saved);
      const out = await dev.run('upload', [B * T * H], [r.out]);
      held.push(out);
      const gOut = r.gOut ? await dev.run('upload', [B * T * H], [r.gOut]) : new Float32Array(1);
      if (r.gOut) held.push(gOut);
      const h0 = await dev.run('upload', [B * H], [r.h0 ? r.h0.subarray(0, B * H) : new Float32Array(B * H)]);
      held.push(h0);
      const wHh = await dev.run('upload', [G * H], [r.wHh]);
      held.push(wHh);
      const lengthsDev = await dev.run('upload', [B], [lengths]);
      held.push(lengthsDev);
      let dh: KernelArg = gh0.slice();
      const reads: Promise<Float32Array>[] = [];
      const steps: number[] = [];
      for (let t = T - 1; t >= 0; t--) {
        const step = await dev.run('gruBackwardStep', [S, B], [dh, gOut, saved, out, h0, lengthsDev, r.gOut ? 1 : 0, t, T, H]);
        held.push(step);
        dh = await dev.run('gemmAcc', [H, B, 1],
          [step, wHh, step, 3 * H, 0, S, 1, 0, 0, H, 1, 6 * H, 0, S, 1, G, 1, 1]);
        held.push(dh);
        if (needInput || needHidden) {
          reads.push(dev.read(step, B * S));
          steps.push(t);
        }
      }
      await dev.read(dh, B * H, gh0);
      const stepData = await Promise.all(reads);
      for (let s = 0; s < steps.length; s++) {
        const t = steps[s];
        const st = stepData[s];
        for (let b = 0; b < B; b++) {
          const row = (b * T + t) * G;
          if (needInput) dGi.set(st.subarray(b * S, b * S + G), row);
          if (needHidden) dGh.set(st.subarray(b * S + G, b * S + 2 * G), row);
        }
      }
    }
    if (w.gh0) outputs.gh0 = gh0;
    const rows = B * T;
    if (needInput) {
      const dGiDev = rows * G > 0 ? await dev.run('upload', [rows * G], [dGi]) : null;
      if (dGiDev) held.push(dGiDev);
      if (w.gx) {
        const gx = new Float32Array(rows * I);
        // gx[B·T, I] = dGi[B·T, 3H] · W_ih[3H, I]
        if (dGiDev && I > 0) await dev.runRead('gemm', [I, rows, 1], [dGiDev, r.wIh, 0, 0, G, 1, 0, 0, I, 1, G, 1], gx);
        outputs.gx = gx;
      }
      if (w.gWih) {
        const gWih = new Float32Array(G * I);
        // gW_ih[3H, I] = dGiᵀ · x[B·T, I]
        if (dGiDev && I > 0) await dev.runRead('gemm', [I, G, 1], [dGiDev, r.x, 0, 0, 1, G, 0, 0, I, 1, rows, 1], gWih);
        outputs.gWih = gWih;
      }
      if (w.gbIh) {
        const gbIh = new Float32Array(G);
        if (dGiDev) await dev.runRead('sumAxes', [G], [dGiDev, rows, G, 1, 1, 0], gbIh);
        outputs.gbIh = gbIh;
      }
    }
    if (needHidden) {
      const dGhDev = rows * G > 0 ? await dev.run('upload', [rows * G], [dGh]) : null;
      if (dGhDev) held.push(dGhDev);
      if (w.gWhh) {
        const gWhh = new Float32Array(G * H);
        if (dGhDev) {
          // hPrev[B·T, H]: the state each step started from (h0 or zeros at t = 0, the previous output after).
          const hPrev = new Float32Array(rows * H);
          for (let b = 0; b < B; b++) {
            const base = b * T * H;
            if (r.h0) hPrev.set(r.h0.subarray(b * H, (b + 1) * H), base);
            if (T > 1) hPrev.set(r.out.subarray(base, base + (T - 1) * H), base + H);
          }
          // gW_hh[3H, H] = dGhᵀ · hPrev
          await dev.runRead('gemm', [H, G, 1], [dGhDev, hPrev, 0, 0, 1, G, 0, 0, H, 1, rows, 1], gWhh);
        }
        outputs.gWhh = gWhh;
      }
      if (w.gbHh) {
        const gbHh = new Float32Array(G);
        if (dGhDev) await dev.runRead('sumAxes', [G], [dGhDev, rows, G, 1, 1, 0], gbHh);
        outputs.gbHh = gbHh;
      }
    }
  } finally {
    for (const v of held) dev.release(v);
  }
  return outputs;
}

/** PyTorch SGD: the new momentum buffer stays resident for the parameter kernel; both are read back. */
export async function sgdStep(dev: Device, r: SgdRequest): Promise<Outputs> {
  const n = r.param.length;
  const param = new Float32Array(n);
  if (n === 0) return r.momentum !== 0 ? { param, momentumBuf: new Float32Array(0) } : { param };
  if (r.momentum === 0) {
    await dev.runRead('sgdParam', [n], [r.param, r.grad, r.grad, r.lr, r.weightDecay, 0, 0, 0], param);
    return { param };
  }
  if (!r.momentumBuf) throw new Error('sgdStep: momentum needs a momentum buffer');
  const buf = await dev.run('sgdMomentum', [n],
    [r.param, r.grad, r.momentumBuf, r.weightDecay, r.momentum, r.dampening, r.hasMomentumBuffer ? 1 : 0]);
  try {
    await dev.runRead('sgdParam', [n], [r.param, r.grad, buf, r.lr, r.weightDecay, r.momentum, 1, r.nesterov ? 1 : 0], param);
    const momentumBuf = await dev.read(buf, n);
    return { param, momentumBuf };
  } finally {
    dev.release(buf);
  }
}

/** PyTorch Adam / AdamW: param and grad uploaded once; both moments stay resident for the parameter kernel. */
export async function adamStep(dev: Device, r: AdamRequest): Promise<Outputs> {
  const n = r.param.length;
  const param = new Float32Array(n);
  if (n === 0) return { param, expAvg: new Float32Array(0), expAvgSq: new Float32Array(0) };
  const stepSize = r.lr / (1 - Math.pow(r.beta1, r.step));
  const sqrtBc2 = Math.sqrt(1 - Math.pow(r.beta2, r.step));
  const decay = r.decoupledWeightDecay ? 1 - r.lr * r.weightDecay : 1;
  const l2 = r.decoupledWeightDecay ? 0 : r.weightDecay;
  const held: DeviceValue[] = [];
  try {
    const p = await dev.run('upload', [n], [r.param]);
    held.push(p);
    const g = await dev.run('upload', [n], [r.grad]);
    held.push(g);
    const m = await dev.run('adamMoment', [n], [p, g, r.expAvg, l2, r.beta1, 1]);
    held.push(m);
    const v = await dev.run('adamMoment', [n], [p, g, r.expAvgSq, l2, r.beta2, 2]);
    held.push(v);
    await dev.runRead('adamParam', [n], [p, m, v, decay, stepSize, sqrtBc2, r.eps], param);
    const [expAvg, expAvgSq] = await Promise.all([dev.read(m, n), dev.read(v, n)]);
    return { param, expAvg, expAvgSq };
  } finally {
    for (const h of held) dev.release(h);
  }
}

export async function maskedSoftmax(dev: Device, r: MaskedSoftmaxRequest): Promise<Outputs> {
  const out = new Float32Array(r.R * r.C);
  if (out.length === 0) return { out };
  await dev.runRead('maskedSoftmax', [r.C, r.R], [r.x, r.mask, r.C], out);
  return { out };
}

export async function axpby(dev: Device, r: AxpbyRequest): Promise<Outputs> {
  const out = new Float32Array(r.x.length);
  if (out.length === 0) return { out };
  await dev.runRead('axpby', [out.length], [r.x, r.y, r.alpha, r.beta], out);
  return { out };
}

/** Σ x², as partial sums over chunks of SUM_CHUNK on the device, added on the host in float64. */
export const SUM_CHUNK = 1024;
export async function sumSquares(dev: Device, r: SumSquaresRequest): Promise<Outputs> {
  const n = r.x.length;
  if (n === 0) return { value: 0 };
  const parts = await dev.runRead('sumSquaresPartial', [Math.ceil(n / SUM_CHUNK)], [r.x, n, SUM_CHUNK]);
  let s = 0;
  for (const v of parts) s += v;
  return { value: s };
}

export const OPS = {
  trainChunk,
  gemm, batchedGemm, weightedAccumulate, conv1dForward, conv1dBackward, maxPoolForward, maxPoolBackward,
  gruForward, gruBackward, sgdStep, adamStep, maskedSoftmax, axpby, sumSquares,
} as const;

export type OpName = keyof typeof OPS;
