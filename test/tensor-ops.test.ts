// Gradient checks (float64 central differences) and independently derived forward values for every tensor op.
import { describe, expect, it } from 'vitest';
import { cat, dropout, lengthMask, noGrad, sequenceMean, Tensor } from '../src/tensor/index.js';
import { Rng } from '../src/random.js';
import { expectClose, gradcheck, randTensor } from './helpers/gradcheck.js';

const rng = new Rng(42);
const f64 = (values: number[], shape: number[], requiresGrad = false): Tensor =>
  Tensor.from(values, shape, { dtype: 'float64', requiresGrad });

describe('elementwise ops', () => {
  const pairs: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', (a, b) => a.add(b)],
    ['sub', (a, b) => a.sub(b)],
    ['mul', (a, b) => a.mul(b)],
    ['div', (a, b) => a.div(b)],
  ];
  const shapes: [number[], number[]][] = [[[2, 3], [2, 3]], [[2, 3], [3]], [[4, 1, 3], [2, 1]], [[1], [2, 2]], [[2, 3], []]];
  for (const [name, op] of pairs) {
    for (const [sa, sb] of shapes) {
      it(`${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)} (broadcast) passes gradcheck`, () => {
        // b away from 0 so div is well conditioned
        gradcheck(op, [randTensor(sa, rng), randTensor(sb, rng, 0.5, 1.5)]);
      });
    }
  }

  it('forward values with broadcasting', () => {
    const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = f64([10, 20, 30], [3]);
    expect(a.add(b).toArray()).toEqual([11, 22, 33, 14, 25, 36]);
    expect(a.sub(f64([1, 2], [2, 1])).toArray()).toEqual([0, 1, 2, 2, 3, 4]);
    expect(a.mul(2).toArray()).toEqual([2, 4, 6, 8, 10, 12]);
    expect(b.div(a).toArray()).toEqual([10, 10, 10, 2.5, 4, 5]);
    expect(a.add(b).shape).toEqual([2, 3]);
  });

  it('the same tensor on both sides gets both shares of the gradient', () => {
    const x = f64([3], [1], true);
    x.mul(x).add(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([7]);
  });

  it('broadcast errors name both shapes', () => {
    expect(() => f64([1, 2, 3], [3]).add(f64([1, 2], [2]))).toThrow('add: shapes [3] and [2] cannot be broadcast');
  });

  const unaries: [string, (a: Tensor) => Tensor, number, number][] = [
    ['neg', (a) => a.neg(), -1, 1],
    ['pow 3', (a) => a.pow(3), -1, 1],
    ['pow -0.5', (a) => a.pow(-0.5), 0.5, 2],
    ['pow 0', (a) => a.pow(0), -1, 1],
    ['exp', (a) => a.exp(), -1, 1],
    ['log', (a) => a.log(), 0.5, 2],
    ['tanh', (a) => a.tanh(), -2, 2],
    ['sigmoid', (a) => a.sigmoid(), -4, 4],
    ['relu', (a) => a.relu(), -1, 1],
  ];
  for (const [name, op, lo, hi] of unaries) {
    it(`${name} passes gradcheck`, () => gradcheck(op, [randTensor([3, 4], rng, lo, hi)]));
  }

  it('unary forward values', () => {
    const x = f64([-2, 0, 1.5], [3]);
    expect(x.neg().toArray()).toEqual([2, -0, -1.5]);
    expect(x.pow(2).toArray()).toEqual([4, 0, 2.25]);
    expect(x.relu().toArray()).toEqual([0, 0, 1.5]);
    expectClose(x.exp().toArray(), [0.1353352832366127, 1, 4.4816890703380645], 1e-15);
    expectClose(x.tanh().toArray(), [-0.9640275800758169, 0, 0.9051482536448664], 1e-15);
    expectClose(x.sigmoid().toArray(), [0.11920292202211755, 0.5, 0.8175744761936437], 1e-15);
    expectClose(f64([1, Math.E], [2]).log().toArray(), [0, 1], 1e-15);
    expect(f64([-800, 800], [2]).sigmoid().toArray()).toEqual([0, 1]);
  });

  it('relu has gradient 0 at exactly 0 (as PyTorch)', () => {
    const x = f64([0, 1], [2], true);
    x.relu().sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 1]);
  });
});

describe('reductions', () => {
  const x = f64([1, 5, 3, 4, 2, 6], [2, 3]);

  it('forward values', () => {
    expect(x.sum().toArray()).toEqual([21]);
    expect(x.sum().shape).toEqual([]);
    expect(x.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(x.sum(-1, true).toArray()).toEqual([9, 12]);
    expect(x.sum(-1, true).shape).toEqual([2, 1]);
    expect(x.mean(1).toArray()).toEqual([3, 4]);
    expect(x.mean([0, 1]).toArray()).toEqual([3.5]);
    expect(x.max(1).toArray()).toEqual([5, 6]);
    expect(x.max(0).toArray()).toEqual([4, 5, 6]);
    expect(x.max().toArray()).toEqual([6]);
    expect(x.max(undefined, true).shape).toEqual([1, 1]);
    expect(Array.from(x.argmax(1))).toEqual([1, 2]);
  });

  const cases: [string, (a: Tensor) => Tensor][] = [
    ['sum all', (a) => a.sum()],
    ['sum axis 1', (a) => a.sum(1)],
    ['sum axes [0, 2] keepdim', (a) => a.sum([0, 2], true)],
    ['sum axis -1', (a) => a.sum(-1)],
    ['mean all', (a) => a.mean()],
    ['mean axes [1, 2]', (a) => a.mean([1, 2])],
    ['mean axis 0 keepdim', (a) => a.mean(0, true)],
    ['max all', (a) => a.max()],
    ['max axis 1', (a) => a.max(1)],
    ['max axis -1 keepdim', (a) => a.max(-1, true)],
  ];
  for (const [name, op] of cases) {
    it(`${name} passes gradcheck`, () => gradcheck(op, [randTensor([2, 3, 4], rng)]));
  }

  it('max sends the gradient to the first maximum only', () => {
    const t = f64([2, 2, 1], [3], true);
    t.max().backward();
    expect(t.grad!.toArray()).toEqual([1, 0, 0]);
  });

  it('axis errors are clear', () => {
    expect(() => x.sum(2)).toThrow('sum: axis 2 out of range for a tensor of rank 2');
  });
});

describe('layout ops', () => {
  const x = f64([0, 1, 2, 3, 4, 5], [2, 3]);

  it('forward values', () => {
    expect(x.reshape([3, -1]).shape).toEqual([3, 2]);
    expect(x.transpose(0, 1).toArray()).toEqual([0, 3, 1, 4, 2, 5]);
    const y = f64([...Array(24).keys()], [2, 3, 4]);
    const p = y.permute([2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    // p[k, i, j] = y[i, j, k] = 12i + 4j + k
    expect(p.data[1 * 6 + 1 * 3 + 2]).toBe(12 + 8 + 1);
    expect(x.slice(1, 1, 3).toArray()).toEqual([1, 2, 4, 5]);
    expect(x.indexSelect(1, [2, 0, 2]).toArray()).toEqual([2, 0, 2, 5, 3, 5]);
    expect(cat([x, f64([9, 9], [2, 1])], 1).toArray()).toEqual([0, 1, 2, 9, 3, 4, 5, 9]);
    expect(Tensor.cat([x, x], 0).shape).toEqual([4, 3]);
  });

  const cases: [string, (...a: Tensor[]) => Tensor, number[][]][] = [
    ['reshape', (a) => a.reshape([4, -1]).mul(a.reshape([4, 6])), [[2, 3, 4]]],
    ['permute', (a) => a.permute([1, 2, 0]), [[2, 3, 4]]],
    ['transpose', (a) => a.transpose(-1, 0), [[2, 3, 4]]],
    ['cat axis 1', (a, b) => cat([a, b, a], 1), [[2, 3, 2], [2, 1, 2]]],
    ['cat axis 0', (a, b) => cat([a, b], 0), [[2, 3], [1, 3]]],
    ['slice', (a) => a.slice(1, 1, 3), [[2, 4, 3]]],
    ['indexSelect with repeats', (a) => a.indexSelect(1, [3, 0, 3, 1]), [[2, 4, 3]]],
  ];
  for (const [name, op, shapes] of cases) {
    it(`${name} passes gradcheck`, () => gradcheck(op, shapes.map((s) => randTensor(s, rng))));
  }

  it('errors are clear', () => {
    expect(() => x.reshape([4, 2])).toThrow('reshape: cannot view shape [2, 3] as [4, 2]');
    expect(() => x.permute([0, 0])).toThrow('permute: [0,0] is not a permutation of 2 axes');
    expect(() => x.slice(1, 2, 4)).toThrow('slice: range [2, 4) out of bounds for axis 1 of size 3');
    expect(() => x.indexSelect(0, [2])).toThrow('indexSelect: index 2 out of bounds for axis 0 of size 2');
    expect(() => cat([x, f64([1, 2], [2])], 0)).toThrow('cat: shapes [2, 3] and [2] differ outside axis 0');
  });
});

describe('matmul', () => {
  it('forward values against the definition', () => {
    const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = f64([7, 8, 9, 10, 11, 12], [3, 2]);
    // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
    expect(a.matmul(b).toArray()).toEqual([58, 64, 139, 154]);
    expect(b.matmul(a, { transA: true, transB: true }).toArray()).toEqual([58, 139, 64, 154]);
    expect(a.matmul(a, { transB: true }).toArray()).toEqual([14, 32, 32, 77]);
    expect(a.matmul(a, { transA: true }).shape).toEqual([3, 3]);
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const M = 3, K = 4, N = 2;
      const aShape = transA ? [K, M] : [M, K];
      const bShape = transB ? [N, K] : [K, N];
      const opts = { transA, transB };
      it(`batched transA=${transA} transB=${transB} passes gradcheck`, () => {
        gradcheck((a, b) => a.matmul(b, opts), [randTensor([2, ...aShape], rng), randTensor([2, ...bShape], rng)]);
      });
      it(`shared weight b transA=${transA} transB=${transB} passes gradcheck`, () => {
        gradcheck((a, b) => a.matmul(b, opts), [randTensor([2, 2, ...aShape], rng), randTensor(bShape, rng)]);
      });
      it(`shared a transA=${transA} transB=${transB} passes gradcheck`, () => {
        gradcheck((a, b) => a.matmul(b, opts), [randTensor(aShape, rng), randTensor([3, ...bShape], rng)]);
      });
    }
  }

  it('the same tensor as both operands (x·xᵀ) passes gradcheck', () => {
    gradcheck((a) => a.matmul(a, { transB: true }), [randTensor([3, 4], rng)]);
    gradcheck((a) => a.matmul(a, { transA: true }), [randTensor([2, 3, 4], rng)]);
  });

  it('a batched product equals per-entry products', () => {
    const a = randTensor([2, 3, 4], rng);
    const b = randTensor([2, 4, 5], rng);
    const c = a.matmul(b);
    for (let i = 0; i < 2; i++) {
      const ci = a.slice(0, i, i + 1).reshape([3, 4]).matmul(b.slice(0, i, i + 1).reshape([4, 5]));
      expectClose(c.slice(0, i, i + 1).toArray(), ci.toArray(), 1e-14);
    }
  });

  it('shape errors are clear', () => {
    const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => a.matmul(a)).toThrow('matmul: inner sizes differ: [2, 3] · [2, 3]');
    expect(() => f64([1, 2], [2]).matmul(a)).toThrow('matmul: operands need at least 2 axes, got [2] and [2, 3]');
    expect(() => Tensor.zeros([2, 2, 3]).matmul(Tensor.zeros([3, 3, 2]))).toThrow('matmul: batch axes differ: [2, 2, 3] and [3, 3, 2]');
  });
});

describe('softmax and logSoftmax', () => {
  it('forward values: softmax([1, 2, 3]) from its definition', () => {
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0] + e[1] + e[2];
    const x = f64([1, 2, 3], [1, 3]);
    expectClose(x.softmax().toArray(), e.map((v) => v / s), 1e-15);
    expectClose(x.logSoftmax().toArray(), [1, 2, 3].map((v) => v - Math.log(s)), 1e-14);
    // axis 0 of a [3, 1] is the same line
    expectClose(x.reshape([3, 1]).softmax(0).toArray(), e.map((v) => v / s), 1e-15);
    // large logits do not overflow
    expectClose(f64([1000, 1000], [2]).softmax().toArray(), [0.5, 0.5], 1e-15);
  });

  for (const axis of [-1, 0, 1]) {
    it(`softmax axis ${axis} passes gradcheck`, () => gradcheck((a) => a.softmax(axis), [randTensor([2, 3, 4], rng, -2, 2)]));
    it(`logSoftmax axis ${axis} passes gradcheck`, () => gradcheck((a) => a.logSoftmax(axis), [randTensor([2, 3, 4], rng, -2, 2)]));
  }

  const mask = f64([0, 0, 1, 0, 1, 1, 0, 0], [2, 4]);
  it('masking with −1e5 via maskedFill: masked entries get probability 0 and no gradient', () => {
    const x = randTensor([2, 4], rng);
    const p = x.maskedFill(mask, -1e5).softmax();
    expect([p.data[2], p.data[4], p.data[5]]).toEqual([0, 0, 0]);
    expectClose([p.data[0] + p.data[1] + p.data[3], p.data[6] + p.data[7]], [1, 1], 1e-15);
    gradcheck((a) => a.maskedFill(mask, -1e5).softmax(), [x]);
    // logSoftmax is ≈ −1e5 at masked entries; differencing those would cost 5 digits, so check the rest.
    gradcheck((a) => a.maskedFill(mask, -1e5).logSoftmax().maskedFill(mask, 0), [x]);
  });

  it('masking with −∞: softmax passes gradcheck; logSoftmax is −∞ there and its finite part passes', () => {
    const x = randTensor([2, 4], rng);
    gradcheck((a) => a.maskedFill(mask, -Infinity).softmax(), [x]);
    const ls = x.maskedFill(mask, -Infinity).logSoftmax();
    expect(ls.data[2]).toBe(-Infinity);
    gradcheck((a) => a.maskedFill(mask, -Infinity).logSoftmax().maskedFill(mask, 0), [x]);
  });

  it('an all −∞ line gives NaN, as PyTorch', () => {
    expect(f64([-Infinity, -Infinity], [2]).softmax().toArray().every(Number.isNaN)).toBe(true);
  });

  it('maskedFill passes gradcheck with a broadcast mask', () => {
    gradcheck((a) => a.maskedFill(f64([1, 0, 0], [3]), 2), [randTensor([2, 3], rng)]);
    expect(() => f64([1, 2], [2]).maskedFill(f64([1, 0, 0], [3]), 0)).toThrow('maskedFill: shapes [2] and [3] cannot be broadcast');
  });
});

describe('dropout', () => {
  it('with a fixed rng: zeros and scales exactly the drawn mask, and passes gradcheck', () => {
    const x = randTensor([4, 5], rng);
    const y = dropout(x, 0.3, true, new Rng(5));
    const draws = new Rng(5);
    for (let i = 0; i < x.size; i++) {
      const keep = draws.nextU32() >= 0.3 * 2 ** 32; // one 32-bit draw per element
      expect(y.data[i]).toBeCloseTo(keep ? x.data[i] / 0.7 : 0, 14);
    }
    gradcheck((a) => dropout(a, 0.3, true, new Rng(5)), [x]);
  });

  it('is the identity in eval mode or with p = 0; p = 1 zeroes everything', () => {
    const x = randTensor([3], rng);
    expect(dropout(x, 0.5, false)).toBe(x);
    expect(dropout(x, 0, true)).toBe(x);
    expect(dropout(x, 1, true, new Rng(1)).toArray().every((v) => v === 0)).toBe(true);
    expect(() => dropout(x, 1.5, true)).toThrow('dropout: probability must be in [0, 1], got 1.5');
  });
});

describe('sequence ops', () => {
  it('sequenceMean forward averages the valid steps, zeros for length 0', () => {
    const x = f64([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], [2, 3, 2]);
    expect(sequenceMean(x, Int32Array.from([2, 0])).toArray()).toEqual([2, 3, 0, 0]);
    expect(sequenceMean(x, Int32Array.from([3, 1])).toArray()).toEqual([3, 4, 10, 20]);
  });

  it('sequenceMean passes gradcheck with a zero length', () => {
    gradcheck((a) => sequenceMean(a, Int32Array.from([3, 0, 1])), [randTensor([3, 4, 2], rng)]);
  });

  it('sequenceMean rejects bad lengths', () => {
    const x = Tensor.zeros([2, 3, 1]);
    expect(() => sequenceMean(x, Int32Array.from([1]))).toThrow('sequenceMean: 1 lengths for a batch of 2');
    expect(() => sequenceMean(x, Int32Array.from([1, 4]))).toThrow('sequenceMean: length 4 outside [0, 3]');
  });

  it('lengthMask marks the valid steps', () => {
    expect(lengthMask(Int32Array.from([2, 0, 3]), 3).toArray()).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1]);
  });
});

describe('autograd engine', () => {
  it('leaves accumulate across backward calls; a freed graph cannot be reused; retainGraph keeps it', () => {
    const x = f64([2], [1], true);
    const y = x.mul(x);
    y.sum().backward(undefined, { retainGraph: true });
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([8]);
    const z = x.exp().sum();
    z.backward();
    expect(() => z.backward()).toThrow('backward: trying to backward through the graph a second time');
  });

  it('noGrad records nothing; backward needs a gradient for non-scalars', () => {
    const x = f64([1, 2], [2], true);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(() => x.mul(2).backward()).toThrow('backward: grad can be implicitly created only for scalar outputs, got shape [2]');
    x.mul(3).backward(f64([1, 10], [2]));
    expect(x.grad!.toArray()).toEqual([3, 30]);
  });

  it('a float32 leaf fed through float64 math gets a float32 gradient', () => {
    const w = Tensor.from([1, 2], [2], { requiresGrad: true });
    w.mul(f64([3, 4], [2])).sum().backward();
    expect(w.grad!.dtype).toBe('float32');
    expect(w.grad!.toArray()).toEqual([3, 4]);
  });
});
