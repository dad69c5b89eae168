import { afterEach, describe, expect, it } from 'vitest';
import { Adam, AdamW, clipGradNorm, SGD, type Optimizer } from '../src/optim/index.js';
import { Linear, Sequential, ReLU } from '../src/nn/index.js';
import { Tensor } from '../src/tensor/index.js';
import { kernels, setKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/kernels.js';
import { Rng } from '../src/random.js';

const GRADS = [1, 2, -1];

/** A float64 scalar parameter starting at 1, stepped with gradients 1, 2, −1; its value after each step. */
function trajectory(make: (params: Tensor[]) => Optimizer): number[] {
  const p = Tensor.from([1], [1], { dtype: 'float64', requiresGrad: true });
  const opt = make([p]);
  return GRADS.map((g) => {
    p.grad = Tensor.from([g], [1], { dtype: 'float64' });
    opt.step();
    return p.data[0];
  });
}

function expectSequence(actual: number[], expected: number[]): void {
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
}

describe('SGD matches PyTorch’s update rule', () => {
  it('plain: p −= lr·g', () => {
    expectSequence(trajectory((ps) => new SGD(ps, { lr: 0.1 })), [0.9, 0.7, 0.8]);
  });

  it('momentum + weight decay: d = g + wd·p; buf = first ? d : μ·buf + d', () => {
    // step 1: d = 1 + 0.1·1 = 1.1, buf = 1.1, p = 1 − 0.11 = 0.89
    // step 2: d = 2 + 0.089 = 2.089, buf = 0.99 + 2.089 = 3.079, p = 0.89 − 0.3079 = 0.5821
    // step 3: d = −1 + 0.05821 = −0.94179, buf = 2.7711 − 0.94179 = 1.82931, p = 0.5821 − 0.182931 = 0.399169
    expectSequence(trajectory((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 })), [0.89, 0.5821, 0.399169]);
  });

  it('nesterov: d = g + μ·buf', () => {
    // buf 1, 2.9, 1.61; d 1.9, 4.61, 0.449; p 0.81, 0.349, 0.3041
    expectSequence(trajectory((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })), [0.81, 0.349, 0.3041]);
  });

  it('dampening applies from the second step on', () => {
    // buf 1 (first step undamped), 0.9 + 0.5·2 = 1.9, 1.71 − 0.5 = 1.21
    expectSequence(trajectory((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.5 })), [0.9, 0.71, 0.589]);
  });

  it('rejects bad options with clear messages', () => {
    const p = [Tensor.zeros([1], { requiresGrad: true })];
    expect(() => new SGD(p, { lr: -1 })).toThrow('SGD: invalid learning rate -1');
    expect(() => new SGD(p, { lr: 0.1, momentum: -0.5 })).toThrow('SGD: invalid momentum -0.5');
    expect(() => new SGD(p, { lr: 0.1, nesterov: true })).toThrow('SGD: nesterov requires a momentum and zero dampening');
    expect(() => new SGD([], { lr: 0.1 })).toThrow('SGD: got an empty parameter list');
    expect(() => new SGD([Tensor.zeros([1])], { lr: 0.1 })).toThrow('SGD: parameter 0 does not require grad');
  });
});

describe('Adam and AdamW match PyTorch’s update rules', () => {
  // Expected values from m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps),
  // evaluated independently in double precision.
  it('Adam with bias correction: the first step moves by lr', () => {
    expectSequence(trajectory((ps) => new Adam(ps, { lr: 0.1 })), [0.900000001, 0.8034817990281663, 0.7614728689681868]);
  });

  it('Adam weight decay is L2 (g += wd·p)', () => {
    expectSequence(trajectory((ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.1 })), [0.9000000009090909, 0.8029473346876735, 0.7562370580113803]);
  });

  it('AdamW decay is decoupled (p *= 1 − lr·wd before the update)', () => {
    expectSequence(trajectory((ps) => new AdamW(ps, { lr: 0.1, weightDecay: 0.1 })), [0.890000001, 0.7845817990181663, 0.7347270509680051]);
  });

  it('AdamW’s default weight decay is 1e-2; Adam’s is 0', () => {
    const p = [Tensor.zeros([1], { requiresGrad: true })];
    expect(new AdamW(p).stateDict().options['weightDecay']).toBe(0.01);
    expect(new Adam(p).stateDict().options['weightDecay']).toBe(0);
  });

  it('rejects bad options with clear messages', () => {
    const p = [Tensor.zeros([1], { requiresGrad: true })];
    expect(() => new Adam(p, { betas: [0.9, 1] })).toThrow('Adam: invalid beta parameter at index 1: 1');
    expect(() => new AdamW(p, { eps: -1 })).toThrow('AdamW: invalid eps -1');
    expect(() => new Adam(p, { lr: Number.NaN })).toThrow('Adam: invalid learning rate NaN');
  });
});

describe('flat buffers and per-parameter paths', () => {
  let restore: Kernels | null = null;
  afterEach(() => {
    if (restore) setKernels(restore);
    restore = null;
  });

  function countingKernels(counts: { sgd: number; adam: number }): Kernels {
    const base = kernels();
    return {
      ...base,
      sgdStep: (...args) => { counts.sgd++; base.sgdStep(...args); },
      adamStep: (...args) => { counts.adam++; base.adamStep(...args); },
    };
  }

  function model(): Sequential {
    const rng = new Rng(3);
    return new Sequential(new Linear(4, 5, { rng }), new ReLU(), new Linear(5, 3, { rng }));
  }

  function train(m: Sequential, opt: Optimizer, steps: number): void {
    const x = Tensor.randn([6, 4], { rng: new Rng(9) });
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      m.forward(x).pow(2).mean().backward();
      opt.step();
    }
  }

  for (const make of [
    (ps: Tensor[]) => new SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 0.01 }),
    (ps: Tensor[]) => new AdamW(ps, { lr: 0.01 }),
  ]) {
    it(`${make([Tensor.zeros([1], { requiresGrad: true })]).type}: one kernel call over a flattened module, same result as per parameter`, () => {
      const counts = { sgd: 0, adam: 0 };
      restore = setKernels(countingKernels(counts));
      const flat = model();
      flat.flatten();
      const optFlat = make(flat.parameters());
      train(flat, optFlat, 3);
      const callsFlat = counts.sgd + counts.adam;
      expect(callsFlat).toBe(3);

      const loose = model();
      const optLoose = make(loose.parameters());
      train(loose, optLoose, 3);
      expect(counts.sgd + counts.adam - callsFlat).toBe(3 * 4);

      expect(Array.from(flat.flatParameters())).toEqual(loose.parameters().flatMap((p) => p.toArray()));
      expect(Array.from(optFlat.stateDict().buffers[Object.keys(optFlat.stateDict().buffers)[0]]))
        .toEqual(Array.from(optLoose.stateDict().buffers[Object.keys(optLoose.stateDict().buffers)[0]]));
    });
  }

  it('skips parameters without a gradient, like PyTorch', () => {
    const a = Tensor.from([1], [1], { requiresGrad: true });
    const b = Tensor.from([1], [1], { requiresGrad: true });
    const opt = new SGD([a, b], { lr: 0.5 });
    a.grad = Tensor.from([1]);
    opt.step();
    expect([a.data[0], b.data[0]]).toEqual([0.5, 1]);
  });

  it('zeroGrad keeps the gradient buffers', () => {
    const m = model();
    const grads = m.flatGradients();
    const opt = new SGD(m.parameters(), { lr: 0.1 });
    train(m, opt, 1);
    m.forward(Tensor.ones([1, 4])).sum().backward();
    opt.zeroGrad();
    expect(grads.every((g) => g === 0)).toBe(true);
    expect(m.flatGradients()).toBe(grads);
  });
});

describe('optimizer state dicts', () => {
  for (const make of [
    (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }),
    (ps: Tensor[]) => new Adam(ps, { lr: 0.1, weightDecay: 0.01 }),
  ]) {
    it(`${make([Tensor.zeros([1], { requiresGrad: true })]).type}: resuming from a state dict continues the same trajectory`, () => {
      const run = (p: Tensor, opt: Optimizer, grads: number[]): number[] => grads.map((g) => {
        p.grad = Tensor.from([g, -g], [2], { dtype: 'float64' });
        opt.step();
        return p.data[0];
      });
      const p = Tensor.from([1, 2], [2], { dtype: 'float64', requiresGrad: true });
      const opt = make([p]);
      const straight = run(p, opt, [1, 2, -1, 0.5]);

      const q = Tensor.from([1, 2], [2], { dtype: 'float64', requiresGrad: true });
      const first = make([q]);
      run(q, first, [1, 2]);
      const saved = first.stateDict();
      const r = Tensor.from(q.data.slice(), [2], { dtype: 'float64', requiresGrad: true });
      const resumed = make([r]);
      resumed.loadStateDict(saved);
      expect(run(r, resumed, [-1, 0.5])).toEqual(straight.slice(2));
    });
  }

  it('state dict buffers are copies; mismatches are rejected with clear messages', () => {
    const p = Tensor.from([1, 2], [2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    p.grad = Tensor.from([1, 1]);
    opt.step();
    const s = opt.stateDict();
    opt.step();
    expect(Array.from(s.buffers['momentumBuffer'])).toEqual([1, 1]);
    expect(() => new Adam([p]).loadStateDict(s)).toThrow('loadStateDict: state of a SGD optimizer given to Adam');
    const other = new SGD([Tensor.zeros([3], { requiresGrad: true })], { lr: 0.1 });
    expect(() => other.loadStateDict(s)).toThrow('loadStateDict: buffer "momentumBuffer" has 2 values, expected 3');
    expect(() => other.loadStateDict({ ...s, buffers: {} })).toThrow('loadStateDict: missing buffer "momentumBuffer"');
    expect(() => opt.loadStateDict({ ...s, steps: [1, 1] })).toThrow('loadStateDict: state has 2 parameters, this SGD has 1');
  });
});

describe('clipGradNorm', () => {
  it('scales by maxNorm / (norm + 1e-6) when over, returns the norm', () => {
    const a = Tensor.zeros([2], { dtype: 'float64', requiresGrad: true });
    const b = Tensor.zeros([1], { dtype: 'float64', requiresGrad: true });
    a.grad = Tensor.from([3, 0], [2], { dtype: 'float64' });
    b.grad = Tensor.from([4], [1], { dtype: 'float64' });
    expect(clipGradNorm([a, b], 1)).toBe(5);
    const c = 1 / (5 + 1e-6);
    expect(a.grad.toArray()).toEqual([3 * c, 0]);
    expect(b.grad.toArray()).toEqual([4 * c]);
  });

  it('leaves gradients under the limit untouched', () => {
    const a = Tensor.zeros([2], { dtype: 'float64', requiresGrad: true });
    a.grad = Tensor.from([0.3, 0.4], [2], { dtype: 'float64' });
    expect(clipGradNorm([a], 1)).toBeCloseTo(0.5, 15);
    expect(a.grad.toArray()).toEqual([0.3, 0.4]);
    expect(() => clipGradNorm([a], -1)).toThrow('clipGradNorm: maxNorm must be a non-negative number, got -1');
  });
});
