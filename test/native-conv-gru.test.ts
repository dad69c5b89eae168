// Native conv1d and GRU kernels vs the TypeScript reference run in float64 on the same float32 inputs, on
// every ISA variant this machine runs. Tolerances:
// - conv1d: |y − y₆₄| ≤ (Cin·K + Cout + Lout + 8)·2⁻²⁴·Σ|terms| per element (Σ|terms| = the same sums over
//   absolute values), the float32 accumulation bound;
// - GRU: activations use a vectorized expf (~2 ulp) and float32 arithmetic, so outputs (|h| < 1) must agree
//   to 2e-5 absolute, and each gradient array to 1e-4 · (1 + max|reference|) — float32 error grown over T
//   steps of the recurrence, far below any real error (a wrong gate or step shows up at O(1)).
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/backend/index.js';
import { activeIsa, nativeKernels } from '../src/backend/native.js';
import type { Conv1dDims, GruDims } from '../src/backend/kernels.js';
import { Rng } from '../src/random.js';
import { forEachIsa, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const ref = referenceKernels();
const f64 = (a: Float32Array | null): Float64Array | null => (a ? Float64Array.from(a) : null);
const abs64 = (a: Float32Array | null): Float64Array | null => (a ? Float64Array.from(a, Math.abs) : null);

function expectBound(got: Float32Array, want: Float64Array, absSum: Float64Array, terms: number, what: string): void {
  const u = 2 ** -24;
  for (let i = 0; i < want.length; i++) {
    const tol = (terms + 8) * u * absSum[i] + 1e-30;
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(`${what} (${activeIsa()}): [${i}] = ${got[i]}, expected ${want[i]} ± ${tol}`);
    }
  }
}

function expectClose(got: Float32Array, want: Float64Array, atol: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol)) {
      throw new Error(`${what} (${activeIsa()}): [${i}] = ${got[i]}, expected ${want[i]} ± ${atol}`);
    }
  }
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function convCase(rng: Rng, B: number, Cin: number, L: number, Cout: number, K: number, stride: number, padding: number,
  withBias: boolean): void {
  const Lout = Math.floor((L + 2 * padding - K) / stride) + 1;
  const d: Conv1dDims = { B, Cin, L, Cout, K, stride, padding, Lout };
  const x = randF32(rng, B * Cin * L), w = randF32(rng, Cout * Cin * K);
  const bias = withBias ? randF32(rng, Cout) : null;
  const gOut = randF32(rng, B * Cout * Lout);
  const tag = `conv1d B=${B} Cin=${Cin} L=${L} Cout=${Cout} K=${K} s=${stride} p=${padding}`;

  const out = new Float32Array(B * Cout * Lout).fill(NaN);
  nativeKernels().conv1dForward(x, w, bias, out, d);
  const want = new Float64Array(out.length), bound = new Float64Array(out.length);
  ref.conv1dForward(f64(x)!, f64(w)!, f64(bias), want, d);
  ref.conv1dForward(abs64(x)!, abs64(w)!, abs64(bias), bound, d);
  expectBound(out, want, bound, Cin * K, `${tag} forward`);

  const [gx, gw, gb] = [new Float32Array(B * Cin * L).fill(9), new Float32Array(Cout * Cin * K).fill(9), new Float32Array(Cout).fill(9)];
  nativeKernels().conv1dBackward(x, w, gOut, gx, gw, withBias ? gb : null, d);
  const [wx, ww, wb] = [new Float64Array(gx.length), new Float64Array(gw.length), new Float64Array(Cout)];
  const [bx, bw, bb] = [new Float64Array(gx.length), new Float64Array(gw.length), new Float64Array(Cout)];
  ref.conv1dBackward(f64(x)!, f64(w)!, f64(gOut)!, wx, ww, wb, d);
  ref.conv1dBackward(abs64(x)!, abs64(w)!, abs64(gOut)!, bx, bw, bb, d);
  expectBound(gx, wx, bx, Cout * K, `${tag} gx`);
  expectBound(gw, ww, bw, B * Lout, `${tag} gw`);
  if (withBias) expectBound(gb, wb, bb, B * Lout, `${tag} gBias`);
  // each output on its own (the others null)
  const gx2 = new Float32Array(gx.length);
  nativeKernels().conv1dBackward(x, w, gOut, gx2, null, null, d);
  expect(gx2).toEqual(gx);
}

function gruCase(rng: Rng, B: number, T: number, I: number, H: number, opts: { lengths: boolean; h0: boolean;
  bias: boolean; gOut: boolean; ghN: boolean; }): void {
  const d: GruDims = { B, T, I, H };
  const G = 3 * H;
  const x = randF32(rng, B * T * I), wIh = randF32(rng, G * I, 0.5), wHh = randF32(rng, G * H, 0.5);
  const bIh = opts.bias ? randF32(rng, G, 0.5) : null, bHh = opts.bias ? randF32(rng, G, 0.5) : null;
  const h0 = opts.h0 ? randF32(rng, B * H) : null;
  const lengths = opts.lengths ? Int32Array.from({ length: B }, (_, b) => (b === 0 ? T : b === 1 ? 0 : rng.int(T + 1))) : null;
  const tag = `gru B=${B} T=${T} I=${I} H=${H} ${JSON.stringify(opts)}`;

  const [out, hN, saved] = [new Float32Array(B * T * H).fill(NaN), new Float32Array(B * H), new Float32Array(B * T * 4 * H).fill(NaN)];
  nativeKernels().gruForward(x, lengths, h0, wIh, wHh, bIh, bHh, out, hN, saved, d);
  const [o64, h64, s64] = [new Float64Array(out.length), new Float64Array(hN.length), new Float64Array(saved.length)];
  ref.gruForward(f64(x)!, lengths, f64(h0), f64(wIh)!, f64(wHh)!, f64(bIh), f64(bHh), o64, h64, s64, d);
  expectClose(out, o64, 2e-5, `${tag} out`);
  expectClose(hN, h64, 2e-5, `${tag} hN`);
  expectClose(saved, s64, 2e-5 * (1 + maxAbs(s64)), `${tag} saved`);

  const gOut = opts.gOut ? randF32(rng, B * T * H) : null;
  const ghN = opts.ghN ? randF32(rng, B * H) : null;
  const sizes = [B * T * I, B * H, G * I, G * H, G, G];
  const got = sizes.map((n) => new Float32Array(n).fill(7));
  const want = sizes.map((n) => new Float64Array(n));
  nativeKernels().gruBackward(x, lengths, h0, wIh, wHh, out, saved, gOut, ghN, got[0], got[1], got[2], got[3],
    got[4], got[5], d);
  ref.gruBackward(f64(x)!, lengths, f64(h0), f64(wIh)!, f64(wHh)!, o64, s64, f64(gOut), f64(ghN), want[0], want[1],
    want[2], want[3], want[4], want[5], d);
  ['gx', 'gh0', 'gWih', 'gWhh', 'gbIh', 'gbHh'].forEach((name, k) => {
    expectClose(got[k], want[k], 1e-4 * (1 + maxAbs(want[k])), `${tag} ${name}`);
  });
  // only the weight gradients requested
  const gWhh = new Float32Array(G * H);
  nativeKernels().gruBackward(x, lengths, h0, wIh, wHh, out, saved, gOut, ghN, null, null, null, gWhh, null, null, d);
  expect(gWhh).toEqual(got[3]);
}

describe.skipIf(!nativeBuilt)(`native conv1d and GRU (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  it('conv1d forward/backward match on odd shapes, strides, padding, with and without bias', () => {
    const rng = new Rng(41);
    forEachIsa(() => {
      for (const [B, Cin, L, Cout, K, stride, padding] of [
        [1, 1, 5, 1, 1, 1, 0], [2, 3, 17, 5, 3, 1, 1], [3, 4, 33, 7, 5, 2, 2], [2, 5, 16, 17, 4, 3, 0],
        [1, 2, 9, 3, 9, 1, 0], [2, 3, 10, 33, 5, 1, 4], [4, 8, 64, 16, 5, 1, 2],
      ]) {
        convCase(rng, B, Cin, L, Cout, K, stride, padding, (B + K) % 2 === 0);
        convCase(rng, B, Cin, L, Cout, K, stride, padding, (B + K) % 2 === 1);
      }
    });
  });

  it('GRU forward/backward match for packed lengths (incl. 0 and T), h0, biases and optional gradients', () => {
    const rng = new Rng(42);
    forEachIsa(() => {
      // H = 90: 3H = 270 > the GEMM's K block (256), so the recurrent weights are packed in two slices.
      const shapes: [number, number, number, number][] = [[1, 1, 1, 1], [3, 4, 5, 3], [4, 7, 17, 8], [5, 6, 3, 17], [3, 5, 9, 33], [2, 3, 4, 90]];
      shapes.forEach(([B, T, I, H], k) => {
        gruCase(rng, B, T, I, H, { lengths: true, h0: true, bias: true, gOut: true, ghN: true });
        gruCase(rng, B, T, I, H, { lengths: k % 2 === 0, h0: false, bias: false, gOut: true, ghN: false });
        gruCase(rng, B, T, I, H, { lengths: true, h0: k % 2 === 1, bias: true, gOut: false, ghN: true });
      });
    });
  });

  it('degenerate sizes (B = 0, T = 0, I = 0, H = 0) match the reference', () => {
    const rng = new Rng(43);
    forEachIsa(() => {
      for (const [B, T, I, H] of [[0, 3, 2, 2], [2, 0, 2, 2], [2, 3, 0, 2], [1, 1, 1, 0]]) {
        gruCase(rng, B, T, I, H, { lengths: false, h0: true, bias: true, gOut: true, ghN: true });
      }
      convCase(rng, 0, 2, 5, 3, 2, 1, 0, true);
    });
  });

  it('GRU saturates without NaN for large pre-activations and propagates NaN inputs', () => {
    const d: GruDims = { B: 1, T: 2, I: 2, H: 16 };
    const x = Float32Array.from([1e4, -1e4, -1e4, 1e4]);
    const wIh = new Float32Array(48 * 2).fill(50), wHh = new Float32Array(48 * 16).fill(0.1);
    const [out, hN, saved] = [new Float32Array(32), new Float32Array(16), new Float32Array(128)];
    forEachIsa((isa) => {
      nativeKernels().gruForward(x, null, null, wIh, wHh, null, null, out, hN, saved, d);
      expect(out.every(Number.isFinite), isa).toBe(true);
      const bad = x.slice();
      bad[0] = NaN;
      nativeKernels().gruForward(bad, null, null, wIh, wHh, null, null, out, hN, saved, d);
      expect(hN.every(Number.isNaN), isa).toBe(true);
    });
  });

  it('refuses bad lengths and short buffers with one-line errors', () => {
    const d: GruDims = { B: 2, T: 3, I: 1, H: 1 };
    const z = (n: number): Float32Array => new Float32Array(n);
    expect(() => nativeKernels().gruForward(z(6), Int32Array.from([1, 4]), null, z(3), z(3), null, null, z(6), z(2), z(24), d))
      .toThrow(/gruForward: lengths\[1\] = 4 is outside 0..3/);
    expect(() => nativeKernels().gruForward(z(5), null, null, z(3), z(3), null, null, z(6), z(2), z(24), d))
      .toThrow(/gruForward: x has 5 elements, needs 6/);
    const c: Conv1dDims = { B: 1, Cin: 1, L: 4, Cout: 1, K: 2, stride: 1, padding: 0, Lout: 4 };
    expect(() => nativeKernels().conv1dForward(z(4), z(2), null, z(4), c)).toThrow(/conv1dForward: inconsistent dims/);
  });
});
