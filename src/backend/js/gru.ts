// Reference GRU kernels: one layer, PyTorch's equations, gate order (r, z, n), batch first, packed lengths.
//
// The input projection of every time step is one GEMM over [B·T, I]; the recurrence then runs step by step
// with one [B,H]·W_hhᵀ GEMM per step. The backward collects the per-step gate gradients and turns them into
// the weight and input gradients with a few large GEMMs after the time loop.
import type { FloatArray, GruDims } from '../kernels.js';
import { gemm } from './gemm.js';

type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

function scratch(like: FloatArray, n: number): FloatArray {
  return new (like.constructor as FloatArrayConstructor)(n);
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** m[rows, cols] += bias[cols] broadcast over the rows. */
function addRowBias(m: FloatArray, rows: number, cols: number, bias: FloatArray): void {
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) m[row + j] += bias[j];
  }
}

/** Valid steps of sample b: lengths[b], or all T when lengths is null. */
function lengthOf(lengths: Int32Array | null, b: number, T: number): number {
  return lengths ? lengths[b] : T;
}

/** src[rows, cols] → sums[cols], the sum over rows (overwrites sums). */
function columnSums(src: FloatArray, rows: number, cols: number, sums: FloatArray): void {
  sums.fill(0, 0, cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) sums[j] += src[row + j];
  }
}

/**
 * x[B,T,I], lengths[B] | null, h0[B,H] | null, wIh[3H,I], wHh[3H,H], bIh[3H] | null, bHh[3H] | null →
 * out[B,T,H] (zeros at t ≥ length), hN[B,H], saved[B,T,4H] = (r, z, n, W_hn·h + b_hn) per valid step, zeros elsewhere
 * (saved null: forward only, nothing saved).
 */
export function gruForward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
  wIh: FloatArray, wHh: FloatArray, bIh: FloatArray | null, bHh: FloatArray | null,
  out: FloatArray, hN: FloatArray, saved: FloatArray | null, d: GruDims): void {
  const { B, T, I, H } = d;
  const G = 3 * H;
  const H2 = 2 * H;
  const S = 4 * H;

  // gi[B·T, 3H] = x · W_ihᵀ + b_ih for every step at once.
  const gi = scratch(x, B * T * G);
  gemm(false, true, B * T, G, I, 1, x, wIh, 0, gi);
  if (bIh) addRowBias(gi, B * T, G, bIh);

  // h[B,H]: the running hidden state; rows freeze once their sample's sequence has ended.
  const h = scratch(x, B * H);
  if (h0) h.set(h0.subarray(0, B * H));
  const gh = scratch(x, B * G);
  out.fill(0, 0, B * T * H);
  saved?.fill(0, 0, B * T * S);

  for (let t = 0; t < T; t++) {
    // gh[B,3H] = h · W_hhᵀ + b_hh
    gemm(false, true, B, G, H, 1, h, wHh, 0, gh);
    if (bHh) addRowBias(gh, B, G, bHh);
    for (let b = 0; b < B; b++) {
      if (t >= lengthOf(lengths, b, T)) continue;
      const giRow = (b * T + t) * G;
      const ghRow = b * G;
      const sRow = (b * T + t) * S;
      const oRow = (b * T + t) * H;
      const hRow = b * H;
      for (let j = 0; j < H; j++) {
        const hn = gh[ghRow + H2 + j];
        const r = sigmoid(gi[giRow + j] + gh[ghRow + j]);
        const z = sigmoid(gi[giRow + H + j] + gh[ghRow + H + j]);
        const n = Math.tanh(gi[giRow + H2 + j] + r * hn);
        const hNew = (1 - z) * n + z * h[hRow + j];
        h[hRow + j] = hNew;
        out[oRow + j] = hNew;
        if (!saved) continue;
        saved[sRow + j] = r;
        saved[sRow + H + j] = z;
        saved[sRow + H2 + j] = n;
        saved[sRow + 3 * H + j] = hn;
      }
    }
  }
  hN.set(h);
}

/**
 * Backward of gruForward. Inputs as there, plus out[B,T,H] and saved[B,T,4H] from the forward,
 * gOut[B,T,H] | null, ghN[B,H] | null → gx[B,T,I], gh0[B,H], gWih[3H,I], gWhh[3H,H], gbIh[3H], gbHh[3H]
 * (each null to skip; each written output is overwritten).
 */
export function gruBackward(x: FloatArray, lengths: Int32Array | null, h0: FloatArray | null,
  wIh: FloatArray, wHh: FloatArray, out: FloatArray, saved: FloatArray,
  gOut: FloatArray | null, ghN: FloatArray | null,
  gx: FloatArray | null, gh0: FloatArray | null, gWih: FloatArray | null, gWhh: FloatArray | null,
  gbIh: FloatArray | null, gbHh: FloatArray | null, d: GruDims): void {
  const { B, T, I, H } = d;
  const G = 3 * H;
  const H2 = 2 * H;
  const S = 4 * H;
  const needInput = gx !== null || gWih !== null || gbIh !== null;
  const needHidden = gWhh !== null || gbHh !== null;

  // dh[B,H]: gradient wrt the hidden state after the step being processed (starts as ghN).
  const dh = scratch(x, B * H);
  if (ghN) dh.set(ghN.subarray(0, B * H));
  // dGi[B,T,3H]: gradients wrt the input projections (a_r, a_z, a_n); dGh[B,T,3H]: wrt h·W_hhᵀ + b_hh.
  const dGi = needInput ? scratch(x, B * T * G) : null;
  const dGh = needHidden ? scratch(x, B * T * G) : null;
  // dGhStep[B,3H]: this step's dGh rows, contiguous for the GEMM that carries the gradient to h_{t−1}.
  const dGhStep = scratch(x, B * G);
  const dhPrev = scratch(x, B * H);

  for (let t = T - 1; t >= 0; t--) {
    dGhStep.fill(0);
    for (let b = 0; b < B; b++) {
      if (t >= lengthOf(lengths, b, T)) continue;
      const sRow = (b * T + t) * S;
      const oRow = (b * T + t) * H;
      const gRow = (b * T + t) * G;
      const stepRow = b * G;
      const hRow = b * H;
      // h_{t−1}: the previous output, or h0 (zeros when absent) at the first step.
      const prev = t > 0 ? out : h0;
      const prevRow = t > 0 ? oRow - H : hRow;
      for (let j = 0; j < H; j++) {
        const g = dh[hRow + j] + (gOut ? gOut[oRow + j] : 0);
        const r = saved[sRow + j];
        const z = saved[sRow + H + j];
        const n = saved[sRow + H2 + j];
        const hn = saved[sRow + 3 * H + j];
        const hp = prev ? prev[prevRow + j] : 0;
        const dAn = g * (1 - z) * (1 - n * n);
        const dAr = dAn * hn * r * (1 - r);
        const dAz = g * (hp - n) * z * (1 - z);
        const dHn = dAn * r;
        dh[hRow + j] = g * z;
        dGhStep[stepRow + j] = dAr;
        dGhStep[stepRow + H + j] = dAz;
        dGhStep[stepRow + H2 + j] = dHn;
        if (dGi) {
          dGi[gRow + j] = dAr;
          dGi[gRow + H + j] = dAz;
          dGi[gRow + H2 + j] = dAn;
        }
      }
      if (dGh) dGh.set(dGhStep.subarray(stepRow, stepRow + G), gRow);
    }
    // dh_{t−1} += dGhStep[B,3H] · W_hh[3H,H]; rows of finished samples are zero and leave dh unchanged.
    gemm(false, false, B, H, G, 1, dGhStep, wHh, 0, dhPrev);
    for (let i = 0; i < B * H; i++) dh[i] += dhPrev[i];
  }
  if (gh0) gh0.set(dh);

  if (dGi) {
    if (gx) gemm(false, false, B * T, I, G, 1, dGi, wIh, 0, gx);
    if (gWih) gemm(true, false, G, I, B * T, 1, dGi, x, 0, gWih);
    if (gbIh) columnSums(dGi, B * T, G, gbIh);
  }
  if (dGh) {
    if (gWhh) {
      // hPrev[B,T,H]: the state each step started from (h0 or zeros at t = 0, the previous output after).
      const hPrev = scratch(x, B * T * H);
      for (let b = 0; b < B; b++) {
        const base = b * T * H;
        if (h0 && T > 0) hPrev.set(h0.subarray(b * H, (b + 1) * H), base);
        if (T > 1) hPrev.set(out.subarray(base, base + (T - 1) * H), base + H);
      }
      gemm(true, false, G, H, B * T, 1, dGh, hPrev, 0, gWhh);
    }
    if (gbHh) columnSums(dGh, B * T, G, gbHh);
  }
}
