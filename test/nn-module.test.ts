import { describe, expect, it } from 'vitest';
import { Linear, Module, Parameter, ReLU, Sequential } from '../src/nn/index.js';
import { Tensor } from '../src/tensor/index.js';
import { manualSeed, Rng } from '../src/random.js';

class Block extends Module {
  readonly scale: Parameter;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor() {
    super();
    this.scale = this.registerParameter('scale', Tensor.from([2]));
    this.fc1 = this.registerModule('fc1', new Linear(3, 4));
    this.fc2 = this.registerModule('fc2', new Linear(4, 2, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).relu()).mul(this.scale);
  }
}

class Net extends Module {
  readonly block = this.registerModule('block', new Block());
  readonly head = this.registerModule('head', new Sequential(new Linear(2, 2), new ReLU(), new Linear(2, 1)));
  forward(x: Tensor): Tensor {
    return this.head.forward(this.block.forward(x));
  }
}

describe('Module registration and names', () => {
  it('names parameters like PyTorch: own first, then children in registration order, dotted', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'block.scale', 'block.fc1.weight', 'block.fc1.bias', 'block.fc2.weight',
      'head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias',
    ]);
    expect(net.parameters().every((p) => p.requiresGrad && p instanceof Parameter)).toBe(true);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'block', 'block.fc1', 'block.fc2', 'head', 'head.0', 'head.1', 'head.2']);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['block', 'head']);
    expect(net.children()).toEqual([net.block, net.head]);
  });

  it('counts a shared module once', () => {
    const shared = new Linear(2, 2);
    const seq = new Sequential(shared, shared);
    expect(seq.parameters()).toHaveLength(2);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
  });

  it('rejects duplicate and dotted names', () => {
    const m = new Module();
    m.registerParameter('w', Tensor.zeros([1]));
    expect(() => m.registerModule('w', new ReLU())).toThrow('Module: "w" is already registered');
    expect(() => m.registerParameter('a.b', Tensor.zeros([1]))).toThrow('Module: invalid name "a.b" (non-empty, no dots)');
  });

  it('train/eval set the flag on every descendant', () => {
    const net = new Net();
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
  });
});

describe('Linear initialisation', () => {
  it('draws weight and bias from U(-1/sqrt(in), 1/sqrt(in)) of the manualSeed generator, reproducibly', () => {
    manualSeed(7);
    const a = new Linear(16, 8);
    manualSeed(7);
    const b = new Linear(16, 8);
    expect(a.weight.toArray()).toEqual(b.weight.toArray());
    expect(a.bias!.toArray()).toEqual(b.bias!.toArray());
    const bound = 1 / 4;
    const all = [...a.weight.toArray(), ...a.bias!.toArray()];
    expect(all.every((v) => v >= -bound && v < bound)).toBe(true);
    expect(Math.max(...all)).toBeGreaterThan(0.8 * bound);
    expect(Math.min(...all)).toBeLessThan(-0.8 * bound);
    // The first draw of Rng(7), scaled to the bound, is weight[0, 0].
    expect(a.weight.data[0]).toBeCloseTo(new Rng(7).uniform(-bound, bound), 6);
    const c = new Linear(16, 8, { rng: new Rng(7) });
    expect(c.weight.toArray()).toEqual(a.weight.toArray());
  });
});

describe('flat parameter and gradient buffers', () => {
  it('re-homes every parameter into one buffer, preserving values, in namedParameters order', () => {
    const net = new Net();
    const before = net.namedParameters().map(([n, p]) => [n, p.toArray()] as const);
    const { params, grads, layout } = net.flatten();
    expect(params.length).toBe(1 + 12 + 4 + 8 + 4 + 2 + 2 + 1);
    expect(grads.length).toBe(params.length);
    let offset = 0;
    net.namedParameters().forEach(([name, p], i) => {
      expect(layout[i]).toEqual({ name, offset, shape: p.shape });
      expect(p.data.buffer).toBe(params.buffer);
      expect(p.grad!.data.buffer).toBe(grads.buffer);
      expect(p.toArray()).toEqual(before[i][1]);
      expect(Array.from(params.subarray(offset, offset + p.size))).toEqual(before[i][1]);
      offset += p.size;
    });
    expect(net.flatten().params).toBe(params);
    expect(net.flatParameters()).toBe(params);
    expect(net.flatGradients()).toBe(grads);
  });

  it('backward accumulates into the flat gradient buffer; zeroGrad keeps the buffer', () => {
    const net = new Net();
    const grads = net.flatGradients();
    const x = Tensor.randn([5, 3], { rng: new Rng(1) });
    net.forward(x).sum().backward();
    expect(grads.some((g) => g !== 0)).toBe(true);
    const first = Array.from(grads);
    net.forward(x).sum().backward();
    expect(Array.from(grads)).toEqual(first.map((g) => Math.fround(2 * g)));
    const views = net.parameters().map((p) => p.grad);
    net.zeroGrad();
    expect(grads.every((g) => g === 0)).toBe(true);
    expect(net.parameters().map((p) => p.grad)).toEqual(views);
    expect(net.flatGradients()).toBe(grads);
  });

  it('writes into the flat buffer change the parameters the forward uses', () => {
    const lin = new Linear(2, 1);
    const params = lin.flatParameters();
    params.set([1, 2, 0.5]);
    expect(lin.forward(Tensor.from([3, 4], [1, 2])).toArray()).toEqual([3 + 8 + 0.5]);
  });

  it('re-flattens when a parameter or gradient stopped being a view, keeping values', () => {
    const lin = new Linear(2, 2);
    const first = lin.flatten();
    lin.weight.grad = new Tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const second = lin.flatten();
    expect(second.params).not.toBe(first.params);
    expect(Array.from(second.grads)).toEqual([1, 2, 3, 4, 0, 0]);
    expect(Array.from(second.params)).toEqual(Array.from(first.params));
  });

  it('a parent flattening re-homes a child flattened before', () => {
    const net = new Net();
    const childBuffers = net.block.flatten();
    const root = net.flatten();
    expect(net.block.fc1.weight.data.buffer).toBe(root.params.buffer);
    expect(net.block.flatten().params).not.toBe(childBuffers.params);
    expect(net.block.flatten().params.buffer).not.toBe(root.params.buffer);
  });

  it('refuses to flatten parameters of mixed dtypes, naming the parameter', () => {
    const m = new Module();
    m.registerParameter('a', Tensor.zeros([2]));
    m.registerParameter('b', Tensor.zeros([2], { dtype: 'float64' }));
    expect(() => m.flatten()).toThrow('flatten: parameter "b" is float64, others float32; call module.to(dtype) first');
  });

  it('to(float64) converts parameters and keeps a flattened module flat', () => {
    const lin = new Linear(3, 2);
    const values = lin.flatParameters().slice();
    lin.to('float64');
    expect(lin.weight.dtype).toBe('float64');
    const flat = lin.flatParameters();
    expect(flat).toBeInstanceOf(Float64Array);
    expect(Array.from(flat)).toEqual(Array.from(values));
    expect(lin.weight.data.buffer).toBe(flat.buffer);
  });
});

describe('state dicts', () => {
  it('round-trips values into another module, in place', () => {
    const a = new Net();
    const b = new Net();
    const flat = b.flatParameters();
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual(a.namedParameters().map(([n]) => n));
    b.loadStateDict(sd);
    expect(Array.from(flat)).toEqual(Array.from(a.flatParameters()));
    expect(b.flatParameters()).toBe(flat);
  });

  it('state dict entries are copies', () => {
    const lin = new Linear(2, 2);
    const sd = lin.stateDict();
    lin.weight.data[0] = 42;
    expect(sd['weight'].data[0]).not.toBe(42);
  });

  it('rejects missing and unexpected keys and wrong shapes, naming the key', () => {
    const lin = new Linear(2, 3);
    const sd = lin.stateDict();
    const { bias, ...noBias } = sd;
    expect(() => lin.loadStateDict(noBias)).toThrow('loadStateDict: missing key "bias"');
    expect(() => lin.loadStateDict({ ...sd, extra: bias })).toThrow('loadStateDict: unexpected key "extra"');
    expect(() => lin.loadStateDict({ ...sd, weight: Tensor.zeros([3, 3]) }))
      .toThrow('loadStateDict: key "weight" has shape [3, 3], expected [3, 2]');
  });
});
