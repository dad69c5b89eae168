import { describe, expect, test } from 'vitest';
import { manualSeed, defaultRng, Rng } from '../src/random.js';

describe('Rng', () => {
  test('same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(sa);
  });

  test('fork depends on the seed and key only, not on draws made before', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    b.nextU32();
    b.normal();
    expect(a.fork('client-3').random()).toBe(b.fork('client-3').random());
    expect(a.fork(3).random()).not.toBe(a.fork(4).random());
    expect(a.fork(3).random()).not.toBe(a.fork('3').random());
  });

  test('uniform, normal and gamma moments match their distributions', () => {
    const rng = new Rng(1);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0, sg = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.random();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = rng.normal();
      sn += z;
      sn2 += z * z;
      sg += rng.gamma(0.5);
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 2);
    expect(sn2 / n).toBeCloseTo(1, 1);
    expect(sg / n).toBeCloseTo(0.5, 1); // E[Gamma(k, 1)] = k
  });

  test('int is unbiased over a small range and rejects bad bounds', () => {
    const rng = new Rng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => rng.int(0)).toThrow(/integer in \[1, 2\^32\]/);
  });

  test('dirichlet sums to one; sampleWithoutReplacement draws distinct values', () => {
    const rng = new Rng(9);
    const p = rng.dirichlet(0.1, 10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const s = rng.sampleWithoutReplacement(100, 30);
    expect(new Set(s).size).toBe(30);
    expect(() => rng.sampleWithoutReplacement(3, 4)).toThrow(/cannot draw 4 of 3/);
  });

  test('state round trip resumes the same stream', () => {
    const a = new Rng(11);
    a.normal();
    const state = a.getState();
    const next = [a.random(), a.normal(), a.nextU32()];
    const b = new Rng(11);
    b.setState(state);
    expect([b.random(), b.normal(), b.nextU32()]).toEqual(next);
    expect(() => new Rng(12).setState(state)).toThrow(/belongs to seed 11/);
  });

  test('manualSeed reseeds the default generator', () => {
    manualSeed(3);
    const x = defaultRng().random();
    manualSeed(3);
    expect(defaultRng().random()).toBe(x);
  });
});
