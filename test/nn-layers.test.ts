// Layers: forward values worked from the published definitions, float64 gradient checks through every
// parameter, argument errors.
import { describe, expect, it } from 'vitest';
import { Conv1d, Dropout, LayerNorm, Linear, MaxPool1d, type Module, ReLU, Sequential, Tanh } from '../src/nn/index.js';
import * as F from '../src/nn/functional.js';
import { Tensor } from '../src/tensor/index.js';
import { Rng } from '../src/random.js';
import { expectClose, gradcheck, randTensor } from './helpers/gradcheck.js';

const rng = new Rng(7);
const f64 = (values: number[], shape: number[]): Tensor => Tensor.from(values, shape, { dtype: 'float64' });

/** Converts `m` to float64, randomises its parameters, and gradchecks m(x) with respect to x and every parameter. */
function moduleGradcheck(m: Module & { forward(x: Tensor): Tensor }, x: Tensor): void {
  m.to('float64');
  for (const p of m.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = rng.uniform(-1, 1);
  gradcheck((input) => m.forward(input), [x, ...m.parameters()]);
}

describe('Linear', () => {
  it('y = x·Wᵀ + b over leading axes and for a 1-D input', () => {
    const lin = new Linear(3, 2).to('float64');
    lin.loadStateDict({ weight: f64([1, 0, -1, 2, 1, 0], [2, 3]), bias: f64([0.5, -0.5], [2]) });
    expect(lin.forward(f64([1, 2, 3], [3])).toArray()).toEqual([1 - 3 + 0.5, 2 + 2 - 0.5]);
    const y = lin.forward(f64([1, 2, 3, 0, 0, 1, 1, 1, 1, 2, 2, 2], [2, 2, 3]));
    expect(y.shape).toEqual([2, 2, 2]);
    expect(y.toArray()).toEqual([-1.5, 3.5, -0.5, -0.5, 0.5, 2.5, 0.5, 5.5]);
  });

  it('passes gradcheck with and without bias', () => {
    moduleGradcheck(new Linear(4, 3), randTensor([2, 5, 4], rng));
    moduleGradcheck(new Linear(4, 3, { bias: false }), randTensor([3, 4], rng));
  });

  it('errors are clear', () => {
    expect(() => new Linear(4, 3).forward(Tensor.zeros([2, 5]))).toThrow('linear: input [2, 5] does not end in 4 features (weight [3, 4])');
    expect(() => new Linear(0, 3)).toThrow('Linear: inFeatures must be a positive integer, got 0');
  });
});

/** Direct conv1d from the definition, with an explicitly zero-padded copy of x. */
function naiveConv1d(x: Tensor, w: Tensor, b: Tensor | null, stride: number, padding: number): number[] {
  const [B, Cin, L] = x.shape;
  const [Cout, , K] = w.shape;
  const Lp = L + 2 * padding;
  const xp = new Float64Array(B * Cin * Lp);
  for (let i = 0; i < B * Cin; i++) for (let l = 0; l < L; l++) xp[i * Lp + l + padding] = x.data[i * L + l];
  const Lout = Math.floor((Lp - K) / stride) + 1;
  const out: number[] = [];
  for (let n = 0; n < B; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        let s = b ? b.data[co] : 0;
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) s += w.data[(co * Cin + ci) * K + k] * xp[(n * Cin + ci) * Lp + lo * stride + k];
        }
        out.push(s);
      }
    }
  }
  return out;
}

describe('Conv1d', () => {
  it('a case worked by hand: padding 1, stride 2', () => {
    // xpad = [0, 1, 2, 3, 4, 0]; windows [0,1], [2,3], [4,0] against w = [1, −1], plus 0.5
    const y = F.conv1d(f64([1, 2, 3, 4], [1, 1, 4]), f64([1, -1], [1, 1, 2]), f64([0.5], [1]), { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 3]);
    expect(y.toArray()).toEqual([-0.5, -0.5, 4.5]);
  });

  for (const [stride, padding, K] of [[1, 0, 3], [2, 1, 3], [3, 2, 2], [1, 2, 5]]) {
    it(`matches the definition and passes gradcheck (stride ${stride}, padding ${padding}, kernel ${K})`, () => {
      const conv = new Conv1d(3, 4, K, { stride, padding });
      const x = randTensor([2, 3, 7], rng);
      moduleGradcheck(conv, x);
      const expected = naiveConv1d(x, conv.weight, conv.bias, stride, padding);
      expect(conv.forward(x).shape).toEqual([2, 4, Math.floor((7 + 2 * padding - K) / stride) + 1]);
      expectClose(conv.forward(x).toArray(), expected, 1e-14);
    });
  }

  it('without bias; PyTorch default init bound 1/√(Cin·K)', () => {
    moduleGradcheck(new Conv1d(2, 3, 2, { bias: false, padding: 1 }), randTensor([1, 2, 4], rng));
    const conv = new Conv1d(4, 8, 4, { rng: new Rng(1) });
    const all = [...conv.weight.toArray(), ...conv.bias!.toArray()];
    expect(all.every((v) => Math.abs(v) <= 0.25)).toBe(true);
    expect(Math.max(...all.map(Math.abs))).toBeGreaterThan(0.2);
  });

  it('float32 on the active backend agrees with the float64 reference, forward and backward', () => {
    const conv = new Conv1d(5, 6, 3, { stride: 2, padding: 1, rng: new Rng(4) });
    const x = Tensor.randn([3, 5, 16], { rng: new Rng(5), requiresGrad: true });
    const w = Tensor.randn([3, 6, 8], { rng: new Rng(6) });
    conv.forward(x).mul(w).sum().backward();
    const y32 = conv.forward(x).toArray();
    const grads32 = [x, ...conv.parameters()].map((t) => t.grad!.toArray());
    const x64 = Tensor.from(x.data, x.shape, { dtype: 'float64', requiresGrad: true });
    conv.to('float64').zeroGrad();
    conv.forward(x64).mul(w).sum().backward();
    expectClose(y32, conv.forward(x64).toArray(), 1e-5, 1e-5);
    [x64, ...conv.parameters()].forEach((t, i) => expectClose(grads32[i], t.grad!.toArray(), 1e-4, 1e-5));
  });

  it('errors are clear', () => {
    const conv = new Conv1d(3, 4, 3);
    expect(() => conv.forward(Tensor.zeros([2, 2, 5]))).toThrow('conv1d: input has 2 channels, weight [4, 3, 3] expects 3');
    expect(() => conv.forward(Tensor.zeros([3, 5]))).toThrow('conv1d: expected input [B, Cin, L], got [3, 5]');
    expect(() => conv.forward(Tensor.zeros([1, 3, 2]))).toThrow('conv1d: input length 2 (padding 0) is shorter than the kernel 3');
    expect(() => new Conv1d(3, 4, 3, { stride: 0 })).toThrow('Conv1d: stride must be a positive integer, got 0');
    expect(() => new Conv1d(3, 4, 3, { padding: -1 })).toThrow('Conv1d: padding must be a non-negative integer, got -1');
  });
});

describe('MaxPool1d', () => {
  it('forward values, stride defaulting to the kernel, overlapping windows', () => {
    const x = f64([1, 3, 2, 5, 4], [1, 1, 5]);
    expect(new MaxPool1d(2).forward(x).toArray()).toEqual([3, 5]);
    expect(new MaxPool1d(3, 1).forward(x).toArray()).toEqual([3, 5, 5]);
    expect(new MaxPool1d(2, 3).forward(x).toArray()).toEqual([3, 5]);
  });

  it('routes the gradient to each window maximum, adding up over overlaps', () => {
    const x = Tensor.from([1, 3, 2, 5, 4], [1, 5], { dtype: 'float64', requiresGrad: true });
    new MaxPool1d(3, 1).forward(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 1, 0, 2, 0]);
  });

  it('passes gradcheck', () => {
    gradcheck((a) => new MaxPool1d(3, 2).forward(a), [randTensor([2, 3, 9], rng)]);
    gradcheck((a) => F.maxPool1d(a, 2), [randTensor([4, 6], rng)]);
  });

  it('errors are clear', () => {
    expect(() => new MaxPool1d(4).forward(Tensor.zeros([1, 1, 3]))).toThrow('maxPool1d: input [1, 1, 3] is shorter than the kernel 4');
    expect(() => new MaxPool1d(0)).toThrow('MaxPool1d: kernelSize must be a positive integer, got 0');
  });
});

describe('LayerNorm', () => {
  it('normalises with the biased variance (PyTorch)', () => {
    // mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    const y = new LayerNorm(4).to('float64').forward(f64([1, 2, 3, 4], [1, 4]));
    const s = Math.sqrt(1.25 + 1e-5);
    expectClose(y.toArray(), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-15);
  });

  it('weight ones and bias zeros initially; affine applied after normalising', () => {
    const ln = new LayerNorm([2], { eps: 0 }).to('float64');
    expect(ln.weight!.toArray()).toEqual([1, 1]);
    expect(ln.bias!.toArray()).toEqual([0, 0]);
    ln.loadStateDict({ weight: f64([2, 3], [2]), bias: f64([1, 1], [2]) });
    // x = [0, 4]: normalised [−1, 1] → [−2 + 1, 3 + 1]
    expect(ln.forward(f64([0, 4], [2])).toArray()).toEqual([-1, 4]);
  });

  it('passes gradcheck over one and two normalised axes, with and without affine', () => {
    moduleGradcheck(new LayerNorm(5), randTensor([3, 5], rng));
    moduleGradcheck(new LayerNorm([2, 3]), randTensor([2, 2, 3], rng));
    const plain = new LayerNorm(4, { elementwiseAffine: false });
    expect(plain.parameters()).toHaveLength(0);
    gradcheck((a) => plain.forward(a), [randTensor([2, 4], rng)]);
  });

  it('errors are clear', () => {
    expect(() => new LayerNorm(4).forward(Tensor.zeros([2, 3]))).toThrow('layerNorm: input [2, 3] does not end in normalized shape [4]');
  });
});

describe('Dropout, activations, Sequential', () => {
  it('Dropout respects train and eval', () => {
    const d = new Dropout(0.5, new Rng(3));
    const x = Tensor.ones([100]);
    const y = d.forward(x).toArray();
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    expect(y.filter((v) => v === 0).length).toBeGreaterThan(25);
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(() => new Dropout(-0.1)).toThrow('Dropout: probability must be in [0, 1], got -0.1');
  });

  it('ReLU and Tanh', () => {
    const x = f64([-1, 0.5], [2]);
    expect(new ReLU().forward(x).toArray()).toEqual([0, 0.5]);
    expect(new Tanh().forward(x).toArray()).toEqual([Math.tanh(-1), Math.tanh(0.5)]);
  });

  it('Sequential applies its children in order and passes gradcheck', () => {
    const seq = new Sequential(new Linear(4, 6), new Tanh(), new Linear(6, 2), new ReLU());
    expect(seq.length).toBe(4);
    const x = randTensor([3, 4], rng);
    moduleGradcheck(seq, x);
    const manual = seq.at(3).forward(seq.at(2).forward(seq.at(1).forward(seq.at(0).forward(x))));
    expect(seq.forward(x).toArray()).toEqual(manual.toArray());
    expect(() => seq.at(4)).toThrow('Sequential: index 4 out of range for 4 layers');
  });
});
