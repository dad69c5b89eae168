import { describe, expect, test } from 'vitest';
import { Tensor, noGrad } from '../src/tensor/index.js';
import { FuseBaseSelfAttention, Linear } from '../src/nn/index.js';
import { createModel } from '../src/models/index.js';
import { DATASET_IDS, getDataset } from '../src/data/registry.js';
import type { Batch, BatchModality } from '../src/data/types.js';
import { Rng } from '../src/random.js';
import { gradcheck, randTensor } from './helpers/gradcheck.js';

function randomModality(rng: Rng, B: number, T: number, D: number, lengths: number[]): BatchModality {
  const data = new Float32Array(B * T * D);
  lengths.forEach((len, b) => {
    for (let i = 0; i < len * D; i++) data[b * T * D + i] = rng.normal();
  });
  return { data, lengths: Int32Array.from(lengths), T, D };
}

function batchFor(id: string, rng: Rng, B = 3, maxT = 24): Batch {
  const spec = getDataset(id);
  const modalities = spec.modalities.map((m) => {
    const T = Math.min(m.maxLen, maxT);
    return randomModality(rng, B, T, m.dim, Array.from({ length: B }, (_, b) => (b === 0 ? T : Math.max(1, T - 3 * b))));
  });
  return { modalities, labels: new Int32Array(B), size: B };
}

describe('FuseBaseSelfAttention', () => {
  test('matches the fuse_base equations on a hand-sized case', () => {
    const att = new FuseBaseSelfAttention(2, 1, { hidden: 1 });
    // att_fc1: w=[1, 0], b=0 → u = tanh(h0); att_fc2: w=[1], b=0 → score = tanh(h0).
    att.att_fc1.weight.data.set([1, 0]);
    att.att_fc1.bias!.data.set([0]);
    att.att_fc2.weight.data.set([1]);
    att.att_fc2.bias!.data.set([0]);
    const h = Tensor.from([0.5, 1, -1, 2, 3, 4], [1, 3, 2]);
    const out = att.forward(h, Tensor.from([1, 1, 0], [1, 3]));
    const s0 = Math.tanh(0.5);
    const s1 = Math.tanh(-1);
    const w0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
    const w1 = 1 - w0;
    expect(out.shape).toEqual([1, 2]);
    expect(out.data[0]).toBeCloseTo(w0 * 0.5 + w1 * -1, 6);
    expect(out.data[1]).toBeCloseTo(w0 * 1 + w1 * 2, 6);
  });

  test('gradients match finite differences (float64), masked steps get none', () => {
    const rng = new Rng(3);
    const att = new FuseBaseSelfAttention(3, 2, { hidden: 4, rng }).to('float64');
    const h = randTensor([2, 4, 3], rng);
    const mask = Tensor.from([1, 1, 0, 1, 1, 0, 0, 0], [2, 4]);
    const [w1, b1, w2, b2] = att.parameters();
    gradcheck((x) => att.forward(x, mask), [h]);
    gradcheck(() => att.forward(h.detach(), mask), [w1, b1, w2, b2]);
    h.grad = null;
    att.forward(h, mask).sum().backward();
    for (const [b, t] of [[0, 2], [1, 2], [1, 3]]) {
      for (let d = 0; d < 3; d++) expect(h.grad!.data[(b * 4 + t) * 3 + d]).toBe(0);
    }
  });
});

describe('FedMultimodal models', () => {
  test('HAR attention model has the original HARClassifier parameter names and shapes', () => {
    const model = createModel(getDataset('uci-har'), { fusion: 'attention' });
    const shapes = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.shape]));
    const expected: Record<string, number[]> = {};
    for (const m of ['acc', 'gyro']) {
      expected[`${m}_conv.conv1.weight`] = [32, 3, 5];
      expected[`${m}_conv.conv1.bias`] = [32];
      expected[`${m}_conv.conv2.weight`] = [64, 32, 5];
      expected[`${m}_conv.conv2.bias`] = [64];
      expected[`${m}_conv.conv3.weight`] = [128, 64, 5];
      expected[`${m}_conv.conv3.bias`] = [128];
    }
    for (const m of ['acc', 'gyro']) {
      expected[`${m}_rnn.weight_ih_l0`] = [384, 128];
      expected[`${m}_rnn.weight_hh_l0`] = [384, 128];
      expected[`${m}_rnn.bias_ih_l0`] = [384];
      expected[`${m}_rnn.bias_hh_l0`] = [384];
    }
    Object.assign(expected, {
      'fuse_att.att_fc1.weight': [512, 128], 'fuse_att.att_fc1.bias': [512],
      'fuse_att.att_fc2.weight': [6, 512], 'fuse_att.att_fc2.bias': [6],
      'classifier.0.weight': [64, 768], 'classifier.0.bias': [64],
      'classifier.3.weight': [6, 64], 'classifier.3.bias': [6],
    });
    expect(Object.keys(shapes)).toEqual(Object.keys(expected));
    expect(shapes).toEqual(expected);
  });

  test('concat models carry the originals\' projections and heads', () => {
    const har = createModel(getDataset('uci-har'), { fusion: 'concat' }).namedParameters().map(([n]) => n);
    expect(har.slice(-8)).toEqual(['acc_proj.weight', 'acc_proj.bias', 'gyro_proj.weight', 'gyro_proj.bias',
      'classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias']);
    const memes = createModel(getDataset('hateful-memes'), { fusion: 'concat' }).namedParameters().map(([n]) => n);
    expect(memes.slice(0, 4)).toEqual(['img_proj.0.weight', 'img_proj.0.bias', 'img_proj.3.weight', 'img_proj.3.bias']);
    expect(memes).toContain('classifier.3.weight');
    expect(memes.some((n) => n.startsWith('fuse_att') || n === 'text_proj.weight')).toBe(false);
    const ecg = createModel(getDataset('ptb-xl'), { fusion: 'attention' }).namedParameters().map(([n]) => n);
    expect(ecg[0]).toBe('i_to_avf_conv.conv1.weight');
    expect(ecg).toContain('v1_to_v6_rnn.weight_hh_l0');
  });

  test.each(DATASET_IDS.map((id) => [id]))('%s: both fusions and both unimodal baselines give [B, classes] logits', (id) => {
    const spec = getDataset(id);
    const rng = new Rng(11);
    const batch = batchFor(id, rng);
    for (const options of [{ fusion: 'attention' as const }, { fusion: 'concat' as const }, { modalities: [0] }, { modalities: [1] }]) {
      const model = createModel(spec, { dHid: 8, heads: 2, nFilters: 4, rng, ...options });
      const logits = model.forward(batch);
      expect(logits.shape).toEqual([3, spec.numClasses]);
      expect(logits.toArray().every(Number.isFinite)).toBe(true);
    }
  });

  test.each([['attention'], ['concat']] as const)('%s: a missing modality changes nothing, whatever its padding holds', (fusion) => {
    const rng = new Rng(5);
    const model = createModel(getDataset('crema-d'), { fusion, dHid: 8, heads: 2, nFilters: 4, rng }).eval();
    const batch = batchFor('crema-d', rng);
    const missingVideo = (T: number, fill: number): Batch => ({
      ...batch,
      modalities: [batch.modalities[0], { data: new Float32Array(3 * T * 1280).fill(fill), lengths: new Int32Array(3), T, D: 1280 }],
    });
    const reference = noGrad(() => model.forward(missingVideo(10, 0))).toArray();
    expect(noGrad(() => model.forward(missingVideo(10, 7.5))).toArray()).toEqual(reference);
    expect(noGrad(() => model.forward(missingVideo(3, -2))).toArray()).toEqual(reference);
    // ...while a present video does change the output.
    expect(noGrad(() => model.forward(batch)).toArray()).not.toEqual(reference);
  });

  test('a state dict round-trips between two models of the same dataset', () => {
    const spec = getDataset('meld');
    const a = createModel(spec, { dHid: 8, rng: new Rng(1) }).eval();
    const b = createModel(spec, { dHid: 8, rng: new Rng(2) }).eval();
    const batch = batchFor('meld', new Rng(3));
    expect(b.forward(batch).toArray()).not.toEqual(a.forward(batch).toArray());
    b.loadStateDict(a.stateDict());
    expect(b.forward(batch).toArray()).toEqual(a.forward(batch).toArray());
  });

  test('features feed the last layer; bad inputs are rejected clearly', () => {
    const spec = getDataset('uci-har');
    const model = createModel(spec, { dHid: 8, nFilters: 4, rng: new Rng(1) }).eval();
    const batch = batchFor('uci-har', new Rng(2));
    expect(model.lastLayer).toBeInstanceOf(Linear);
    expect(model.features(batch).shape).toEqual([3, 64]);
    const wrong: Batch = { ...batch, modalities: [batch.modalities[0], { ...batch.modalities[1], D: 4 }] };
    expect(() => model.forward(wrong)).toThrow(/modality gyro has 4 features, the model expects 3/);
    expect(() => createModel(spec, { modalities: [2] })).toThrow(/must be distinct indices/);
  });
});
