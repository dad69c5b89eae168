// The fused layer ops (conv block, linear + activation + dropout, attention fusion, the losses' kernels,
// dropout masks) against the same layers composed from single ops, and their float64 gradients against
// finite differences. Runs on every backend (vitest projects): float32 on the active backend, float64 on the
// reference through the dispatcher.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor/index.js';
import { convBlock } from '../src/tensor/ops/conv-block.js';
import { linearAct } from '../src/tensor/ops/linear.js';
import { attentionFusion } from '../src/tensor/ops/attention.js';
import { dropoutMask } from '../src/tensor/ops/dropout.js';
import { conv1d } from '../src/tensor/ops/conv1d.js';
import { maxPool1d } from '../src/tensor/ops/maxpool1d.js';
import { ATTENTION_MASKED_SCORE } from '../src/backend/kernels.js';
import { expectClose, gradcheck, randTensor } from './helpers/gradcheck.js';

const noDrop = null;

/** The attention of the original, composed from single ops (as FuseBaseSelfAttention did before fusing). */
function composedAttention(h: Tensor, mask: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor {
  const [B, T, D] = h.shape;
  const heads = w2.shape[0];
  const scores = h.matmul(w1, { transB: true }).add(b1).tanh().matmul(w2, { transB: true }).add(b2).transpose(1, 2);
  const invalid = Float64Array.from(mask.data, (m) => (m === 0 ? 1 : 0));
  const weights = scores.maskedFill(new Tensor(invalid, [B, 1, T]), ATTENTION_MASKED_SCORE).softmax(2);
  return weights.matmul(h).reshape([B, heads * D]);
}

function attentionInputs(rng: Rng, B: number, T: number, D: number, hidden: number, heads: number, masked: number[][]) {
  const mask = Tensor.ones([B, T], { dtype: 'float64' });
  masked.forEach(([b, t]) => { mask.data[b * T + t] = 0; });
  return {
    h: randTensor([B, T, D], rng), mask, w1: randTensor([hidden, D], rng, -0.5, 0.5), b1: randTensor([hidden], rng),
    w2: randTensor([heads, hidden], rng, -0.5, 0.5), b2: randTensor([heads], rng),
  };
}

const f32 = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.data), t.shape, t.requiresGrad);

describe('convBlock', () => {
  const rng = new Rng(11);
  const x = randTensor([2, 3, 12], rng);
  const w = randTensor([4, 3, 5], rng);
  const b = randTensor([4], rng);

  it('equals conv1d → relu → maxPool1d (float64), with and without padding and overlapping windows', () => {
    for (const [padding, poolKernel, poolStride] of [[2, 2, 2], [0, 3, 1], [1, 2, 3]]) {
      const fused = convBlock(x, w, b, { padding, poolKernel, poolStride });
      const composed = maxPool1d(conv1d(x, w, b, { padding }).relu(), poolKernel, poolStride);
      expect(fused.shape).toEqual(composed.shape);
      expectClose(fused.data, composed.data, 1e-12, 1e-12);
    }
  });

  it('float32 on the active backend agrees with float64', () => {
    const got = convBlock(f32(x), f32(w), f32(b), { padding: 2, poolKernel: 2 });
    expectClose(got.data, convBlock(x, w, b, { padding: 2, poolKernel: 2 }).data, 1e-5, 1e-4);
  });

  it('gradients match finite differences (float64), with a dropout mask', () => {
    gradcheck((xi, wi, bi) => convBlock(xi, wi, bi, { padding: 2, poolKernel: 2 }), [x, w, b]);
    gradcheck((xi, wi, bi) => convBlock(xi, wi, bi, { padding: 1, poolKernel: 3, poolStride: 2, dropout: { p: 0.3, training: true, rng: new Rng(5) } }), [x, w, b]);
  });

  it('dropout draws the same bits as composing F.dropout after the block', () => {
    const fused = convBlock(x, w, b, { padding: 2, poolKernel: 2, dropout: { p: 0.4, training: true, rng: new Rng(9) } });
    const plain = convBlock(x, w, b, { padding: 2, poolKernel: 2 });
    const mask = dropoutMask('float64', plain.size, 0.4, new Rng(9));
    expectClose(fused.data, plain.data.map((v, i) => v * mask[i]), 0, 0);
  });

  it('refuses inconsistent shapes with one line', () => {
    expect(() => convBlock(x, randTensor([4, 2, 5], rng), null, { poolKernel: 2 })).toThrow(/convBlock: input has 3 channels/);
    expect(() => convBlock(x, w, null, { poolKernel: 20 })).toThrow(/shorter than the pool kernel/);
  });
});

describe('linearAct', () => {
  const rng = new Rng(12);
  const x = randTensor([2, 3, 5], rng);
  const w = randTensor([4, 5], rng);
  const b = randTensor([4], rng);

  it('equals matmul + bias → activation (float64), over leading axes', () => {
    const z = x.matmul(w, { transB: true }).add(b);
    expectClose(linearAct(x, w, b, 'none', noDrop).data, z.data, 1e-12, 1e-12);
    expectClose(linearAct(x, w, b, 'relu', noDrop).data, z.relu().data, 1e-12, 1e-12);
    expectClose(linearAct(x, w, b, 'tanh', noDrop).data, z.tanh().data, 1e-12, 1e-12);
    expect(linearAct(x, w, b, 'none', noDrop).shape).toEqual([2, 3, 4]);
  });

  it('float32 on the active backend agrees with float64', () => {
    for (const act of ['none', 'relu', 'tanh'] as const) {
      expectClose(linearAct(f32(x), f32(w), f32(b), act, noDrop).data, linearAct(x, w, b, act, noDrop).data, 1e-5, 1e-4);
    }
  });

  it('gradients match finite differences (float64) for each activation, with dropout', () => {
    for (const act of ['none', 'relu', 'tanh'] as const) {
      gradcheck((xi, wi, bi) => linearAct(xi, wi, bi, act, { p: 0.25, training: true, rng: new Rng(3) }), [x, w, b]);
    }
    gradcheck((xi, wi) => linearAct(xi, wi, null, 'tanh', noDrop), [x, w]);
  });
});

describe('attentionFusion', () => {
  const rng = new Rng(13);
  const masked = [[0, 1], [1, 0], [1, 3]];
  const { h, mask, w1, b1, w2, b2 } = attentionInputs(rng, 2, 5, 4, 6, 3, masked);

  it('equals the original composed attention (float64), masked steps weighted 0', () => {
    expectClose(attentionFusion(h, mask, w1, b1, w2, b2).data, composedAttention(h, mask, w1, b1, w2, b2).data, 1e-12, 1e-10);
  });

  it('float32 on the active backend agrees with float64', () => {
    const got = attentionFusion(f32(h), f32(mask), f32(w1), f32(b1), f32(w2), f32(b2));
    expectClose(got.data, attentionFusion(h, mask, w1, b1, w2, b2).data, 1e-5, 1e-4);
  });

  it('gradients match finite differences (float64) and the composed graph, also with a fully masked sample', () => {
    gradcheck((hi, w1i, b1i, w2i, b2i) => attentionFusion(hi, mask, w1i, b1i, w2i, b2i), [h, w1, b1, w2, b2]);
    const allMasked = Tensor.ones([2, 5], { dtype: 'float64' });
    allMasked.data.fill(0, 0, 5);
    const wOut = Tensor.from(Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i)), [2, 12], { dtype: 'float64' });
    const grads = (f: typeof attentionFusion) => {
      for (const t of [h, w1, b1, w2, b2]) t.grad = null;
      f(h, allMasked, w1, b1, w2, b2).mul(wOut).sum().backward();
      return [h, w1, b1, w2, b2].map((t) => Float64Array.from(t.grad!.data));
    };
    const fused = grads(attentionFusion);
    const composed = grads(composedAttention);
    fused.forEach((g, i) => expectClose(g, composed[i], 1e-12, 1e-9));
  });
});

describe('dropout masks', () => {
  it('draw one nextU32 per element with the same bits as the generator, and leave it where those draws end', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const a = new Rng(21);
      const b = new Rng(21);
      const mask = dropoutMask(dtype, 1000, 0.3, a);
      for (let i = 0; i < 1000; i++) expect(mask[i]).toBe(b.nextU32() < 0.3 * 4294967296 ? 0 : dtype === 'float32' ? Math.fround(1 / 0.7) : 1 / 0.7);
      expect(a.nextU32()).toBe(b.nextU32());
    }
    expect([...dropoutMask('float32', 8, 1, new Rng(1))]).toEqual(new Array(8).fill(0));
  });
});
