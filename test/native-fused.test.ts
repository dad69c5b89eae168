// The addon's fused layer kernels against the TypeScript reference run in float64 on the same float32 inputs,
// on every ISA variant this machine runs. Tolerance: float32 accumulation over sums of up to a few hundred
// terms and the vectorized tanh/exp (~1e-7 absolute) — 2e-5·(1 + max|reference|) per array; a wrong index,
// gate or term shows up at O(1).
import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/backend/index.js';
import { activeIsa, loadAddon, nativeKernels } from '../src/backend/native.js';
import type { Activation, AttentionDims, ConvBlockDims, FloatArray } from '../src/backend/kernels.js';
import { Rng } from '../src/random.js';
import { bitsOf, forEachIsa, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const ref = referenceKernels();
const f64 = (a: Float32Array | null): Float64Array | null => (a ? Float64Array.from(a) : null);

function expectNear(got: FloatArray | null, want: FloatArray | null, what: string, tol = 2e-5): void {
  if (!got || !want) {
    expect(got === null, `${what}: both or neither`).toBe(want === null);
    return;
  }
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  const bound = tol * (1 + max);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= bound)) throw new Error(`${what} (${activeIsa()}): [${i}] = ${got[i]}, expected ${want[i]} ± ${bound}`);
  }
}

function dropMask(rng: Rng, n: number, p: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.uniform(0, 1) < p ? 0 : 1 / (1 - p)));
}

describe.skipIf(!nativeBuilt)(`native fused kernels vs the reference (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  it('convBlockForward / convBlockBackward, with and without mask and bias', () => {
    const rng = new Rng(1);
    const cases: ConvBlockDims[] = [
      { B: 3, Cin: 3, L: 16, Cout: 8, K: 5, stride: 1, padding: 2, Lout: 16, poolKernel: 2, poolStride: 2, P: 8 },
      { B: 2, Cin: 5, L: 13, Cout: 7, K: 3, stride: 2, padding: 1, Lout: 7, poolKernel: 3, poolStride: 1, P: 5 },
      // rows long enough for the vectorized pooling (16 and 8 windows at a time) plus a tail, odd Lout
      { B: 2, Cin: 3, L: 75, Cout: 5, K: 5, stride: 1, padding: 2, Lout: 75, poolKernel: 2, poolStride: 2, P: 37 },
    ];
    forEachIsa(() => {
      for (const d of cases) {
        for (const withMask of [false, true]) {
          const x = randF32(rng, d.B * d.Cin * d.L);
          const w = randF32(rng, d.Cout * d.Cin * d.K, 0.5);
          const bias = withMask ? randF32(rng, d.Cout) : null;
          const n = d.B * d.Cout * d.P;
          const mask = withMask ? dropMask(rng, n, 0.3) : null;
          const pooled = new Float32Array(n);
          const argmax = new Int32Array(n);
          const out = new Float32Array(n);
          nativeKernels().convBlockForward(x, w, bias, mask, pooled, argmax, out, d);
          const rp = new Float64Array(n);
          const ra = new Int32Array(n);
          const ro = new Float64Array(n);
          ref.convBlockForward(f64(x)!, f64(w)!, f64(bias), f64(mask), rp, ra, ro, d);
          expectNear(pooled, rp, 'pooled');
          expectNear(out, ro, 'out');
          expect(Array.from(argmax), 'argmax').toEqual(Array.from(ra));
          const g = randF32(rng, n);
          const got = [new Float32Array(x.length), new Float32Array(w.length), new Float32Array(d.Cout)];
          nativeKernels().convBlockBackward(x, w, pooled, argmax, mask, g, got[0], got[1], got[2], d);
          const want = [new Float64Array(x.length), new Float64Array(w.length), new Float64Array(d.Cout)];
          ref.convBlockBackward(f64(x)!, f64(w)!, f64(pooled)!, argmax, f64(mask), f64(g)!, want[0], want[1], want[2], d);
          ['gx', 'gw', 'gBias'].forEach((name, i) => expectNear(got[i], want[i], `convBlock ${name}`));
        }
      }
    });
  });

  it('convBlock pooling is exact: NaN wins, ties take the first, −0 and +0, argmax outside the 2p/2p+1 windows', () => {
    // A 1×1 identity convolution (Cin 1, K 1, w = 1, no bias), so z = x and every result can be compared bit for bit.
    const L = 2 * 37 + 1;
    const d: ConvBlockDims = { B: 2, Cin: 1, L, Cout: 1, K: 1, stride: 1, padding: 0, Lout: L, poolKernel: 2, poolStride: 2, P: 37 };
    const rng = new Rng(9);
    const specials = [NaN, 0, -0, 1, 1, -1, 0.5, NaN];
    const x = Float32Array.from({ length: d.B * L }, (_, i) => (i % 3 === 0 ? specials[(i / 3) % specials.length] : rng.uniform(-1, 1)));
    for (let i = 0; i < x.length; i += 7) x[i + 1] = x[i]; // exact ties
    const w = Float32Array.of(1);
    const n = d.B * d.P;
    forEachIsa(() => {
      for (const mask of [null, dropMask(rng, n, 0.3)]) {
        const [pooled, argmax, out] = [new Float32Array(n), new Int32Array(n), new Float32Array(n)];
        nativeKernels().convBlockForward(x, w, null, mask, pooled, argmax, out, d);
        const [rp, ra, ro] = [new Float32Array(n), new Int32Array(n), new Float32Array(n)];
        ref.convBlockForward(x, w, null, mask, rp, ra, ro, d);
        expect(Array.from(bitsOf(pooled)), 'pooled').toEqual(Array.from(bitsOf(rp)));
        expect(Array.from(argmax), 'argmax').toEqual(Array.from(ra));
        expect(Array.from(bitsOf(out)), 'out').toEqual(Array.from(bitsOf(ro)));
        const g = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? -0 : rng.uniform(-1, 1)));
        // the forward's argmax, and one routed elsewhere in its row (the kernel then scatters as the reference does)
        const moved = argmax.slice();
        moved[3] = 0;
        for (const am of [argmax, moved]) {
          const gx = new Float32Array(x.length);
          nativeKernels().convBlockBackward(x, w, pooled, am, mask, g, gx, null, null, d);
          const rgx = new Float32Array(x.length);
          ref.convBlockBackward(x, w, rp, am, mask, g, rgx, null, null, d);
          expect(Array.from(bitsOf(gx)), 'gx').toEqual(Array.from(bitsOf(rgx)));
        }
      }
    });
  });

  it('linearForward / linearBackward for each activation', () => {
    const rng = new Rng(2);
    forEachIsa(() => {
      for (const act of ['none', 'relu', 'tanh'] as Activation[]) {
        for (const [M, N, K, withMask] of [[5, 7, 9, false], [33, 17, 20, true]] as const) {
          const x = randF32(rng, M * K);
          const w = randF32(rng, N * K, 0.5);
          const bias = withMask ? null : randF32(rng, N);
          const mask = withMask ? dropMask(rng, M * N, 0.2) : null;
          const y = new Float32Array(M * N);
          const out = mask ? new Float32Array(M * N) : y;
          nativeKernels().linearForward(x, w, bias, act, mask, y, out, M, N, K);
          const ry = new Float64Array(M * N);
          const ro = mask ? new Float64Array(M * N) : ry;
          ref.linearForward(f64(x)!, f64(w)!, f64(bias), act, f64(mask), ry, ro, M, N, K);
          expectNear(y, ry, `linear ${act} y`);
          expectNear(out, ro, `linear ${act} out`);
          const g = randF32(rng, M * N);
          const got = [new Float32Array(M * K), new Float32Array(N * K), new Float32Array(N)];
          nativeKernels().linearBackward(x, w, y, act, mask, g, got[0], got[1], got[2], M, N, K);
          const want = [new Float64Array(M * K), new Float64Array(N * K), new Float64Array(N)];
          ref.linearBackward(f64(x)!, f64(w)!, f64(y)!, act, f64(mask), f64(g)!, want[0], want[1], want[2], M, N, K);
          ['gx', 'gw', 'gBias'].forEach((name, i) => expectNear(got[i], want[i], `linear ${act} ${name}`));
        }
      }
    });
  });

  it('attentionFusionForward / attentionFusionBackward with masked steps and a fully masked sample', () => {
    const rng = new Rng(3);
    const d: AttentionDims = { B: 3, T: 7, D: 16, hidden: 24, heads: 3 };
    forEachIsa(() => {
      const h = randF32(rng, d.B * d.T * d.D);
      const mask = Float32Array.from({ length: d.B * d.T }, (_, i) => (i < d.T ? 0 : i % 5 === 0 ? 0 : 1));
      const w1 = randF32(rng, d.hidden * d.D, 0.3);
      const b1 = randF32(rng, d.hidden);
      const w2 = randF32(rng, d.heads * d.hidden, 0.3);
      const b2 = randF32(rng, d.heads);
      const u = new Float32Array(d.B * d.T * d.hidden);
      const a = new Float32Array(d.B * d.heads * d.T);
      const out = new Float32Array(d.B * d.heads * d.D);
      nativeKernels().attentionFusionForward(h, mask, w1, b1, w2, b2, u, a, out, d);
      const ru = new Float64Array(u.length);
      const ra = new Float64Array(a.length);
      const ro = new Float64Array(out.length);
      ref.attentionFusionForward(f64(h)!, f64(mask)!, f64(w1)!, f64(b1), f64(w2)!, f64(b2), ru, ra, ro, d);
      expectNear(u, ru, 'attention u');
      expectNear(a, ra, 'attention a');
      expectNear(out, ro, 'attention out');
      const g = randF32(rng, out.length);
      const got = [new Float32Array(h.length), new Float32Array(w1.length), new Float32Array(d.hidden), new Float32Array(w2.length), new Float32Array(d.heads)];
      nativeKernels().attentionFusionBackward(h, mask, w1, w2, u, a, g, got[0], got[1], got[2], got[3], got[4], d);
      const want = [new Float64Array(h.length), new Float64Array(w1.length), new Float64Array(d.hidden), new Float64Array(w2.length), new Float64Array(d.heads)];
      ref.attentionFusionBackward(f64(h)!, f64(mask)!, f64(w1)!, f64(w2)!, f64(u)!, f64(a)!, f64(g)!, want[0], want[1], want[2], want[3], want[4], d);
      ['gh', 'gw1', 'gb1', 'gw2', 'gb2'].forEach((name, i) => expectNear(got[i], want[i], `attention ${name}`, 5e-5));
    });
  });

  it('losses: cross-entropy and BCE with logits, values and gradients', () => {
    const rng = new Rng(4);
    forEachIsa(() => {
      const [N, C] = [9, 6];
      const x = randF32(rng, N * C, 4);
      const t = Int32Array.from({ length: N }, () => rng.int(C));
      const probs = new Float32Array(N * C);
      const rprobs = new Float64Array(N * C);
      const loss = nativeKernels().crossEntropyForward(x, t, probs, N, C);
      expect(loss).toBeCloseTo(ref.crossEntropyForward(f64(x)!, t, rprobs, N, C), 5);
      expectNear(probs, rprobs, 'probs');
      const gx = new Float32Array(N * C);
      const rgx = new Float64Array(N * C);
      nativeKernels().crossEntropyBackward(probs, t, 0.25, gx, N, C);
      ref.crossEntropyBackward(rprobs, t, 0.25, rgx, N, C);
      expectNear(gx, rgx, 'ce grad');
      const y = Float32Array.from({ length: N * C }, () => rng.uniform(0, 1));
      expect(nativeKernels().bceWithLogitsForward(x, y, N * C)).toBeCloseTo(ref.bceWithLogitsForward(f64(x)!, f64(y)!, N * C), 5);
      const gb = new Float32Array(N * C);
      const rgb = new Float64Array(N * C);
      nativeKernels().bceWithLogitsBackward(x, y, 0.5, gb, N * C);
      ref.bceWithLogitsBackward(f64(x)!, f64(y)!, 0.5, rgb, N * C);
      expectNear(gb, rgb, 'bce grad');
    });
  });

  it('dropoutMask: the same bits and final state as the reference', () => {
    forEachIsa(() => {
      for (const p of [0, 0.1, 0.5, 1]) {
        const s1 = Uint32Array.of(1, 2, 3, 0xdeadbeef);
        const s2 = s1.slice();
        const m1 = new Float32Array(777);
        const m2 = new Float32Array(777);
        const scale = p === 1 ? 0 : 1 / (1 - p);
        nativeKernels().dropoutMask(s1, p * 4294967296, scale, m1);
        ref.dropoutMask(s2, p * 4294967296, scale, m2);
        expect([...m1]).toEqual([...m2]);
        expect([...s1]).toEqual([...s2]);
      }
    });
  });

  it('bad arguments are one-line errors naming the kernel and the argument', () => {
    const a = loadAddon();
    const z = (n: number) => new Float32Array(n);
    expect(() => a.crossEntropyForward(z(6), Int32Array.of(0, 3), z(6), 2, 3)).toThrow(/crossEntropyForward: targets\[1\] = 3 is outside 0..2/);
    expect(() => a.convBlockBackward(z(8), z(2), z(4), Int32Array.of(0, 9, 0, 0), null, z(4), null, null, null, 1, 1, 8, 1, 1, 1, 0, 8, 2, 2, 4))
      .toThrow(/convBlockBackward: argmax\[1\] is outside 0..7/);
    expect(() => a.linearForward(z(4), z(4), null, 3, null, z(4), z(4), 2, 2, 2)).toThrow(/linearForward: act must be/);
    expect(() => a.attentionFusionForward(z(4), z(2), z(4), null, z(2), null, z(3), z(2), z(2), 1, 2, 2, 2, 1))
      .toThrow(/attentionFusionForward: u has 3 elements, needs 4/);
  });
});
