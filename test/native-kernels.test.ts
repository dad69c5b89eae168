// Native compute kernels vs the TypeScript reference, on every ISA variant this machine runs.
// Tolerances: GEMM — |c − c₆₄| ≤ (K + 4)·2⁻²⁴·(|α|·Σ_k|a||b| + |β|·|c₀|) + 1e-30 per element, the standard
// float32 dot-product bound against a float64 reference on the same inputs (blocking, FMA and alpha folded
// into the packed A change the rounding, not the bound). maxpool, SGD, Adam, accumulate, squaredNorm and scale:
// bit-identical (same operations in the same order, no contraction).
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/backend/index.js';
import { activeIsa, loadAddon, nativeKernels, useIsa } from '../src/backend/native.js';
import { Rng } from '../src/random.js';
import { bitsOf, cpuFlags, forEachIsa, isas, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const ref = referenceKernels();

function checkGemm(rng: Rng, tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number, beta: number): void {
  const a = randF32(rng, M * K);
  const b = randF32(rng, K * N);
  const c0 = randF32(rng, M * N);
  const expected = Float64Array.from(c0);
  ref.gemm(tA, tB, M, N, K, alpha, Float64Array.from(a), Float64Array.from(b), beta, expected);
  const absSum = new Float64Array(M * N);
  ref.gemm(tA, tB, M, N, K, 1, Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs), 0, absSum);
  const c = Float32Array.from(c0);
  nativeKernels().gemm(tA, tB, M, N, K, alpha, a, b, beta, c);
  const u = 2 ** -24;
  for (let i = 0; i < M * N; i++) {
    const tol = (K + 4) * u * (Math.abs(alpha) * absSum[i] + Math.abs(beta) * Math.abs(c0[i])) + 1e-30;
    if (!(Math.abs(c[i] - expected[i]) <= tol)) {
      throw new Error(`gemm ${activeIsa()} tA=${tA} tB=${tB} M=${M} N=${N} K=${K} α=${alpha} β=${beta}: ` +
        `c[${i}] = ${c[i]}, expected ${expected[i]} ± ${tol}`);
    }
  }
}

describe.skipIf(!nativeBuilt)(`native kernels (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  it('runs every ISA variant the CPU supports, and refuses ones it does not', () => {
    const info = loadAddon().info();
    expect(info.supported).toContain('baseline');
    const flags = cpuFlags();
    if (process.arch === 'x64' && flags) {
      const avx512 = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f));
      const avx2 = flags.has('avx2') && flags.has('fma');
      expect(info.supported.includes('avx512')).toBe(avx512);
      expect(info.supported.includes('avx2')).toBe(avx2);
      expect(info.compiled).toEqual(['avx512', 'avx2', 'baseline']);
    }
    expect(() => useIsa('sse9')).toThrow(/unknown ISA variant 'sse9'/);
    for (const v of info.compiled.filter((c) => !info.supported.includes(c))) {
      expect(() => useIsa(v)).toThrow(/does not support/);
    }
    expect(nativeKernels().name).toBe('native');
  });

  it('gemm matches the reference on odd shapes, SIMD tails, all transposes, alpha and beta', () => {
    const rng = new Rng(11);
    const Ms = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25]; // every row count of an edge tile (MR is 12 or 6)
    const Ns = [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47];
    const Ks = [1, 2, 17, 64];
    forEachIsa(() => {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        for (const M of Ms) for (const N of Ns) {
          const K = Ks[(M + N) % Ks.length];
          checkGemm(rng, tA, tB, M, N, K, 1, 0);
        }
        checkGemm(rng, tA, tB, 37, 45, 300, 0.5, 1);
        checkGemm(rng, tA, tB, 29, 19, 257, -1.25, 0.75);
      }
    });
  });

  it('gemm matches the reference across block edges (M > MC, N > NC, K > KC)', () => {
    const rng = new Rng(12);
    forEachIsa(() => {
      checkGemm(rng, false, false, 200, 70, 520, 1, 0);
      checkGemm(rng, true, true, 195, 33, 260, 1, 1);
      checkGemm(rng, false, true, 3, 2100, 20, 1, 0);
      checkGemm(rng, true, false, 130, 97, 129, 2, -0.5);
    });
  });

  it('gemm: beta = 0 overwrites NaN in c, NaN in a propagates, K = 0 scales c', () => {
    forEachIsa((isa) => {
      const a = new Float32Array(4 * 3).fill(1);
      const b = new Float32Array(3 * 5).fill(2);
      const c = new Float32Array(4 * 5).fill(NaN);
      nativeKernels().gemm(false, false, 4, 5, 3, 1, a, b, 0, c);
      expect(Array.from(c), isa).toEqual(new Array(20).fill(6));
      a[3] = NaN; // row 1
      nativeKernels().gemm(false, false, 4, 5, 3, 1, a, b, 0, c);
      expect(c.slice(5, 10).every(Number.isNaN), isa).toBe(true);
      expect(c[0], isa).toBe(6);
      const d = new Float32Array([1, 2, 3, 4]);
      nativeKernels().gemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, d);
      expect(Array.from(d), isa).toEqual([0.5, 1, 1.5, 2]);
    });
  });

  it('gemm refuses short buffers and wrong types with a one-line error', () => {
    const k = nativeKernels();
    expect(() => k.gemm(false, false, 4, 4, 4, 1, new Float32Array(15), new Float32Array(16), 0, new Float32Array(16)))
      .toThrow(/gemm: a has 15 elements, needs 16/);
    const addon = loadAddon();
    expect(() => addon.gemm(false, false, 1, 1, 1, 1, new Float64Array(1) as unknown as Float32Array,
      new Float32Array(1), 0, new Float32Array(1))).toThrow(/gemm: a must be a Float32Array/);
    const big = 2 ** 40;
    expect(() => addon.gemm(false, false, big, 1, big, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1)))
      .toThrow(/gemm: dimensions overflow/);
    expect(() => addon.gemm(false, false, -1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1)))
      .toThrow(/gemm: M must be a non-negative integer/);
  });

  it('delegates Float64Array inputs to the TypeScript reference', () => {
    const a = Float64Array.from([1, 2, 3, 4]);
    const c = new Float64Array(4);
    nativeKernels().gemm(false, false, 2, 2, 2, 1, a, a, 0, c);
    expect(Array.from(c)).toEqual([7, 10, 15, 22]);
  });

  it('maxPool1d forward/backward are bit-identical to the reference (ties, NaN, strides)', () => {
    const rng = new Rng(13);
    forEachIsa((isa) => {
      for (const [rows, L, kernel, stride] of [[3, 17, 2, 2], [5, 33, 3, 1], [2, 40, 5, 3], [1, 7, 7, 1]]) {
        const x = randF32(rng, rows * L);
        for (let i = 0; i < x.length; i += 7) x[i] = x[i + 1] ?? 0; // ties
        x[5] = NaN;
        const Lout = Math.floor((L - kernel) / stride) + 1;
        const [o1, o2] = [new Float32Array(rows * Lout), new Float32Array(rows * Lout)];
        const [a1, a2] = [new Int32Array(rows * Lout), new Int32Array(rows * Lout)];
        ref.maxPool1dForward(x, o1, a1, rows, L, kernel, stride);
        nativeKernels().maxPool1dForward(x, o2, a2, rows, L, kernel, stride);
        expect(bitsOf(o2), isa).toEqual(bitsOf(o1));
        expect(a2, isa).toEqual(a1);
        const g = randF32(rng, rows * Lout);
        const [g1, g2] = [new Float32Array(rows * L), new Float32Array(rows * L).fill(9)];
        ref.maxPool1dBackward(g, a1, g1, rows, L, Lout);
        nativeKernels().maxPool1dBackward(g, a1, g2, rows, L, Lout);
        expect(bitsOf(g2), isa).toEqual(bitsOf(g1));
      }
    });
  });

  it('sgdStep is bit-identical to the reference for every PyTorch option combination', () => {
    const rng = new Rng(14);
    forEachIsa((isa) => {
      for (const n of [1, 7, 16, 33, 1000]) {
        for (const momentum of [0, 0.9]) for (const nesterov of [false, true]) for (const weightDecay of [0, 1e-2]) {
          if (nesterov && momentum === 0) continue;
          for (const hasMomentumBuffer of [false, true]) {
            const o = { lr: 0.05, momentum, dampening: nesterov ? 0 : 0.1, nesterov, weightDecay, hasMomentumBuffer };
            const p = randF32(rng, n), g = randF32(rng, n), buf = randF32(rng, n);
            const [p1, b1, p2, b2] = [p.slice(), buf.slice(), p.slice(), buf.slice()];
            ref.sgdStep(p1, g, momentum ? b1 : null, o);
            nativeKernels().sgdStep(p2, g, momentum ? b2 : null, o);
            expect(bitsOf(p2), `${isa} ${JSON.stringify(o)}`).toEqual(bitsOf(p1));
            expect(bitsOf(b2), isa).toEqual(bitsOf(b1));
          }
        }
      }
    });
  });

  it('accumulate, squaredNorm and scale (gradient sums and clipping in a step) are bit-identical to the reference', () => {
    const rng = new Rng(16);
    forEachIsa((isa) => {
      for (const n of [0, 1, 7, 8, 33, 1000]) {
        const acc = randF32(rng, n), g = randF32(rng, n, 3);
        const [a1, a2] = [acc.slice(), acc.slice()];
        ref.accumulate(a1, g);
        nativeKernels().accumulate(a2, g);
        expect(bitsOf(a2), `${isa} accumulate n=${n}`).toEqual(bitsOf(a1));
        expect(nativeKernels().squaredNorm(g), `${isa} squaredNorm n=${n}`).toBe(ref.squaredNorm(g));
        const [s1, s2] = [g.slice(), g.slice()];
        ref.scale(s1, 0.1234567891);
        nativeKernels().scale(s2, 0.1234567891);
        expect(bitsOf(s2), `${isa} scale n=${n}`).toEqual(bitsOf(s1));
      }
    });
    expect(() => loadAddon().accumulate(new Float32Array(4), new Float32Array(3))).toThrow(/accumulate: g has 3 elements, needs 4/);
  });

  it('adamStep (Adam and AdamW) is bit-identical to the reference', () => {
    const rng = new Rng(15);
    forEachIsa((isa) => {
      for (const n of [1, 9, 31, 1024]) for (const decoupledWeightDecay of [false, true]) for (const step of [1, 2, 50]) {
        const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupledWeightDecay, step };
        const p = randF32(rng, n), g = randF32(rng, n), m = randF32(rng, n, 0.1);
        const v = Float32Array.from(randF32(rng, n, 0.01), Math.abs);
        const [p1, m1, v1, p2, m2, v2] = [p.slice(), m.slice(), v.slice(), p.slice(), m.slice(), v.slice()];
        ref.adamStep(p1, g, m1, v1, o);
        nativeKernels().adamStep(p2, g, m2, v2, o);
        expect(bitsOf(p2), `${isa} ${JSON.stringify(o)}`).toEqual(bitsOf(p1));
        expect(bitsOf(m2), isa).toEqual(bitsOf(m1));
        expect(bitsOf(v2), isa).toEqual(bitsOf(v1));
      }
    });
  });

  it('every variant is exercised', () => {
    expect(isas.length).toBeGreaterThan(0);
  });
});
