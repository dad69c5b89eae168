// The public aggregation API (src/aggregate) on the TypeScript backend and, when the addon is built, on the
// native one: known values, rejection of bad updates, precision of the streaming mean, optimizer state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, useBackend } from '../src/backend/index.js';
import {
  clipByNorm, dequantizeFp16, dequantizeInt8, FedAdagrad, FedAdam, FedYogi, findNonFinite, l2Norm, median,
  flushTogether, quantizeFp16, quantizeInt8, ServerSgd, StreamingMean, trimmedMean,
} from '../src/aggregate/index.js';
import { Rng } from '../src/random.js';
import { bitsOf, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

/** Exact-to-~2⁻¹⁰⁰ sum of doubles (Neumaier), the reference for the precision test. */
function compensatedSum(values: number[]): number {
  let s = 0, c = 0;
  for (const v of values) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

function ulp32(x: number): number {
  const e = Math.floor(Math.log2(Math.abs(x)));
  return 2 ** (Math.max(e, -126) - 23);
}

for (const backend of ['js', 'native'] as const) {
  const skip = backend === 'native' && !nativeBuilt;
  describe.skipIf(skip)(`aggregate on the ${backend} backend${skip ? ` (${skipReason})` : ''}`, () => {
    beforeAll(() => { useBackend(backend); });
    afterAll(() => { useBackend('auto'); });

    it('runs on the requested backend', () => {
      expect(backendInfo().name).toBe(backend);
    });

    it('StreamingMean gives the weighted mean, the same bits for every pending size', () => {
      const rng = new Rng(31);
      const P = 1001;
      const ups = Array.from({ length: 23 }, () => randF32(rng, P, 10));
      const ws = ups.map(() => rng.uniform(0.5, 3));
      const results = [1, 2, 4, 16].map((pending) => {
        const sm = new StreamingMean(P, { pending });
        ups.forEach((u, k) => sm.add(u, ws[k]));
        const r = sm.result();
        expect(sm.count).toBe(23);
        return r;
      });
      for (const r of results.slice(1)) expect(bitsOf(r)).toEqual(bitsOf(results[0]));
      const W = ws.reduce((a, b) => a + b, 0);
      for (const i of [0, 500, 1000]) {
        const expected = ups.reduce((s, u, k) => s + ws[k] * u[i], 0) / W;
        expect(results[0][i]).toBeCloseTo(expected, 5);
      }
    });

    it('StreamingMean gives the same bits with P split across threads', () => {
      const rng = new Rng(37);
      const P = 200_003;
      const ups = Array.from({ length: 6 }, () => randF32(rng, P));
      const [one, three] = [new StreamingMean(P), new StreamingMean(P, { threads: 3 })];
      ups.forEach((u, k) => { one.add(u, k + 1); three.add(u, k + 1); });
      const bad = ups[0].slice();
      bad[150_000] = Infinity;
      three.add(bad, 1, 99);
      expect(bitsOf(three.result())).toEqual(bitsOf(one.result()));
      expect(three.flush()).toEqual([{ tag: 99, reason: 'non-finite value (Infinity) at index 150000' }]);
      expect(() => new StreamingMean(4, { threads: 0 })).toThrow(/threads must be an integer in 1..64/);
    });

    it('StreamingMean keeps a reference until the fold: it reads each update once, when its group folds', () => {
      const sm = new StreamingMean(3, { pending: 2 });
      const buf = f32(1, 2, 3);
      sm.add(buf, 1);
      expect(sm.waitingCount).toBe(1);
      expect(sm.count).toBe(0);
      sm.add(f32(3, 4, 5), 1);
      sm.flush();
      expect(sm.count).toBe(2);
      buf.set([100, 100, 100]); // folded already: no effect
      expect(Array.from(sm.result())).toEqual([2, 3, 4]);
    });

    it('StreamingMean rejects a non-finite update at its fold and leaves the mean bit-identical to never having seen it', () => {
      const rng = new Rng(32);
      const P = 777; // a tail after the 64-wide body
      const ups = Array.from({ length: 11 }, () => randF32(rng, P));
      for (const pending of [1, 3, 8]) {
        const good = new StreamingMean(P, { pending });
        const withBad = new StreamingMean(P, { pending });
        const expectedRejections: { tag: number; reason: string }[] = [];
        ups.forEach((u, k) => {
          good.add(u, k + 1);
          withBad.add(u, k + 1, k);
          if (k % 3 === 1) {
            const bad = u.slice();
            bad[k * 50] = k % 2 ? Infinity : NaN;
            withBad.add(bad, 2, 100 + k);
            expectedRejections.push({ tag: 100 + k, reason: `non-finite value (${bad[k * 50]}) at index ${k * 50}` });
          }
        });
        expect(bitsOf(withBad.result()), `pending ${pending}`).toEqual(bitsOf(good.result()));
        expect(withBad.count).toBe(11);
        expect(withBad.weight).toBe(66);
        expect(withBad.flush()).toEqual(expectedRejections);
        expect(withBad.flush()).toEqual([]);
      }
      const sm = new StreamingMean(5);
      expect(() => sm.add(new Float32Array(4))).toThrow(/update has 4 values, expected 5/);
      expect(() => sm.add(new Float32Array(5), 0)).toThrow(/weight must be a positive finite number/);
      expect(() => sm.add(new Float32Array(5), NaN)).toThrow(/weight must be a positive finite number/);
      sm.add(f32(1, 2, NaN, 4, 5));
      expect(() => sm.result()).toThrow(/no updates were accepted/);
      sm.reset();
      expect(() => sm.result()).toThrow(/no updates were accepted/);
    });

    it('StreamingMean rejects an update whose weighted values overflow float64, exactly', () => {
      const good = new StreamingMean(3);
      const withBad = new StreamingMean(3);
      good.add(f32(1, 2, 3), 2);
      withBad.add(f32(1, 2, 3), 2, 0);
      withBad.add(f32(3e38, 0, 0), 1e300, 1);
      good.add(f32(5, 6, 7), 1);
      withBad.add(f32(5, 6, 7), 1, 2);
      expect(bitsOf(withBad.result())).toEqual(bitsOf(good.result()));
      expect(withBad.flush()).toEqual([{ tag: 1, reason: 'weighted values overflow float64 (weight 1e+300)' }]);
    });

    it('flushTogether rejects an update from every mean when one of its vectors is bad', () => {
      const rng = new Rng(38);
      const P = 100;
      const [d, e, dRef, eRef] = [0, 1, 2, 3].map(() => new StreamingMean(P, { pending: 4 }));
      for (let k = 0; k < 4; k++) {
        const [u, v] = [randF32(rng, P), randF32(rng, P)];
        d.add(u, 1, k);
        if (k === 2) v[7] = NaN;
        e.add(v, 1, k);
        if (k !== 2) { dRef.add(u, 1, k); eRef.add(v, 1, k); }
      }
      expect(flushTogether([d, e])).toEqual([{ tag: 2, reason: 'non-finite value (NaN) at index 7' }]);
      expect(bitsOf(d.result())).toEqual(bitsOf(dRef.result()));
      expect(bitsOf(e.result())).toEqual(bitsOf(eRef.result()));
      expect(d.count).toBe(3);
    });

    it('StreamingMean scale multiplies the values, not the weight', () => {
      const sm = new StreamingMean(2);
      sm.add(f32(2, 4), 1, 0, 0.5);
      sm.add(f32(1, 1), 3);
      expect(Array.from(sm.result())).toEqual([1, 1.25]);
    });

    it('StreamingMean over 10,000 updates stays within ½ ulp(float32) + 10⁴·2⁻⁵³·Σ|w·u|/Σw of the exact mean', () => {
      // Values near 1 with small offsets and weights 1..7: a float32 accumulator loses ~10⁴·2⁻²⁴ relative
      // here (checked below, so this test can tell the two apart); the float64 one stays within the bound.
      const rng = new Rng(33);
      const P = 16, N = 10_000;
      const sm = new StreamingMean(P);
      const terms: number[][] = Array.from({ length: P }, () => []);
      const naive = new Float32Array(P);
      let W = 0;
      for (let n = 0; n < N; n++) {
        const u = new Float32Array(P);
        const w = 1 + (n % 7);
        for (let i = 0; i < P; i++) u[i] = 1 + rng.uniform(-1e-3, 1e-3) * (i + 1);
        sm.add(u, w);
        W += w;
        for (let i = 0; i < P; i++) {
          terms[i].push(w * u[i]);
          naive[i] = Math.fround(naive[i] + Math.fround(w * u[i]));
        }
      }
      const r = sm.result();
      let naiveWorst = 0;
      for (let i = 0; i < P; i++) {
        const exact = compensatedSum(terms[i]) / W;
        const absSum = terms[i].reduce((s, t) => s + Math.abs(t), 0);
        const bound = 0.5 * ulp32(exact) + N * 2 ** -53 * absSum / W;
        expect(Math.abs(r[i] - exact), `coordinate ${i}`).toBeLessThanOrEqual(bound);
        naiveWorst = Math.max(naiveWorst, Math.abs(naive[i] / W - exact) / bound);
      }
      expect(naiveWorst).toBeGreaterThan(10);
    });

    it('median and trimmedMean: known values, even and odd K, and refusal of NaN', () => {
      const ups = [f32(1, 10, -3), f32(5, 20, -1), f32(3, 0, 100), f32(4, 30, 2)];
      expect(Array.from(median(ups.slice(0, 3)))).toEqual([3, 10, -1]);
      expect(Array.from(median(ups))).toEqual([3.5, 15, 0.5]);
      expect(Array.from(trimmedMean(ups, 0.25))).toEqual([3.5, 15, 0.5]);
      expect(Array.from(trimmedMean(ups, 0))).toEqual([3.25, 15, 24.5]);
      const out = new Float32Array(3);
      expect(median(ups, out)).toBe(out);
      expect(() => median([f32(1, NaN)])).toThrow(/updates\[0\] has a non-finite value at index 1/);
      expect(() => trimmedMean(ups, 0.5)).toThrow(/beta must be in \[0, 0.5\)/);
      expect(() => median([f32(1), f32(1, 2)])).toThrow(/updates\[1\] has 2 values, updates\[0\] has 1/);
    });

    it('l2Norm, clipByNorm and findNonFinite', () => {
      const x = f32(3, 4, 0, 0, 0, 0, 0, 0, 0, 12);
      expect(l2Norm(x)).toBe(13);
      expect(clipByNorm(x, 26)).toBe(13);
      expect(Array.from(x.slice(0, 2))).toEqual([3, 4]);
      expect(clipByNorm(x, 6.5)).toBe(13);
      expect(l2Norm(x)).toBeCloseTo(6.5, 6);
      expect(x[1]).toBe(2);
      expect(findNonFinite(x)).toBe(-1);
      x[7] = -Infinity;
      expect(findNonFinite(x)).toBe(7);
      expect(() => clipByNorm(x, 1)).toThrow(/non-finite value at index 7/);
    });

    it('server optimizers follow Reddi et al. on hand-computed values', () => {
      // g = 2, m0 = 0, v0 = τ² = 1e-6, lr = 0.1, β1 = 0.9, β2 = 0.99 → m = 0.2
      const g = f32(2);
      const m = Math.fround(0.2);
      const cases: [FedAdam | FedYogi | FedAdagrad, number][] = [
        [new FedAdam(1, { lr: 0.1 }), Math.fround(0.99 * 1e-6 + 0.01 * 4)],
        [new FedYogi(1, { lr: 0.1 }), Math.fround(1e-6 - 0.01 * 4 * -1)],
        [new FedAdagrad(1, { lr: 0.1 }), Math.fround(1e-6 + 4)],
      ];
      for (const [opt, v] of cases) {
        const p = f32(1);
        opt.step(p, g);
        expect(opt.m[0]).toBe(m);
        expect(opt.v[0]).toBe(Math.fround(v));
        expect(p[0]).toBe(Math.fround(1 - 0.1 * m / (Math.sqrt(Math.fround(v)) + 1e-3)));
      }
      const sgd = new ServerSgd(2, { lr: 0.5, momentum: 0.9 });
      const p = f32(1, 1);
      sgd.step(p, f32(1, -1));
      sgd.step(p, f32(1, -1));
      expect(Array.from(sgd.m)).toEqual([Math.fround(1.9), Math.fround(-1.9)]);
      expect(Array.from(p)).toEqual([Math.fround(Math.fround(0.5) - 0.5 * Math.fround(1.9)), Math.fround(Math.fround(1.5) + 0.5 * Math.fround(1.9))]);
      expect(() => sgd.step(f32(1), f32(1))).toThrow(/params has 1 values, expected 2/);
    });

    it('server optimizer state round-trips through a checkpoint', () => {
      const rng = new Rng(34);
      const P = 50;
      const grads = Array.from({ length: 6 }, () => randF32(rng, P));
      const run = (resumeAt: number | null): Float32Array => {
        let opt = new FedYogi(P, { lr: 0.05 });
        const p = randF32(new Rng(35), P);
        grads.forEach((g, t) => {
          if (t === resumeAt) {
            const saved = { m: opt.state().m.slice(), v: opt.state().v.slice() };
            opt = new FedYogi(P, { lr: 0.05 });
            opt.loadState(saved);
          }
          opt.step(p, g);
        });
        return p;
      };
      expect(bitsOf(run(3))).toEqual(bitsOf(run(null)));
      expect(() => new FedAdam(3, { lr: 1 }).loadState({ m: new Float32Array(2), v: new Float32Array(3) }))
        .toThrow(/m has 2 values, expected 3/);
    });

    it('fp16: known encodings, rounding to even, overflow to Inf', () => {
      const x = f32(1, -2, 1 / 3, 65504, 65519, 65520, 2 ** -25, 2 ** -25 * 1.5, 2 ** -24, 0, -0, NaN);
      const h = quantizeFp16(x);
      expect(Array.from(h)).toEqual([0x3c00, 0xc000, 0x3555, 0x7bff, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0001, 0, 0x8000, 0x7e00]);
      const back = dequantizeFp16(h);
      expect(Array.from(back.slice(0, 4))).toEqual([1, -2, Math.fround(0.333251953125), 65504]);
      expect(back[5]).toBe(Infinity);
      expect(Number.isNaN(back[11])).toBe(true);
    });

    it('int8: per-block scales, round half to even, error ≤ scale/2, NaN refused', () => {
      const x = f32(127, 0.5, 1.5, -2.5, /* block 2 */ 0, 0, 0, 0, /* block 3 */ -8, 1);
      const p = quantizeInt8(x, 4);
      expect(Array.from(p.q)).toEqual([127, 0, 2, -2, 0, 0, 0, 0, -127, 16]);
      expect(Array.from(p.scales)).toEqual([1, 0, Math.fround(8 / 127)]);
      const rng = new Rng(36);
      const y = randF32(rng, 1000, 3);
      const q = quantizeInt8(y, 64);
      const d = dequantizeInt8(q);
      for (let i = 0; i < y.length; i++) {
        expect(Math.abs(d[i] - y[i])).toBeLessThanOrEqual(q.scales[Math.floor(i / 64)] * 0.5 * (1 + 1e-6));
      }
      y[999] = NaN;
      expect(() => quantizeInt8(y, 64)).toThrow(/non-finite value at index 999/);
    });
  });
}
