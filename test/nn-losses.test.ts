// Losses and the functional API: forward values from the published formulas, gradient checks, target validation.
import { describe, expect, it } from 'vitest';
import * as F from '../src/nn/functional.js';
import { Tensor } from '../src/tensor/index.js';
import { Rng } from '../src/random.js';
import { expectClose, gradcheck, randTensor } from './helpers/gradcheck.js';

const rng = new Rng(11);
const f64 = (values: number[], shape: number[]): Tensor => Tensor.from(values, shape, { dtype: 'float64' });

describe('crossEntropy and nllLoss', () => {
  const logits = f64([1, 2, 3, 1, 1, 1], [2, 3]);
  const targets = Int32Array.from([2, 0]);

  it('crossEntropy is the mean of log Σ exp − the target logit', () => {
    // row 0: log(e + e² + e³) − 3; row 1: log(3e) − 1 = log 3
    const expected = (Math.log(Math.E + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
    expectClose(F.crossEntropy(logits, targets).toArray(), [expected], 1e-15);
    expect(F.crossEntropy(logits, targets).shape).toEqual([]);
  });

  it('crossEntropy equals nllLoss(logSoftmax) and is stable for huge logits', () => {
    const x = randTensor([5, 4], rng, -3, 3);
    const t = Int32Array.from([0, 3, 1, 1, 2]);
    expectClose(F.crossEntropy(x, t).toArray(), F.nllLoss(F.logSoftmax(x), t).toArray(), 1e-14);
    expectClose(F.crossEntropy(f64([1000, 0], [1, 2]), Int32Array.from([1])).toArray(), [1000], 1e-12);
  });

  it('nllLoss is −mean of the picked log-probabilities', () => {
    expect(F.nllLoss(f64([-1, -2, -3, -4], [2, 2]), Int32Array.from([1, 0])).toArray()).toEqual([2.5]);
  });

  it('pass gradcheck', () => {
    const t = Int32Array.from([2, 0, 1, 2]);
    gradcheck((x) => F.crossEntropy(x, t), [randTensor([4, 3], rng, -2, 2)]);
    gradcheck((x) => F.nllLoss(x, t), [randTensor([4, 3], rng)]);
  });

  it('reject bad targets with clear messages', () => {
    expect(() => F.crossEntropy(logits, Int32Array.from([3, 0]))).toThrow('crossEntropy: target 3 at position 0 is out of range [0, 3)');
    expect(() => F.crossEntropy(logits, Int32Array.from([-1, 0]))).toThrow('crossEntropy: target -1 at position 0 is out of range [0, 3)');
    expect(() => F.nllLoss(logits, Int32Array.from([0]))).toThrow('nllLoss: 1 targets for a batch of 2');
    expect(() => F.crossEntropy(f64([1, 2], [2]), Int32Array.from([0]))).toThrow('crossEntropy: expected input [N, C], got [2]');
    expect(() => F.crossEntropy(logits, [2, 0] as unknown as Int32Array)).toThrow('crossEntropy: targets must be an Int32Array of class indices');
  });
});

describe('binaryCrossEntropyWithLogits', () => {
  const naive = (x: number, y: number): number => {
    const s = 1 / (1 + Math.exp(-x));
    return -(y * Math.log(s) + (1 - y) * Math.log(1 - s));
  };

  it('equals −[y log σ(x) + (1 − y) log(1 − σ(x))] averaged', () => {
    const xs = [0, 2, -3, 0.7];
    const ys = [1, 0, 0.5, 1];
    const expected = xs.reduce((s, x, i) => s + naive(x, ys[i]), 0) / 4;
    expectClose(F.binaryCrossEntropyWithLogits(f64(xs, [2, 2]), Float64Array.from(ys)).toArray(), [expected], 1e-15);
    expectClose(F.binaryCrossEntropyWithLogits(f64(xs, [4]), f64(ys, [4])).toArray(), [expected], 1e-15);
  });

  it('is finite for huge logits (where the naive formula overflows)', () => {
    const v = F.binaryCrossEntropyWithLogits(f64([1000, -1000], [2]), Float64Array.from([0, 1])).item();
    expect(v).toBe(1000);
  });

  it('passes gradcheck with respect to logits and tensor targets', () => {
    gradcheck((x, y) => F.binaryCrossEntropyWithLogits(x, y), [randTensor([3, 4], rng, -3, 3), randTensor([3, 4], rng, 0, 1)]);
    const y = Float32Array.from([1, 0, 1, 0, 0, 1]);
    gradcheck((x) => F.binaryCrossEntropyWithLogits(x, y), [randTensor([6], rng, -3, 3)]);
  });

  it('rejects a wrong number of targets', () => {
    expect(() => F.binaryCrossEntropyWithLogits(f64([1, 2, 3], [3]), Float32Array.from([1, 0])))
      .toThrow('binaryCrossEntropyWithLogits: 2 targets for logits of shape [3]');
  });
});

describe('functional forms', () => {
  it('F.linear, F.relu, F.softmax, F.logSoftmax, F.sequenceMean, F.dropout, F.layerNorm agree with the methods', () => {
    const x = randTensor([2, 3, 4], rng);
    const w = randTensor([5, 4], rng);
    const b = randTensor([5], rng);
    expect(F.linear(x, w, b).toArray()).toEqual(x.matmul(w, { transB: true }).add(b).toArray());
    expect(F.relu(x).toArray()).toEqual(x.relu().toArray());
    expect(F.softmax(x, 1).toArray()).toEqual(x.softmax(1).toArray());
    expect(F.logSoftmax(x).toArray()).toEqual(x.logSoftmax(-1).toArray());
    expectClose(F.sequenceMean(x, Int32Array.from([3, 1])).toArray(),
      [...x.slice(0, 0, 1).mean(1).toArray(), ...x.slice(0, 1, 2).slice(1, 0, 1).reshape([4]).toArray()], 1e-15);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    gradcheck((a, ww, bb) => F.linear(a, ww, bb), [x, w, b]);
    gradcheck((a) => F.layerNorm(a, [3, 4]), [x]);
  });
});
