// Update compression: each scheme's error bound, payload size and payload validation.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { COMPRESSED_EXT_TYPES, compressionName, compressVector, decompressVector, parseCompression, topKIndices, type Compression } from '../src/runtime/compression.js';

function randomVector(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

const roundTrip = (x: Float32Array, c: Exclude<Compression, { kind: 'none' }>, seed = 0) => {
  const v = compressVector(x, c, new Rng(seed));
  return { ...v, x̂: decompressVector(v.type, v.payload) };
};

describe('compression schemes', () => {
  it('parses the --compress spellings and refuses bad ones in one line', () => {
    expect(parseCompression('fp16')).toEqual({ kind: 'fp16' });
    expect(parseCompression('int8')).toEqual({ kind: 'int8', blockSize: 256 });
    expect(parseCompression('int8:64')).toEqual({ kind: 'int8', blockSize: 64 });
    expect(parseCompression('topk:0.01')).toEqual({ kind: 'topk', fraction: 0.01 });
    expect(parseCompression('qsgd:8')).toEqual({ kind: 'qsgd', levels: 8 });
    for (const s of ['none', 'fp16', 'int8:64', 'topk:0.05', 'qsgd:4']) expect(compressionName(parseCompression(s))).toBe(s);
    expect(() => parseCompression('topk')).toThrow("compression 'topk': topk needs a number, e.g. topk:0.01");
    expect(() => parseCompression('topk:2')).toThrow("compression 'topk:2': the top-k fraction must be in (0, 1]");
    expect(() => parseCompression('qsgd:0.5')).toThrow(/QSGD levels must be an integer/);
    expect(() => parseCompression('fp16:3')).toThrow('fp16 takes no parameter');
    expect(() => parseCompression('zip')).toThrow(/unknown scheme/);
  });

  it('fp16: relative error ≤ 2⁻¹¹ in the normal range, 2 bytes a value', () => {
    const x = randomVector(5000, 1, 0.1);
    const { x̂, payload } = roundTrip(x, { kind: 'fp16' });
    expect(payload.length).toBe(2 * x.length);
    for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) >= 2 ** -14) expect(Math.abs(x̂[i] - x[i])).toBeLessThanOrEqual(2 ** -11 * Math.abs(x[i]));
  });

  it('int8: error ≤ scale/2 per block (scale = max|x|/127), 1 byte a value plus a scale per block', () => {
    const x = randomVector(1000, 2, 3);
    const { x̂, payload } = roundTrip(x, { kind: 'int8', blockSize: 64 });
    expect(payload.length).toBe(8 + 4 * Math.ceil(1000 / 64) + 1000);
    for (let b = 0; b < 1000; b += 64) {
      const block = x.subarray(b, b + 64);
      const scale = Math.max(...Array.from(block, Math.abs)) / 127;
      for (let i = b; i < Math.min(1000, b + 64); i++) expect(Math.abs(x̂[i] - x[i])).toBeLessThanOrEqual(scale / 2 * (1 + 1e-6));
    }
  });

  it('topk: the k largest magnitudes exactly, zeros elsewhere; ties go to the lower index', () => {
    const x = randomVector(997, 3);
    const { x̂, payload } = roundTrip(x, { kind: 'topk', fraction: 0.05 });
    const k = Math.ceil(0.05 * 997);
    expect(payload.length).toBe(8 + 8 * k);
    const kept = Array.from(x̂.keys()).filter((i) => x̂[i] !== 0);
    expect(kept.length).toBe(k);
    const sorted = Array.from(x, Math.abs).sort((a, b) => b - a);
    for (const i of kept) expect(x̂[i]).toBe(x[i]);
    for (let i = 0; i < x.length; i++) if (x̂[i] === 0) expect(Math.abs(x[i])).toBeLessThanOrEqual(sorted[k - 1]);
    expect(Array.from(topKIndices(Float32Array.from([1, -3, 3, 2, -3, 0]), 2))).toEqual([1, 2]);
    expect(Array.from(topKIndices(Float32Array.from([5, 1]), 7))).toEqual([0, 1]);
  });

  it('qsgd: |x̂ᵢ − xᵢ| ≤ ‖x‖/s, unbiased, ceil(log₂(2s+1)) bits a value', () => {
    const x = randomVector(1000, 4);
    const norm = Math.hypot(...x);
    const { x̂, payload } = roundTrip(x, { kind: 'qsgd', levels: 8 }, 7);
    expect(payload.length).toBe(12 + Math.ceil((1000 * 5) / 8));
    for (let i = 0; i < x.length; i++) expect(Math.abs(x̂[i] - x[i])).toBeLessThanOrEqual((norm / 8) * (1 + 1e-6));
    const small = Float32Array.from([0.3, -0.1, 0.05, 0.9, -0.2, 0]);
    const trials = 4000;
    const mean = new Float64Array(small.length);
    const rng = new Rng(9);
    for (let t = 0; t < trials; t++) {
      const v = compressVector(small, { kind: 'qsgd', levels: 2 }, rng);
      decompressVector(v.type, v.payload).forEach((y, i) => (mean[i] += y / trials));
    }
    const bound = 4 * (Math.hypot(...small) / 2) / Math.sqrt(trials);
    small.forEach((xi, i) => expect(Math.abs(mean[i] - xi)).toBeLessThan(bound));
    expect(mean[5]).toBe(0);
  });

  it('refuses malformed payloads with one line naming what is wrong', () => {
    const x = randomVector(40, 5);
    const bad = (type: number, payload: Uint8Array) => () => decompressVector(type, payload);
    const topk = compressVector(x, { kind: 'topk', fraction: 0.1 }, new Rng(0));
    expect(bad(topk.type, topk.payload.subarray(0, 20))).toThrow(/^topk payload of 20 bytes, expected 40$/);
    const swapped = topk.payload.slice();
    new Uint32Array(swapped.buffer, 8, 4).reverse();
    expect(bad(topk.type, swapped)).toThrow(/^topk index\[1\] = \d+ is out of range or not ascending$/);
    const int8 = compressVector(x, { kind: 'int8', blockSize: 16 }, new Rng(0));
    const nanScale = int8.payload.slice();
    new DataView(nanScale.buffer).setFloat32(8, NaN, true);
    expect(bad(int8.type, nanScale)).toThrow('int8 scale[0] is NaN');
    const q = compressVector(x, { kind: 'qsgd', levels: 2 }, new Rng(0));
    const over = q.payload.slice();
    over[12] = 0xff;
    expect(bad(q.type, over)).toThrow(/^qsgd code\[0\] = 7 exceeds 2·levels$/);
    expect(bad(COMPRESSED_EXT_TYPES.fp16, new Uint8Array(3))).toThrow('fp16 payload of 3 bytes (must be even)');
    expect(bad(99, new Uint8Array(4))).toThrow('unknown vector extension type 99');
  });
});

describe('payload sizes', () => {
  it('payloadBytes predicts every scheme\'s payload exactly', async () => {
    const { payloadBytes } = await import('../src/runtime/compression.js');
    const x = randomVector(1234, 8);
    for (const spec of ['fp16', 'int8', 'int8:100', 'topk:0.01', 'topk:1', 'qsgd:8', 'qsgd:1', 'qsgd:300']) {
      const c = parseCompression(spec) as Exclude<Compression, { kind: 'none' }>;
      expect(compressVector(x, c, new Rng(1)).payload.length, spec).toBe(payloadBytes(c, x.length));
    }
    expect(payloadBytes({ kind: 'none' }, 10)).toBe(44);
  });
});
