// The native aggregation ops vs the TypeScript reference (src/aggregate/reference.ts), on every ISA variant
// this machine runs: bit-identical for everything (same float64 operations in the same order).
import { describe, expect, it } from 'vitest';
import { nativeAggregateOps, referenceAggregateOps as ref } from '../src/aggregate/index.js';
import { loadAddon } from '../src/backend/native.js';
import { Rng } from '../src/random.js';
import { bitsOf, forEachIsa, nativeBuilt, randF32, skipReason } from './helpers/native.js';

const sizes = [0, 1, 3, 8, 15, 16, 17, 31, 33, 255, 256, 257, 1023, 1025, 5000];

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  expect(bitsOf(a), what).toEqual(bitsOf(b));
}

/** Float64 buffers with the same bits (a byte compare: toEqual is slow on long typed arrays). */
function sameF64(a: Float64Array, b: Float64Array, what: string): void {
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), what).toBe(true);
}

describe.skipIf(!nativeBuilt)(`native aggregation ops (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  const nat = nativeBuilt ? nativeAggregateOps() : ref;

  it('findNonFinite reports the first Inf/NaN at any position', () => {
    forEachIsa((isa) => {
      for (const n of sizes.filter((s) => s > 0)) {
        const x = randF32(new Rng(n), n);
        expect(nat.findNonFinite(x), isa).toBe(-1);
        for (const pos of [0, n >> 1, n - 1]) for (const bad of [NaN, Infinity, -Infinity]) {
          const y = x.slice();
          y[pos] = bad;
          if (pos + 1 < n) y[n - 1] = NaN;
          expect(nat.findNonFinite(y), `${isa} n=${n} pos=${pos}`).toBe(ref.findNonFinite(y));
          expect(nat.findNonFinite(y)).toBe(pos);
        }
      }
    });
  });

  it('foldGroup and finishMean are bit-identical to the reference (coefficients, any count, tails)', () => {
    const rng = new Rng(21);
    forEachIsa((isa) => {
      for (const P of [...sizes, 64, 127, 128, 4097]) for (const G of [0, 1, 3, 16, 32]) {
        const ups = Array.from({ length: G }, () => randF32(rng, P, 100));
        const c = Float64Array.from({ length: G }, () => rng.uniform(0.1, 10));
        const acc = Float64Array.from({ length: P }, () => rng.uniform(-1, 1));
        const [a1, a2] = [new Float64Array(P), new Float64Array(P)];
        expect(ref.foldGroup(acc, a1, ups, c, G)).toBe(true);
        expect(nat.foldGroup(acc, a2, ups, c, G), isa).toBe(true);
        sameF64(a2, a1, `${isa} P=${P} G=${G}`);
        const [o1, o2] = [new Float32Array(P), new Float32Array(P)];
        ref.finishMean(a1, 7.3, o1);
        nat.finishMean(a2, 7.3, o2);
        sameBits(o2, o1, isa);
      }
    });
  });

  it('foldGroup reports a non-finite product or overflow anywhere (body, tail, any update of the group)', () => {
    const rng = new Rng(27);
    forEachIsa((isa) => {
      for (const P of [1, 63, 64, 65, 1000, 5000]) {
        const ups = Array.from({ length: 5 }, () => randF32(rng, P));
        const c = Float64Array.from([1, 2, 3, 4, 5]);
        for (const g of [0, 4]) for (const pos of [0, P >> 1, P - 1]) for (const bad of [NaN, Infinity, -Infinity]) {
          const copy = ups.map((u) => u.slice());
          copy[g][pos] = bad;
          const out = new Float64Array(P);
          expect(nat.foldGroup(new Float64Array(P), out, copy, c, 5), `${isa} P=${P} g=${g} pos=${pos}`).toBe(false);
          expect(ref.foldGroup(new Float64Array(P), out, copy, c, 5)).toBe(false);
          expect(nat.foldGroup(new Float64Array(P), out, copy, c, g), `${isa} excluded`).toBe(true);
        }
        const huge = Float64Array.from([1e300, 1e300, 1, 1, 1]);
        const big = ups.map((u) => u.map(() => 3e38));
        expect(nat.foldGroup(new Float64Array(P), new Float64Array(P), big, huge, 2), isa).toBe(false);
      }
    });
  });

  it('foldGroup without accIn starts from +0.0: the bits of a fold over zeros (tails, streaming-store sizes, threads)', () => {
    const rng = new Rng(29);
    forEachIsa((isa) => {
      for (const P of [1, 17, 1025, 600_001]) {
        const ups = Array.from({ length: 3 }, () => randF32(rng, P, 10));
        ups[0][0] = -0; // −0 alone stays +0.0 in a sum started from +0.0
        ups[1][0] = -0;
        ups[2][0] = -0;
        const c = Float64Array.from([1.5, 2, 0.25]);
        const [r0, r1, n1, n4] = [0, 1, 2, 3].map(() => new Float64Array(P).fill(NaN));
        expect(ref.foldGroup(new Float64Array(P), r0, ups, c, 3)).toBe(true);
        expect(ref.foldGroup(null, r1, ups, c, 3)).toBe(true);
        expect(nat.foldGroup(null, n1, ups, c, 3, 1), isa).toBe(true);
        expect(nat.foldGroup(null, n4, ups, c, 3, 4), isa).toBe(true);
        sameF64(r1, r0, `reference P=${P}`);
        sameF64(n1, r0, `${isa} P=${P}`);
        sameF64(n4, r0, `${isa} P=${P} 4 threads`);
        expect(Object.is(n1[0], 0)).toBe(true);
        ups[2][P - 1] = Infinity;
        expect(nat.foldGroup(null, n1, ups, c, 3, 1), `${isa} P=${P} Inf`).toBe(false);
      }
    });
  });

  it('foldFinish gives the bits of foldGroup then finishMean, from accIn or from zero, on any number of threads', () => {
    const rng = new Rng(31);
    forEachIsa((isa) => {
      for (const [P, G] of [0, 1, 63, 64, 65, 1025].flatMap((p) => [0, 1, 5, 8].map((g) => [p, g])).concat([[300_001, 3]])) {
        const ups = Array.from({ length: G }, () => randF32(rng, P, 100));
        const c = Float64Array.from({ length: G }, () => rng.uniform(0.1, 10));
        const acc = Float64Array.from({ length: P }, () => rng.uniform(-1, 1));
        for (const accIn of [acc, null]) {
          const sums = new Float64Array(P);
          expect(ref.foldGroup(accIn, sums, ups, c, G)).toBe(true);
          const want = new Float32Array(P);
          ref.finishMean(sums, 7.3, want);
          const [o1, o2, o4] = [0, 1, 2].map(() => new Float32Array(P).fill(NaN));
          expect(ref.foldFinish(accIn, ups, c, G, 7.3, o1)).toBe(true);
          expect(nat.foldFinish(accIn, ups, c, G, 7.3, o2, 1), isa).toBe(true);
          expect(nat.foldFinish(accIn, ups, c, G, 7.3, o4, 4), isa).toBe(true);
          const what = `${isa} P=${P} G=${G} accIn=${accIn ? 'yes' : 'null'}`;
          const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
          expect(bytes(o1).equals(bytes(want)), `reference ${what}`).toBe(true);
          expect(bytes(o2).equals(bytes(want)), what).toBe(true);
          expect(bytes(o4).equals(bytes(want)), `${what} 4 threads`).toBe(true);
          if (G > 0 && P > 0) {
            const bad = ups.map((u) => u.slice());
            bad[G - 1][P - 1] = NaN;
            expect(nat.foldFinish(accIn, bad, c, G, 7.3, o2, 1), `${what} NaN`).toBe(false);
            expect(ref.foldFinish(accIn, bad, c, G, 7.3, o1), `reference ${what} NaN`).toBe(false);
            bad[G - 1][P - 1] = 0;
            bad[0][P >> 1] = -Infinity;
            expect(nat.foldFinish(accIn, bad, c, G, 7.3, o4, 4), `${what} −Inf`).toBe(false);
          }
        }
      }
    });
  });

  it('threaded foldGroup and finishMean give the same bits and the same verdict', () => {
    const rng = new Rng(28);
    const P = 300_001; // splits into 64 Ki-element ranges (4 with 4 threads, the last one ragged)
    const ups = Array.from({ length: 3 }, () => randF32(rng, P, 10));
    const c = Float64Array.from([1.5, 2, 0.25]);
    forEachIsa((isa) => {
      const acc = Float64Array.from({ length: P }, (_, i) => i * 1e-3);
      const [a1, a3] = [new Float64Array(P), new Float64Array(P)];
      expect(nat.foldGroup(acc, a1, ups, c, 3, 1)).toBe(true);
      expect(nat.foldGroup(acc, a3, ups, c, 3, 4)).toBe(true);
      sameF64(a3, a1, isa);
      const [o1, o3] = [new Float32Array(P), new Float32Array(P)];
      nat.finishMean(a1, 3.75, o1, 1);
      nat.finishMean(a3, 3.75, o3, 3);
      sameBits(o3, o1, isa);
      for (const at of [0, 70_000, 299_999]) {
        const x = ups.map((u) => u.slice());
        x[1][at] = NaN;
        expect(nat.foldGroup(acc, a3, x, c, 3, 4), `${isa} ${at}`).toBe(false);
      }
    });
  });

  it('pairwiseSqDist and closestToMedianMean are bit-identical (odd/even K, tails, ties)', () => {
    const rng = new Rng(29);
    forEachIsa((isa) => {
      for (const P of [1, 31, 32, 33, 2047, 2048, 2049, 5000]) for (const K of [1, 2, 5, 8]) {
        const ups = Array.from({ length: K }, () => randF32(rng, P, 4));
        if (K > 3) ups[3] = ups[1].slice(); // a duplicate: distance 0 and ties in every coordinate
        const [d1, d2] = [new Float64Array(K * K), new Float64Array(K * K)];
        ref.pairwiseSqDist(ups, d1, P);
        nat.pairwiseSqDist(ups, d2, P);
        sameF64(d2, d1, `${isa} P=${P} K=${K}`);
        for (let k = 0; k < K; k++) {
          const exact = Array.from(ups[k], (v, i) => (v - ups[(k + 1) % K][i]) ** 2).reduce((a, b) => a + b, 0);
          expect(d1[k * K + ((k + 1) % K)]).toBeCloseTo(exact, 6);
        }
        for (let beta = 1; beta <= K; beta++) {
          const [o1, o2] = [new Float32Array(P), new Float32Array(P)];
          ref.closestToMedianMean(ups, beta, o1);
          nat.closestToMedianMean(ups, beta, o2);
          sameBits(o2, o1, `${isa} closestToMedianMean P=${P} K=${K} beta=${beta}`);
        }
      }
    });
    // known values: median 3 of [1, 2, 3, 4, 10]; the 3 closest are 2, 3, 4 (tie 2 vs 4 broken by taking both
    // in turn), the 2 closest are 2 (tie with 4: the smaller) and 3
    const col = [1, 2, 3, 4, 10].map((v) => Float32Array.of(v));
    const o = new Float32Array(1);
    nat.closestToMedianMean(col, 3, o);
    expect(o[0]).toBe(3);
    nat.closestToMedianMean(col, 2, o);
    expect(o[0]).toBe(2.5);
  });

  it('sumSquares and scale are bit-identical', () => {
    const rng = new Rng(22);
    forEachIsa((isa) => {
      for (const n of sizes) {
        const x = randF32(rng, n, 3);
        const s1 = ref.sumSquares(x), s2 = nat.sumSquares(x);
        expect(s2, isa).toBe(s1);
        const [y1, y2] = [x.slice(), x.slice()];
        ref.scale(y1, 0.37);
        nat.scale(y2, 0.37);
        sameBits(y2, y1, isa);
      }
    });
  });

  it('median, trimmedMean and closestToMedianMean are bit-identical (odd/even K, small and large K, tiles, tails, ties, ±0)', () => {
    const rng = new Rng(23);
    forEachIsa((isa) => {
      for (const K of [1, 2, 3, 4, 5, 7, 10, 33, 64, 100, 129]) for (const P of [37, 64, 200]) {
        const ups = Array.from({ length: K }, () => randF32(rng, P));
        if (K > 2) ups[1].set(ups[0].subarray(0, 10)); // ties
        if (K > 3) { // −0 and +0 in one coordinate: ordered −0 first, as TypedArray sort does
          ups[2][P - 1] = -0;
          ups[3][P - 1] = 0;
          ups[0][P - 2] = -0;
          for (let k = 1; k < K; k++) ups[k][P - 2] = k % 2 ? 0 : -0;
        }
        const [o1, o2] = [new Float32Array(P), new Float32Array(P)];
        ref.median(ups, o1);
        nat.median(ups, o2);
        sameBits(o2, o1, `${isa} median K=${K} P=${P}`);
        for (let trim = 0; 2 * trim < K; trim += Math.max(1, K >> 2)) {
          ref.trimmedMean(ups, trim, o1);
          nat.trimmedMean(ups, trim, o2);
          sameBits(o2, o1, `${isa} trimmed K=${K} P=${P} trim=${trim}`);
        }
        for (const beta of new Set([1, K >> 1 || 1, K])) {
          ref.closestToMedianMean(ups, beta, o1);
          nat.closestToMedianMean(ups, beta, o2);
          sameBits(o2, o1, `${isa} closestToMedianMean K=${K} P=${P} beta=${beta}`);
        }
      }
    });
  });

  it('server optimizer steps (Adam, Yogi, Adagrad, SGD with/without momentum) are bit-identical', () => {
    const rng = new Rng(24);
    forEachIsa((isa) => {
      for (const n of [1, 7, 16, 33, 1000]) {
        for (const rule of [0, 1, 2] as const) {
          const p = randF32(rng, n), g = randF32(rng, n, 0.1), m = randF32(rng, n, 0.01);
          const v = Float32Array.from(randF32(rng, n, 0.01), (x) => x * x);
          const s1 = [p.slice(), m.slice(), v.slice()], s2 = [p.slice(), m.slice(), v.slice()];
          for (let step = 0; step < 3; step++) {
            ref.fedoptStep(rule, s1[0], g, s1[1], s1[2], 0.01, 0.9, 0.99, 1e-3);
            nat.fedoptStep(rule, s2[0], g, s2[1], s2[2], 0.01, 0.9, 0.99, 1e-3);
          }
          for (let j = 0; j < 3; j++) sameBits(s2[j], s1[j], `${isa} rule=${rule} buffer ${j}`);
        }
        for (const momentum of [0, 0.9]) {
          const p = randF32(rng, n), g = randF32(rng, n), m = randF32(rng, n);
          const [p1, m1, p2, m2] = [p.slice(), m.slice(), p.slice(), m.slice()];
          ref.serverSgdStep(p1, g, m1, 0.5, momentum);
          nat.serverSgdStep(p2, g, m2, 0.5, momentum);
          sameBits(p2, p1, isa);
          sameBits(m2, m1, isa);
        }
      }
    });
  });

  it('fp16 conversion is bit-identical over every half value and edge floats', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const edges = new Float32Array([0, -0, 65504, 65519.99, 65520, -65520, 1e9, Infinity, -Infinity, NaN,
      6.103515625e-5, 6.1e-5, 5.96e-8, 2.98e-8, 2.9802322387695312e-8, 2.99e-8, 1e-45, 1 / 3, 0.1, -2.5e-6]);
    const rnd = Float32Array.from(randF32(new Rng(26), 5000), (v, i) => v * 2 ** ((i % 40) - 30));
    forEachIsa((isa) => {
      const [f1, f2] = [new Float32Array(65536), new Float32Array(65536)];
      ref.fromFp16(all, f1);
      nat.fromFp16(all, f2);
      sameBits(f2, f1, `${isa} fromFp16`);
      for (const x of [f1, edges, rnd]) {
        const [h1, h2] = [new Uint16Array(x.length), new Uint16Array(x.length)];
        ref.toFp16(x, h1);
        nat.toFp16(x, h2);
        expect(h2, `${isa} toFp16`).toEqual(h1);
      }
      // every finite half round-trips exactly; NaNs stay NaN
      const h = new Uint16Array(65536);
      nat.toFp16(f1, h);
      for (let i = 0; i < 65536; i++) {
        const isNan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
        if (isNan) expect(Number.isNaN(f1[i])).toBe(true);
        else if (h[i] !== i) throw new Error(`${isa}: half 0x${i.toString(16)} → ${f1[i]} → 0x${h[i].toString(16)}`);
      }
    });
  });

  it('readBytes (the bench\'s read baseline) ORs every byte, on any number of threads', () => {
    const bytes = new Uint8Array(300_001 + 3);
    const x = bytes.subarray(3); // odd offset and length: head and tail bytes outside whole words
    forEachIsa((isa) => {
      for (const at of [0, 8, 65_536, 200_000, 300_000]) { // the low byte of a 64-bit word, or a tail byte
        x.fill(0);
        x[at] = 0x5a;
        for (const threads of [1, 2, 4]) expect(loadAddon().readBytes(x, threads) & 0xff, `${isa} ${at} ${threads}`).not.toBe(0);
      }
      x.fill(0);
      expect(loadAddon().readBytes(x, 4), isa).toBe(0);
    });
  });

  it('int8 quantize/dequantize are bit-identical, including half-way rounding and zero blocks', () => {
    const rng = new Rng(27);
    forEachIsa((isa) => {
      for (const n of sizes) for (const block of [1, 7, 16, 256]) {
        const x = randF32(rng, n, 5);
        if (n > 20) x.fill(0, 0, 16);
        if (n > 40) { x[30] = 127; x[31] = 0.5; x[32] = 1.5; x[33] = -2.5; } // exact halves at scale 1
        const nb = Math.ceil(n / block);
        const [q1, q2] = [new Int8Array(n), new Int8Array(n)];
        const [s1, s2] = [new Float32Array(nb), new Float32Array(nb)];
        expect(ref.quantizeInt8(x, q1, s1, block)).toBe(-1);
        expect(nat.quantizeInt8(x, q2, s2, block)).toBe(-1);
        expect(q2, `${isa} n=${n} block=${block}`).toEqual(q1);
        sameBits(s2, s1, isa);
        const [d1, d2] = [new Float32Array(n), new Float32Array(n)];
        ref.dequantizeInt8(q1, s1, d1, block);
        nat.dequantizeInt8(q1, s1, d2, block);
        sameBits(d2, d1, isa);
        if (n > 0) {
          x[n - 1] = NaN;
          expect(nat.quantizeInt8(x, q2, s2, block)).toBe(ref.quantizeInt8(x, q1, s1, block));
        }
      }
    });
  });

  it('refuses short buffers and wrong types with one-line errors', () => {
    const a = new Float32Array(4);
    expect(() => nat.foldGroup(new Float64Array(5), new Float64Array(5), [a], new Float64Array(1), 1))
      .toThrow(/foldGroup: updates\[0\] has 4 elements, needs 5/);
    const acc = new Float64Array(4);
    expect(() => nat.foldGroup(acc, acc, [a], new Float64Array(1), 1)).toThrow(/accIn and accOut must be different buffers/);
    expect(() => nat.closestToMedianMean([a, a], 3, a)).toThrow(/beta must be in 1..number of updates/);
    expect(() => nat.median([a, new Float64Array(4) as unknown as Float32Array], a))
      .toThrow(/median: updates\[1\] must be a Float32Array/);
    expect(() => nat.trimmedMean([a, a], 1, a)).toThrow(/trimming removes every update/);
    expect(() => nat.quantizeInt8(a, new Int8Array(4), new Float32Array(1), 2)).toThrow(/scales has 1 elements, needs 2/);
  });
});
