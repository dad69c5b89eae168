import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/index.js';
import { Rng } from '../src/random.js';
import { gruBackward, gruForward } from '../src/backend/js/gru.js';
import { GRU, gru } from '../src/nn/gru.js';
import { expectClose, gradcheck, randTensor } from './helpers/gradcheck.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * An independent scalar GRU straight from PyTorch's equations (no GEMM, no shared code with the kernel):
 * x[B][T][I], wIh[3H][I], wHh[3H][H] as nested arrays; returns out[B][T][H] (zeros after each length) and hN[B][H].
 */
function scalarGru(x: number[][][], lengths: number[], h0: number[][] | null, wIh: number[][], wHh: number[][],
  bIh: number[] | null, bHh: number[] | null): { out: number[][][]; hN: number[][] } {
  const H = wHh[0].length;
  const out: number[][][] = [];
  const hN: number[][] = [];
  x.forEach((seq, b) => {
    let h = h0 ? [...h0[b]] : new Array<number>(H).fill(0);
    const rows: number[][] = [];
    seq.forEach((xt, t) => {
      if (t >= lengths[b]) {
        rows.push(new Array<number>(H).fill(0));
        return;
      }
      const gate = (g: number, j: number): [number, number] => {
        const row = g * H + j;
        let input = bIh ? bIh[row] : 0;
        for (let i = 0; i < xt.length; i++) input += wIh[row][i] * xt[i];
        let hidden = bHh ? bHh[row] : 0;
        for (let k = 0; k < H; k++) hidden += wHh[row][k] * h[k];
        return [input, hidden];
      };
      const next: number[] = [];
      for (let j = 0; j < H; j++) {
        const [ir, hr] = gate(0, j);
        const [iz, hz] = gate(1, j);
        const [inn, hn] = gate(2, j);
        const r = sigmoid(ir + hr);
        const z = sigmoid(iz + hz);
        const n = Math.tanh(inn + r * hn);
        next.push((1 - z) * n + z * h[j]);
      }
      h = next;
      rows.push([...h]);
    });
    out.push(rows);
    hN.push(h);
  });
  return { out, hN };
}

/** Nested rows of a flat row-major array. */
function nest(data: ArrayLike<number>, shape: number[]): any {
  if (shape.length === 1) return Array.from(data).slice(0, shape[0]);
  const inner = shape.slice(1).reduce((p, d) => p * d, 1);
  return Array.from({ length: shape[0] }, (_, i) =>
    nest(Array.from(data).slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

interface Case {
  x: Tensor;
  h0: Tensor;
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor;
  bHh: Tensor;
}

function randomCase(B: number, T: number, I: number, H: number, seed: number): Case {
  const rng = new Rng(seed);
  return {
    x: randTensor([B, T, I], rng),
    h0: randTensor([1, B, H], rng),
    wIh: randTensor([3 * H, I], rng),
    wHh: randTensor([3 * H, H], rng),
    bIh: randTensor([3 * H], rng),
    bHh: randTensor([3 * H], rng),
  };
}

function expectedOf(c: Case, lengths: number[], withH0 = true, withBias = true) {
  const [B, T, I] = c.x.shape;
  const H = c.wHh.shape[1];
  return scalarGru(nest(c.x.data, [B, T, I]), lengths, withH0 ? nest(c.h0.data, [B, H]) : null,
    nest(c.wIh.data, [3 * H, I]), nest(c.wHh.data, [3 * H, H]),
    withBias ? Array.from(c.bIh.data) : null, withBias ? Array.from(c.bHh.data) : null);
}

describe('gru forward', () => {
  it('matches a hand-worked step: only W_in nonzero gives h = ½·tanh(x)', () => {
    // H = 1, I = 1, T = 1: r = z = σ(0) = ½, n = tanh(1·0.5), h = (1 − ½)·n + ½·0.
    const x = Tensor.from([0.5], [1, 1, 1], { dtype: 'float64' });
    const wIh = Tensor.from([0, 0, 1], [3, 1], { dtype: 'float64' });
    const wHh = Tensor.zeros([3, 1], { dtype: 'float64' });
    const [out, hN] = gru(x, null, null, wIh, wHh, null, null);
    expectClose(out.data, [0.5 * Math.tanh(0.5)], 1e-15, 0);
    expect(hN.shape).toEqual([1, 1, 1]);
    expectClose(hN.data, [0.5 * Math.tanh(0.5)], 1e-15, 0);
  });

  it('matches the equations worked by hand for H = 2, I = 1, T = 2', () => {
    // Rows of W_ih / W_hh / biases in gate order r, z, n (two units each).
    const wIh = [0.5, -0.3, 0.8, 0.1, -0.6, 0.9];
    const wHh = [0.2, -0.1, 0.4, 0.3, -0.5, 0.7, 0.6, -0.2, 0.1, 0.9, -0.4, 0.25];
    const bIh = [0.1, -0.2, 0.05, 0.3, -0.1, 0.2];
    const bHh = [-0.05, 0.15, 0.2, -0.1, 0.3, -0.25];
    const xs = [1.5, -0.7];
    const h0 = [0.3, -0.4];
    // Step by step, unit by unit: a_g,j = W_ih[g·2+j]·x + b_ih[g·2+j] and W_hh[g·2+j,:]·h + b_hh[g·2+j].
    let h = [...h0];
    const expected: number[] = [];
    for (const xt of xs) {
      const hh = (row: number) => wHh[2 * row] * h[0] + wHh[2 * row + 1] * h[1] + bHh[row];
      const next = [0, 1].map((j) => {
        const r = sigmoid(wIh[j] * xt + bIh[j] + hh(j));
        const z = sigmoid(wIh[2 + j] * xt + bIh[2 + j] + hh(2 + j));
        const n = Math.tanh(wIh[4 + j] * xt + bIh[4 + j] + r * hh(4 + j));
        return (1 - z) * n + z * h[j];
      });
      h = next;
      expected.push(...h);
    }
    const f64 = { dtype: 'float64' as const };
    const [out, hN] = gru(Tensor.from(xs, [1, 2, 1], f64), null, Tensor.from(h0, [1, 1, 2], f64),
      Tensor.from(wIh, [6, 1], f64), Tensor.from(wHh, [6, 2], f64), Tensor.from(bIh, [6], f64), Tensor.from(bHh, [6], f64));
    expect(out.shape).toEqual([1, 2, 2]);
    expectClose(out.data, expected, 1e-14, 0);
    expectClose(hN.data, expected.slice(2), 1e-14, 0);
  });

  it('agrees with the scalar reference on a mixed-length batch: zeros after each length, hN at the last valid step', () => {
    const c = randomCase(4, 5, 3, 4, 7);
    const lengths = [5, 2, 0, 3];
    const [out, hN] = gru(c.x, Int32Array.from(lengths), c.h0, c.wIh, c.wHh, c.bIh, c.bHh);
    const e = expectedOf(c, lengths);
    expectClose(out.data, e.out.flat(2), 1e-13, 0);
    expectClose(hN.data, e.hN.flat(), 1e-13, 0);
    const H = 4;
    lengths.forEach((len, b) => {
      for (let t = len; t < 5; t++) {
        expect(Array.from(out.data.subarray((b * 5 + t) * H, (b * 5 + t + 1) * H))).toEqual([0, 0, 0, 0]);
      }
      const last = len === 0 ? c.h0.data.subarray(b * H, (b + 1) * H) : out.data.subarray((b * 5 + len - 1) * H, (b * 5 + len) * H);
      expect(Array.from(hN.data.subarray(b * H, (b + 1) * H))).toEqual(Array.from(last));
    });
  });

  it('without h0 or biases matches the reference with zeros in their place', () => {
    const c = randomCase(2, 3, 2, 3, 8);
    const [out, hN] = gru(c.x, null, null, c.wIh, c.wHh, null, null);
    const e = expectedOf(c, [3, 3], false, false);
    expectClose(out.data, e.out.flat(2), 1e-13, 0);
    expectClose(hN.data, e.hN.flat(), 1e-13, 0);
  });

  it('packs: a sample of length L gives what running it alone, truncated to L, gives', () => {
    const c = randomCase(3, 6, 2, 3, 9);
    const lengths = [6, 4, 1];
    const [out, hN] = gru(c.x, Int32Array.from(lengths), c.h0, c.wIh, c.wHh, c.bIh, c.bHh);
    const H = 3;
    lengths.forEach((len, b) => {
      const xb = c.x.slice(0, b, b + 1).slice(1, 0, len);
      const h0b = c.h0.slice(1, b, b + 1);
      const [alone, aloneN] = gru(xb, null, h0b, c.wIh, c.wHh, c.bIh, c.bHh);
      expectClose(out.data.subarray(b * 6 * H, (b * 6 + len) * H), alone.data, 1e-15, 0);
      expectClose(hN.data.subarray(b * H, (b + 1) * H), aloneN.data, 1e-15, 0);
    });
  });

  it('float32 agrees with float64', () => {
    const c = randomCase(3, 4, 3, 5, 10);
    const lengths = Int32Array.from([4, 0, 2]);
    const f32 = (t: Tensor) => Tensor.from(Float32Array.from(t.data), t.shape);
    const [o64, n64] = gru(c.x, lengths, c.h0, c.wIh, c.wHh, c.bIh, c.bHh);
    const [o32, n32] = gru(f32(c.x), lengths, f32(c.h0), f32(c.wIh), f32(c.wHh), f32(c.bIh), f32(c.bHh));
    expect(o32.dtype).toBe('float32');
    expectClose(o32.data, o64.data, 1e-5, 1e-4);
    expectClose(n32.data, n64.data, 1e-5, 1e-4);
  });
});

describe('gru gradients (finite differences, float64)', () => {
  const lengths = Int32Array.from([4, 2, 0, 3]);
  const both = (out: Tensor, hN: Tensor) => Tensor.cat([out.reshape([-1]), hN.reshape([-1])], 0);

  it('through output only', () => {
    const c = randomCase(4, 4, 3, 3, 11);
    gradcheck((x, h0, wIh, wHh, bIh, bHh) => gru(x, lengths, h0, wIh, wHh, bIh, bHh)[0],
      [c.x, c.h0, c.wIh, c.wHh, c.bIh, c.bHh]);
  });

  it('through hN only', () => {
    const c = randomCase(4, 4, 3, 3, 12);
    gradcheck((x, h0, wIh, wHh, bIh, bHh) => gru(x, lengths, h0, wIh, wHh, bIh, bHh)[1],
      [c.x, c.h0, c.wIh, c.wHh, c.bIh, c.bHh]);
  });

  it('through both outputs', () => {
    const c = randomCase(4, 4, 3, 3, 13);
    gradcheck((x, h0, wIh, wHh, bIh, bHh) => both(...gru(x, lengths, h0, wIh, wHh, bIh, bHh)),
      [c.x, c.h0, c.wIh, c.wHh, c.bIh, c.bHh]);
  });

  it('without lengths, h0 or biases', () => {
    const c = randomCase(2, 3, 2, 2, 14);
    gradcheck((x, wIh, wHh) => both(...gru(x, null, null, wIh, wHh, null, null)), [c.x, c.wIh, c.wHh]);
  });

  it('accumulates when both outputs feed one loss through separate paths', () => {
    const c = randomCase(2, 3, 2, 2, 15);
    gradcheck((x, wHh) => {
      const [out, hN] = gru(x, Int32Array.from([3, 1]), c.h0, c.wIh, wHh, c.bIh, c.bHh);
      return out.sum(1).add(hN.reshape([2, 2]).mul(2));
    }, [c.x, c.wHh]);
  });
});

describe('gru kernels', () => {
  const d = { B: 3, T: 4, I: 2, H: 3 };
  const lengths = Int32Array.from([4, 0, 3]);
  const c = randomCase(d.B, d.T, d.I, d.H, 16);
  const out = new Float64Array(d.B * d.T * d.H);
  const hN = new Float64Array(d.B * d.H);
  const saved = new Float64Array(d.B * d.T * 4 * d.H);
  gruForward(c.x.data, lengths, c.h0.data, c.wIh.data, c.wHh.data, c.bIh.data, c.bHh.data, out, hN, saved, d);
  const rng = new Rng(17);
  const gOut = Float64Array.from({ length: out.length }, () => rng.uniform(-1, 1));
  const ghN = Float64Array.from({ length: hN.length }, () => rng.uniform(-1, 1));
  const sizes = [d.B * d.T * d.I, d.B * d.H, 3 * d.H * d.I, 3 * d.H * d.H, 3 * d.H, 3 * d.H];
  const run = (go: Float64Array | null, gh: Float64Array | null, want = [true, true, true, true, true, true]) => {
    const g = sizes.map((n, k) => (want[k] ? new Float64Array(n).fill(Number.NaN) : null));
    gruBackward(c.x.data, lengths, c.h0.data, c.wIh.data, c.wHh.data, out, saved, go, gh,
      g[0], g[1], g[2], g[3], g[4], g[5], d);
    return g;
  };

  it('saves (r, z, n, W_hn·h + b_hn) per valid step and zeros elsewhere', () => {
    const H = d.H;
    // Sample 0, step 0 from h0: recompute the four saved vectors directly.
    const x0 = c.x.data.subarray(0, d.I);
    const h = c.h0.data.subarray(0, H);
    const lin = (w: Float64Array, v: ArrayLike<number>, b: Float64Array, row: number) => {
      let s = b[row];
      for (let k = 0; k < v.length; k++) s += w[row * v.length + k] * v[k];
      return s;
    };
    for (let j = 0; j < H; j++) {
      const wi = c.wIh.data as Float64Array;
      const wh = c.wHh.data as Float64Array;
      const bi = c.bIh.data as Float64Array;
      const bh = c.bHh.data as Float64Array;
      const r = sigmoid(lin(wi, x0, bi, j) + lin(wh, h, bh, j));
      const z = sigmoid(lin(wi, x0, bi, H + j) + lin(wh, h, bh, H + j));
      const hn = lin(wh, h, bh, 2 * H + j);
      const n = Math.tanh(lin(wi, x0, bi, 2 * H + j) + r * hn);
      expectClose([saved[j], saved[H + j], saved[2 * H + j], saved[3 * H + j]], [r, z, n, hn], 1e-14, 0);
    }
    expect(saved.subarray(1 * d.T * 4 * H, 2 * d.T * 4 * H).every((v) => v === 0)).toBe(true);
    expect(saved.subarray((2 * d.T + 3) * 4 * H, (2 * d.T + 4) * 4 * H).every((v) => v === 0)).toBe(true);
  });

  it('treats a null gOut or ghN as zeros and overwrites every output', () => {
    const zeroOut = new Float64Array(gOut.length);
    const zeroN = new Float64Array(ghN.length);
    const cases: [Float64Array | null, Float64Array | null, Float64Array, Float64Array][] = [
      [null, ghN, zeroOut, ghN],
      [gOut, null, gOut, zeroN],
    ];
    for (const [go, gh, goDense, ghDense] of cases) {
      const sparse = run(go, gh);
      const dense = run(goDense, ghDense);
      sparse.forEach((g, k) => {
        expect(g!.every(Number.isFinite), `output ${k} fully written`).toBe(true);
        expect(Array.from(g!)).toEqual(Array.from(dense[k]!));
      });
    }
    const none = run(null, null);
    none.forEach((g) => expect(g!.every((v) => v === 0)).toBe(true));
  });

  it('skips null outputs and computes the others unchanged', () => {
    const full = run(gOut, ghN);
    for (let k = 0; k < 6; k++) {
      const want = sizes.map((_, i) => i === k);
      const only = run(gOut, ghN, want);
      only.forEach((g, i) => (i === k ? expect(Array.from(g!)).toEqual(Array.from(full[i]!)) : expect(g).toBeNull()));
    }
  });

  it('gives a length-0 sample gh0 = ghN and no input gradient', () => {
    const [gx, gh0] = run(gOut, ghN);
    const H = d.H;
    expect(Array.from(gh0!.subarray(H, 2 * H))).toEqual(Array.from(ghN.subarray(H, 2 * H)));
    expect(gx!.subarray(d.T * d.I, 2 * d.T * d.I).every((v) => v === 0)).toBe(true);
  });
});

describe('GRU layer', () => {
  it('registers PyTorch names, shapes and order', () => {
    const m = new GRU(5, 4, { rng: new Rng(1) });
    expect(m.namedParameters().map(([name, p]) => [name, p.shape])).toEqual([
      ['weight_ih_l0', [12, 5]],
      ['weight_hh_l0', [12, 4]],
      ['bias_ih_l0', [12]],
      ['bias_hh_l0', [12]],
    ]);
    const noBias = new GRU(5, 4, { bias: false, rng: new Rng(1) });
    expect(noBias.namedParameters().map(([name]) => name)).toEqual(['weight_ih_l0', 'weight_hh_l0']);
    expect(noBias.bias_ih_l0).toBeNull();
  });

  it('initialises every parameter U(−1/√H, 1/√H)', () => {
    const H = 16;
    const m = new GRU(8, H, { rng: new Rng(2) });
    const bound = 1 / Math.sqrt(H);
    for (const [name, p] of m.namedParameters()) {
      const values = Array.from(p.data);
      expect(Math.max(...values.map(Math.abs)), name).toBeLessThanOrEqual(bound);
      expect(Math.max(...values), name).toBeGreaterThan(0.8 * bound);
      expect(Math.min(...values), name).toBeLessThan(-0.8 * bound);
      expect(Math.abs(values.reduce((s, v) => s + v, 0) / values.length), name).toBeLessThan(0.3 * bound);
    }
    const same = new GRU(8, H, { rng: new Rng(2) });
    expect(Array.from(same.flatParameters())).toEqual(Array.from(m.flatParameters()));
  });

  it('forward is the op over its parameters (batchFirst) and gradients reach every parameter', () => {
    const m = new GRU(3, 2, { batchFirst: true, rng: new Rng(3) }).to('float64');
    const c = randomCase(2, 4, 3, 2, 18);
    const lengths = Int32Array.from([4, 2]);
    const [out, hN] = m.forward(c.x, lengths, c.h0);
    const [p0, p1, p2, p3] = m.parameters();
    const [eOut, eN] = gru(c.x, lengths, c.h0, p0, p1, p2, p3);
    expect(out.shape).toEqual([2, 4, 2]);
    expect(Array.from(out.data)).toEqual(Array.from(eOut.data));
    expect(Array.from(hN.data)).toEqual(Array.from(eN.data));
    out.sum().add(hN.sum()).backward();
    for (const [name, p] of m.namedParameters()) expect(p.grad, name).not.toBeNull();
  });

  it('batchFirst = false (the default) takes and returns [T, B, ·]', () => {
    const m = new GRU(3, 2, { rng: new Rng(4) }).to('float64');
    expect(m.batchFirst).toBe(false);
    const c = randomCase(2, 4, 3, 2, 19);
    const lengths = Int32Array.from([3, 4]);
    const [outTB, hN] = m.forward(c.x.transpose(0, 1), lengths, c.h0);
    const [p0, p1, p2, p3] = m.parameters();
    const [eOut, eN] = gru(c.x, lengths, c.h0, p0, p1, p2, p3);
    expect(outTB.shape).toEqual([4, 2, 2]);
    expect(Array.from(outTB.transpose(0, 1).data)).toEqual(Array.from(eOut.data));
    expect(Array.from(hN.data)).toEqual(Array.from(eN.data));
    gradcheck((x) => m.forward(x, lengths)[0], [c.x.transpose(0, 1).detach().requiresGrad_()]);
  });

  it('rejects unsupported configurations and bad arguments with clear errors', () => {
    expect(() => new GRU(3, 2, { numLayers: 2 })).toThrow('GRU: numLayers must be 1');
    expect(() => new GRU(3, 2, { bidirectional: true })).toThrow('GRU: bidirectional is not supported');
    expect(() => new GRU(0, 2)).toThrow('GRU: inputSize must be a positive integer');
    const m = new GRU(3, 2, { batchFirst: true });
    const x = Tensor.zeros([2, 4, 3]);
    expect(() => m.forward(Tensor.zeros([2, 4, 5]))).toThrow('GRU: input has 5 features (shape [2, 4, 5]), expected inputSize 3');
    expect(() => m.forward(Tensor.zeros([4, 3]))).toThrow('GRU: input must be [B, T, I], got [4, 3]');
    expect(() => m.forward(x, Int32Array.from([4, 5]))).toThrow('gru: length 5 of sample 1 outside [0, 4]');
    expect(() => m.forward(x, Int32Array.from([-1, 2]))).toThrow('gru: length -1 of sample 0 outside [0, 4]');
    expect(() => m.forward(x, Int32Array.from([4]))).toThrow('gru: 1 lengths for a batch of 2');
    expect(() => m.forward(x, null, Tensor.zeros([2, 2]))).toThrow('gru: h0 has shape [2, 2], expected [1, 2, 2]');
    const [wIh, wHh] = m.parameters();
    expect(() => gru(Tensor.zeros([2, 4, 5]), null, null, wIh, wHh, null, null))
      .toThrow('gru: input has 5 features (shape [2, 4, 5]) but weight_ih [6, 3] expects 3');
    expect(() => gru(x, null, null, wIh, Tensor.zeros([6, 3]), null, null))
      .toThrow('gru: weight_hh has shape [6, 3], expected [6, 2]');
  });
});
