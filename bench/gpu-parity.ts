// Parity of every gpu.js kernel (through the gpu backend) with the TypeScript reference, on random small
// shapes with odd sizes. Shared by the vitest suite (test/gpu-parity.test.ts, gpu.js's cpu fallback) and the
// standalone device check (bench/gpu-check.ts, the real GPU), so both run exactly the same cases.
//
// The reference runs in float64 on the same float32 inputs, so each case measures the float32 error of the
// gpu path alone. Tolerance, elementwise: |gpu − ref| ≤ ATOL + RTOL·|ref| with ATOL = RTOL = 1e-4 (sums
// here run over at most ~100 terms of magnitude ≤ 1; float32 accumulation error stays near 1e-5). Integer
// outputs (max-pool argmax) must match exactly, ties included.
import type { Kernels } from '../src/backend/kernels.js';
import { jsKernels } from '../src/backend/js/index.js';
import { Rng } from '../src/random.js';
import type { GpuKernels } from '../kernels/gpu-backend.js';

export const ATOL = 1e-4;
export const RTOL = 1e-4;

export interface ParityResult {
  name: string;
  /** max over elements of |gpu − ref| / (ATOL + RTOL·|ref|); ≤ 1 passes. */
  worst: number;
  /** max |gpu − ref|. */
  maxAbs: number;
  ok: boolean;
}

type Arr = Float32Array | Float64Array | Int32Array;

function rand(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return a;
}

function f64(a: Float32Array | null): Float64Array | null {
  return a ? Float64Array.from(a) : null;
}

function compare(name: string, pairs: [Arr | null, Arr | null][]): ParityResult {
  let worst = 0;
  let maxAbs = 0;
  for (const [got, want] of pairs) {
    if (got === null || want === null) continue;
    if (got.length !== want.length) return { name, worst: Infinity, maxAbs: Infinity, ok: false };
    const exact = got instanceof Int32Array;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      const ratio = exact ? (d === 0 ? 0 : Infinity) : d / (ATOL + RTOL * Math.abs(want[i]));
      if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? Infinity : Math.max(worst, ratio);
      if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
    }
  }
  return { name, worst, maxAbs, ok: worst <= 1 };
}

function dim(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function gemmCases(k: Kernels, rng: Rng, out: ParityResult[]): void {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const beta of [0, 0.5]) {
        const M = dim(rng, 1, 19), N = dim(rng, 1, 19), K = dim(rng, 1, 23);
        const a = rand(rng, M * K), b = rand(rng, K * N), c0 = rand(rng, M * N);
        const c = c0.slice();
        k.gemm(transA, transB, M, N, K, 0.75, a, b, beta, c);
        const ref = Float64Array.from(c0);
        jsKernels.gemm(transA, transB, M, N, K, 0.75, f64(a)!, f64(b)!, beta, ref);
        out.push(compare(`gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K} beta=${beta}`, [[c, ref]]));
      }
    }
  }
}

function batchedGemmCase(k: GpuKernels, rng: Rng, out: ParityResult[]): void {
  const batch = 3, M = 5, N = 7, K = 9;
  const a = rand(rng, batch * M * K), b = rand(rng, batch * K * N);
  const c = new Float32Array(batch * M * N);
  k.batchedGemm(batch, true, false, M, N, K, 1.5, a, b, c);
  const ref = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const cz = new Float64Array(M * N);
    jsKernels.gemm(true, false, M, N, K, 1.5, f64(a.subarray(z * M * K, (z + 1) * M * K))!, f64(b.subarray(z * K * N, (z + 1) * K * N))!, 0, cz);
    ref.set(cz, z * M * N);
  }
  out.push(compare(`batchedGemm ${batch}×(${M}×${N}×${K}) TN`, [[c, ref]]));
}

const CONV_CONFIGS = [
  { B: 2, Cin: 3, L: 11, Cout: 4, K: 5, stride: 1, padding: 2, bias: true },
  { B: 3, Cin: 2, L: 13, Cout: 5, K: 3, stride: 2, padding: 1, bias: false },
  { B: 1, Cin: 4, L: 9, Cout: 3, K: 4, stride: 3, padding: 0, bias: true },
];

function convCases(k: Kernels, rng: Rng, out: ParityResult[]): void {
  for (const c of CONV_CONFIGS) {
    const Lout = Math.floor((c.L + 2 * c.padding - c.K) / c.stride) + 1;
    const d = { B: c.B, Cin: c.Cin, L: c.L, Cout: c.Cout, K: c.K, stride: c.stride, padding: c.padding, Lout };
    const label = `B${c.B} Cin${c.Cin} L${c.L} Cout${c.Cout} K${c.K} s${c.stride} p${c.padding}`;
    const x = rand(rng, c.B * c.Cin * c.L), w = rand(rng, c.Cout * c.Cin * c.K);
    const bias = c.bias ? rand(rng, c.Cout) : null;
    const y = new Float32Array(c.B * c.Cout * Lout);
    k.conv1dForward(x, w, bias, y, d);
    const yRef = new Float64Array(y.length);
    jsKernels.conv1dForward(f64(x)!, f64(w)!, f64(bias), yRef, d);
    out.push(compare(`conv1d forward ${label}${c.bias ? ' +bias' : ''}`, [[y, yRef]]));

    const g = rand(rng, y.length);
    const gx = new Float32Array(x.length), gw = new Float32Array(w.length), gb = new Float32Array(c.Cout);
    k.conv1dBackward(x, w, g, gx, gw, gb, d);
    const gxR = new Float64Array(x.length), gwR = new Float64Array(w.length), gbR = new Float64Array(c.Cout);
    jsKernels.conv1dBackward(f64(x)!, f64(w)!, f64(g)!, gxR, gwR, gbR, d);
    out.push(compare(`conv1d backward ${label} (gx, gw, gBias)`, [[gx, gxR], [gw, gwR], [gb, gbR]]));
  }
}

function maxPoolCases(k: Kernels, rng: Rng, out: ParityResult[]): void {
  for (const [rows, L, kernel, stride] of [[3, 11, 3, 2], [4, 10, 3, 1], [2, 9, 2, 3]]) {
    // Values on a coarse grid, so windows hold ties (first maximum wins).
    const x = new Float32Array(rows * L);
    for (let i = 0; i < x.length; i++) x[i] = rng.int(4) - 2;
    const Lout = Math.floor((L - kernel) / stride) + 1;
    const y = new Float32Array(rows * Lout), am = new Int32Array(rows * Lout);
    k.maxPool1dForward(x, y, am, rows, L, kernel, stride);
    const yR = new Float64Array(rows * Lout), amR = new Int32Array(rows * Lout);
    jsKernels.maxPool1dForward(f64(x)!, yR, amR, rows, L, kernel, stride);
    out.push(compare(`maxpool forward rows${rows} L${L} k${kernel} s${stride} (values, argmax with ties)`, [[y, yR], [am, amR]]));

    const g = rand(rng, rows * Lout);
    const gx = new Float32Array(rows * L);
    k.maxPool1dBackward(g, amR, gx, rows, L, Lout);
    const gxR = new Float64Array(rows * L);
    jsKernels.maxPool1dBackward(f64(g)!, amR, gxR, rows, L, Lout);
    out.push(compare(`maxpool backward rows${rows} L${L} k${kernel} s${stride} (colliding windows)`, [[gx, gxR]]));
  }
}

interface GruCase {
  B: number; T: number; I: number; H: number;
  lengths: number[] | null; h0: boolean; bias: boolean; gOut: boolean; ghN: boolean; all: boolean;
}

const GRU_CASES: GruCase[] = [
  { B: 4, T: 5, I: 3, H: 5, lengths: [5, 0, 3, 1], h0: true, bias: true, gOut: true, ghN: true, all: true },
  { B: 3, T: 4, I: 6, H: 3, lengths: null, h0: false, bias: false, gOut: true, ghN: false, all: true },
  { B: 2, T: 6, I: 2, H: 4, lengths: [2, 6], h0: true, bias: true, gOut: false, ghN: true, all: false },
];

function gruCases(k: Kernels, rng: Rng, out: ParityResult[]): void {
  for (const c of GRU_CASES) {
    const { B, T, I, H } = c;
    const d = { B, T, I, H };
    const label = `B${B} T${T} I${I} H${H} lengths=${c.lengths ? c.lengths.join(',') : 'all'}${c.h0 ? ' h0' : ''}${c.bias ? ' bias' : ''}`;
    const x = rand(rng, B * T * I);
    const lengths = c.lengths ? Int32Array.from(c.lengths) : null;
    const h0 = c.h0 ? rand(rng, B * H, -0.5, 0.5) : null;
    const wIh = rand(rng, 3 * H * I, -0.6, 0.6), wHh = rand(rng, 3 * H * H, -0.6, 0.6);
    const bIh = c.bias ? rand(rng, 3 * H, -0.3, 0.3) : null, bHh = c.bias ? rand(rng, 3 * H, -0.3, 0.3) : null;
    const o = new Float32Array(B * T * H), hN = new Float32Array(B * H), saved = new Float32Array(B * T * 4 * H);
    k.gruForward(x, lengths, h0, wIh, wHh, bIh, bHh, o, hN, saved, d);
    const oR = new Float64Array(o.length), hNR = new Float64Array(hN.length), savedR = new Float64Array(saved.length);
    jsKernels.gruForward(f64(x)!, lengths, f64(h0), f64(wIh)!, f64(wHh)!, f64(bIh), f64(bHh), oR, hNR, savedR, d);
    out.push(compare(`gru forward ${label} (out, hN, saved)`, [[o, oR], [hN, hNR], [saved, savedR]]));

    // The backward runs on the reference's forward results, so both sides see identical inputs.
    const gOut = c.gOut ? rand(rng, B * T * H) : null;
    const ghN = c.ghN ? rand(rng, B * H) : null;
    const oF = Float32Array.from(oR), savedF = Float32Array.from(savedR);
    const mk = (n: number, on: boolean) => (on ? new Float32Array(n) : null);
    const g = {
      gx: mk(B * T * I, true), gh0: mk(B * H, c.all), gWih: mk(3 * H * I, true), gWhh: mk(3 * H * H, c.all),
      gbIh: mk(3 * H, c.all), gbHh: mk(3 * H, true),
    };
    k.gruBackward(x, lengths, h0, wIh, wHh, oF, savedF, gOut, ghN, g.gx, g.gh0, g.gWih, g.gWhh, g.gbIh, g.gbHh, d);
    const m64 = (a: Float32Array | null) => (a ? new Float64Array(a.length) : null);
    const r = { gx: m64(g.gx), gh0: m64(g.gh0), gWih: m64(g.gWih), gWhh: m64(g.gWhh), gbIh: m64(g.gbIh), gbHh: m64(g.gbHh) };
    jsKernels.gruBackward(f64(x)!, lengths, f64(h0), f64(wIh)!, f64(wHh)!, f64(oF)!, f64(savedF)!, f64(gOut), f64(ghN),
      r.gx, r.gh0, r.gWih, r.gWhh, r.gbIh, r.gbHh, d);
    const grads = c.all ? 'all grads' : 'gx, gWih, gbHh only';
    out.push(compare(`gru backward ${label}${c.gOut ? ' gOut' : ''}${c.ghN ? ' ghN' : ''} (${grads})`,
      [[g.gx, r.gx], [g.gh0, r.gh0], [g.gWih, r.gWih], [g.gWhh, r.gWhh], [g.gbIh, r.gbIh], [g.gbHh, r.gbHh]]));
  }
}

function optimizerCases(k: Kernels, rng: Rng, out: ParityResult[]): void {
  const sgdConfigs = [
    { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, hasMomentumBuffer: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0.01, hasMomentumBuffer: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.1, nesterov: false, weightDecay: 0, hasMomentumBuffer: true },
    { lr: 0.02, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.001, hasMomentumBuffer: true },
  ];
  for (const o of sgdConfigs) {
    const n = 37;
    const p = rand(rng, n), g = rand(rng, n), buf = rand(rng, n);
    const pR = f64(p)!, bufR = f64(buf)!;
    k.sgdStep(p, g, o.momentum !== 0 ? buf : null, o);
    jsKernels.sgdStep(pR, f64(g)!, o.momentum !== 0 ? bufR : null, o);
    out.push(compare(`sgd momentum=${o.momentum} nesterov=${o.nesterov} wd=${o.weightDecay} buffer=${o.hasMomentumBuffer}`,
      [[p, pR], [o.momentum !== 0 ? buf : null, o.momentum !== 0 ? bufR : null]]));
  }
  for (const o of [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupledWeightDecay: false, step: 1 },
    { lr: 2e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupledWeightDecay: true, step: 3 },
  ]) {
    const n = 41;
    const p = rand(rng, n), g = rand(rng, n), m = rand(rng, n, -0.1, 0.1), v = rand(rng, n, 0, 0.01);
    const pR = f64(p)!, mR = f64(m)!, vR = f64(v)!;
    k.adamStep(p, g, m, v, o);
    jsKernels.adamStep(pR, f64(g)!, mR, vR, o);
    out.push(compare(`${o.decoupledWeightDecay ? 'adamw' : 'adam'} step=${o.step}`, [[p, pR], [m, mR], [v, vR]]));
  }
}

function helperCases(k: GpuKernels, rng: Rng, out: ParityResult[]): void {
  const clients = 5, P = 37;
  const updates = Array.from({ length: clients }, () => rand(rng, P));
  const weights = Array.from({ length: clients }, () => rng.uniform(0, 1));
  for (const beta of [0, 1]) {
    const acc = rand(rng, P);
    const ref = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      let s = beta * acc[i];
      for (let c = 0; c < clients; c++) s += weights[c] * updates[c][i];
      ref[i] = s;
    }
    k.weightedAccumulate(updates, weights, beta, acc);
    out.push(compare(`weighted accumulation ${clients} clients × ${P} beta=${beta}`, [[acc, ref]]));
  }

  const R = 4, C = 5;
  const x = rand(rng, R * C, -3, 3);
  const mask = Float32Array.from({ length: R * C }, (_, i) => (Math.floor(i / C) === 2 ? 0 : rng.int(4) === 0 ? 0 : 1));
  mask[0] = 1;
  const sm = new Float32Array(R * C);
  k.maskedSoftmax(x, mask, R, C, sm);
  const smR = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) if (mask[r * C + c] !== 0) m = Math.max(m, x[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) if (mask[r * C + c] !== 0) s += Math.exp(x[r * C + c] - m);
    for (let c = 0; c < C; c++) smR[r * C + c] = mask[r * C + c] !== 0 ? Math.exp(x[r * C + c] - m) / s : 0;
  }
  out.push(compare(`masked softmax ${R}×${C} (one row fully masked)`, [[sm, smR]]));

  const n = 2051;
  const a = rand(rng, n), b = rand(rng, n);
  const ax = new Float32Array(n);
  k.axpby(a, b, 0.3, -1.7, ax);
  out.push(compare(`axpby n=${n}`, [[ax, Float64Array.from(a, (v, i) => 0.3 * v - 1.7 * b[i])]]));
  let ss = 0;
  for (const v of a) ss += v * v;
  out.push(compare(`sum of squares n=${n} (chunked partials)`, [[Float64Array.of(k.sumSquares(a)), Float64Array.of(ss)]]));
}

/** Runs every case on `k` and returns one result per case. */
export function runParity(k: GpuKernels, seed = 7): ParityResult[] {
  const rng = new Rng(seed);
  const out: ParityResult[] = [];
  gemmCases(k, rng.fork('gemm'), out);
  batchedGemmCase(k, rng.fork('batched'), out);
  convCases(k, rng.fork('conv'), out);
  maxPoolCases(k, rng.fork('pool'), out);
  gruCases(k, rng.fork('gru'), out);
  optimizerCases(k, rng.fork('optim'), out);
  helperCases(k, rng.fork('helpers'), out);
  return out;
}
