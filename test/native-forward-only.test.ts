// Forward-only (inference) calls of the kernels that keep tensors for a backward pass: gruForward with saved
// null, convBlockForward with argmax null, attentionFusionForward with u null. On every ISA variant and in the
// TypeScript reference, the forward-only call gives exactly the bits of the saving call, and the addon matches
// the reference (float64 on the same float32 inputs) within the fused kernels' tolerance. The shapes are large
// enough for the addon's chunking (the conv blocks over samples, the attention MLP over rows) to take several
// chunks, a ragged last one included.
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/backend/index.js';
import { activeIsa, nativeKernels } from '../src/backend/native.js';
import type { AttentionDims, ConvBlockDims, FloatArray, GruDims } from '../src/backend/kernels.js';
import { Rng } from '../src/random.js';
import { forEachIsa, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const ref = referenceKernels();
const f64 = (a: Float32Array | null): Float64Array | null => (a ? Float64Array.from(a) : null);

function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: [${i}] = ${got[i]}, the saving call gave ${want[i]}`);
  }
}

function expectNear(got: FloatArray, want: FloatArray, what: string, tol = 2e-5): void {
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  const bound = tol * (1 + max);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= bound)) throw new Error(`${what} (${activeIsa()}): [${i}] = ${got[i]}, expected ${want[i]} ± ${bound}`);
  }
}

// UCI-HAR's first block at 40 samples: 3 chunks of the addon's conv (17 samples each, the last 6);
// the second case has no bias, a stride, a wider pool and a NaN that must win its window.
const convCases: ConvBlockDims[] = [
  { B: 40, Cin: 3, L: 128, Cout: 32, K: 5, stride: 1, padding: 2, Lout: 128, poolKernel: 2, poolStride: 2, P: 64 },
  { B: 5, Cin: 4, L: 13, Cout: 6, K: 3, stride: 2, padding: 1, Lout: 7, poolKernel: 3, poolStride: 2, P: 3 },
];

describe('forward-only kernels in the TypeScript reference', () => {
  it('give the bits of the saving calls', () => {
    const rng = new Rng(11);
    for (const d of convCases.slice(1)) {
      const x = randF32(rng, d.B * d.Cin * d.L);
      const w = randF32(rng, d.Cout * d.Cin * d.K, 0.5);
      const n = d.B * d.Cout * d.P;
      const saving = new Float32Array(n);
      const forwardOnly = new Float32Array(n);
      ref.convBlockForward(x, w, null, null, saving, new Int32Array(n), saving, d);
      ref.convBlockForward(x, w, null, null, forwardOnly, null, forwardOnly, d);
      expectSameBits(forwardOnly, saving, 'convBlock pooled');
    }
    const g: GruDims = { B: 3, T: 5, I: 4, H: 6 };
    const gx = randF32(rng, g.B * g.T * g.I);
    const wIh = randF32(rng, 3 * g.H * g.I, 0.5);
    const wHh = randF32(rng, 3 * g.H * g.H, 0.5);
    const outs = [0, 1].map(() => ({ out: new Float32Array(g.B * g.T * g.H), hN: new Float32Array(g.B * g.H) }));
    const lengths = Int32Array.from([5, 0, 3]);
    ref.gruForward(gx, lengths, null, wIh, wHh, null, null, outs[0].out, outs[0].hN, new Float32Array(g.B * g.T * 4 * g.H), g);
    ref.gruForward(gx, lengths, null, wIh, wHh, null, null, outs[1].out, outs[1].hN, null, g);
    expectSameBits(outs[1].out, outs[0].out, 'gru out');
    expectSameBits(outs[1].hN, outs[0].hN, 'gru hN');
    const a: AttentionDims = { B: 2, T: 4, D: 5, hidden: 7, heads: 3 };
    const h = randF32(rng, a.B * a.T * a.D);
    const mask = Float32Array.from([1, 1, 0, 1, 1, 0, 0, 0]);
    const w1 = randF32(rng, a.hidden * a.D, 0.5);
    const w2 = randF32(rng, a.heads * a.hidden, 0.5);
    const att = [0, 1].map(() => ({ a: new Float32Array(a.B * a.heads * a.T), out: new Float32Array(a.B * a.heads * a.D) }));
    ref.attentionFusionForward(h, mask, w1, null, w2, null, new Float32Array(a.B * a.T * a.hidden), att[0].a, att[0].out, a);
    ref.attentionFusionForward(h, mask, w1, null, w2, null, null, att[1].a, att[1].out, a);
    expectSameBits(att[1].out, att[0].out, 'attention out');
    expectSameBits(att[1].a, att[0].a, 'attention weights');
  });
});

describe.skipIf(!nativeBuilt)(`native forward-only kernels (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  it('convBlockForward without argmax: the bits of the saving call, near the reference', () => {
    const rng = new Rng(12);
    for (const d of convCases) {
      const x = randF32(rng, d.B * d.Cin * d.L);
      x[7] = NaN;
      const w = randF32(rng, d.Cout * d.Cin * d.K, 0.5);
      const bias = d.stride === 1 ? randF32(rng, d.Cout) : null;
      const n = d.B * d.Cout * d.P;
      const want = new Float64Array(n);
      ref.convBlockForward(f64(x)!, f64(w)!, f64(bias), null, want, null, want, d);
      const zeroNaN = (a: FloatArray) => a.map((v) => (Number.isNaN(v) ? 0 : v));
      const nanAt = (a: FloatArray) => [...a.keys()].filter((i) => Number.isNaN(a[i]));
      expect(nanAt(want).length, 'the NaN input reaches some output').toBeGreaterThan(0);
      forEachIsa(() => {
        const saving = new Float32Array(n);
        nativeKernels().convBlockForward(x, w, bias, null, saving, new Int32Array(n), saving, d);
        const forwardOnly = new Float32Array(n);
        nativeKernels().convBlockForward(x, w, bias, null, forwardOnly, null, forwardOnly, d);
        expectSameBits(forwardOnly, saving, `convBlock ${activeIsa()}`);
        expect(nanAt(forwardOnly), 'NaN outputs').toEqual(nanAt(want));
        expectNear(zeroNaN(forwardOnly), zeroNaN(want), 'convBlock');
      });
    }
  });

  it('gruForward without saved: the bits of the saving call, near the reference', () => {
    const rng = new Rng(13);
    forEachIsa(() => {
      const d: GruDims = { B: 37, T: 16, I: 24, H: 32 };
      const x = randF32(rng, d.B * d.T * d.I);
      const lengths = Int32Array.from({ length: d.B }, (_, b) => (b * 7) % (d.T + 1));
      const h0 = randF32(rng, d.B * d.H);
      const wIh = randF32(rng, 3 * d.H * d.I, 0.3);
      const wHh = randF32(rng, 3 * d.H * d.H, 0.3);
      const bIh = randF32(rng, 3 * d.H, 0.3);
      const bHh = randF32(rng, 3 * d.H, 0.3);
      const run = (saved: Float32Array | null) => {
        const out = new Float32Array(d.B * d.T * d.H).fill(7);
        const hN = new Float32Array(d.B * d.H);
        nativeKernels().gruForward(x, lengths, h0, wIh, wHh, bIh, bHh, out, hN, saved, d);
        return { out, hN };
      };
      const saving = run(new Float32Array(d.B * d.T * 4 * d.H));
      const forwardOnly = run(null);
      expectSameBits(forwardOnly.out, saving.out, `gru out ${activeIsa()}`);
      expectSameBits(forwardOnly.hN, saving.hN, `gru hN ${activeIsa()}`);
      const out = new Float64Array(d.B * d.T * d.H);
      const hN = new Float64Array(d.B * d.H);
      ref.gruForward(f64(x)!, lengths, f64(h0), f64(wIh)!, f64(wHh)!, f64(bIh), f64(bHh), out, hN, null, d);
      expectNear(forwardOnly.out, out, 'gru out');
      expectNear(forwardOnly.hN, hN, 'gru hN');
    });
  });

  it('attentionFusionForward without u: the bits of the saving call, near the reference', () => {
    const rng = new Rng(14);
    forEachIsa(() => {
      // 600 rows: the addon's scoring MLP takes 3 chunks of 256 rows, the last one ragged
      const d: AttentionDims = { B: 20, T: 30, D: 16, hidden: 40, heads: 3 };
      const h = randF32(rng, d.B * d.T * d.D);
      const mask = Float32Array.from({ length: d.B * d.T }, (_, i) => (i % 7 === 3 ? 0 : 1));
      const w1 = randF32(rng, d.hidden * d.D, 0.5);
      const b1 = randF32(rng, d.hidden, 0.5);
      const w2 = randF32(rng, d.heads * d.hidden, 0.5);
      const b2 = randF32(rng, d.heads, 0.5);
      const run = (u: Float32Array | null) => {
        const a = new Float32Array(d.B * d.heads * d.T);
        const out = new Float32Array(d.B * d.heads * d.D);
        nativeKernels().attentionFusionForward(h, mask, w1, b1, w2, b2, u, a, out, d);
        return { a, out };
      };
      const saving = run(new Float32Array(d.B * d.T * d.hidden));
      const forwardOnly = run(null);
      expectSameBits(forwardOnly.out, saving.out, `attention out ${activeIsa()}`);
      expectSameBits(forwardOnly.a, saving.a, `attention weights ${activeIsa()}`);
      const a = new Float64Array(d.B * d.heads * d.T);
      const out = new Float64Array(d.B * d.heads * d.D);
      ref.attentionFusionForward(f64(h)!, f64(mask)!, f64(w1)!, f64(b1), f64(w2)!, f64(b2), null, a, out, d);
      expectNear(forwardOnly.out, out, 'attention out');
      expectNear(forwardOnly.a, a, 'attention weights');
    });
  });
});
