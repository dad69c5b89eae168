import { describe, expect, test } from 'vitest';
import { createModel, forwardFlopsPerSample, modelFlops } from '../src/models/index.js';
import { getDataset } from '../src/data/registry.js';
import { FedMultimodalTask } from '../src/fl/fedmultimodal.js';

/** 2·(multiply-adds) of a product [rows, k]·[k, n]. */
const mm = (rows: number, k: number, n: number) => 2 * rows * k * n;

describe('modelFlops', () => {
  test('UCI-HAR attention model: every product of every layer, 18.94 MFLOP per window', () => {
    const model = createModel(getDataset('uci-har'), { fusion: 'attention', dHid: 128 });
    const layers = Object.fromEntries(modelFlops(model, [128, 128]).map((l) => [l.layer, l.flops]));
    // Conv1d k5 pad 2 keeps T, each max-pool halves it: 128 → 64 → 32 → 16 steps into the GRU.
    const encoder = { conv1: mm(128, 3 * 5, 32), conv2: mm(64, 32 * 5, 64), conv3: mm(32, 64 * 5, 128) };
    const gru = mm(16, 128, 384) + mm(16, 128, 384);
    // 32 tokens (16 per sensor): 128 → 512 → 6 scoring MLP, then 6 weighted sums over 32 steps of 128.
    const att = mm(32, 128, 512) + mm(32, 512, 6) + mm(6, 32, 128);
    expect(layers).toEqual({
      'acc_conv.conv1': encoder.conv1, 'acc_conv.conv2': encoder.conv2, 'acc_conv.conv3': encoder.conv3, acc_rnn: gru,
      'gyro_conv.conv1': encoder.conv1, 'gyro_conv.conv2': encoder.conv2, 'gyro_conv.conv3': encoder.conv3, gyro_rnn: gru,
      fuse_att: att, 'classifier.0': mm(1, 768, 64), 'classifier.3': mm(1, 64, 6),
    });
    expect(forwardFlopsPerSample(model, [128, 128])).toBe(18_940_672);
  });

  test('concat fusion counts the head on the pooled features and not the unused per-modality projections', () => {
    const model = createModel(getDataset('uci-har'), { fusion: 'concat', dHid: 64 });
    const names = modelFlops(model, [128, 128]).map((l) => l.layer);
    expect(names).not.toContain('fuse_att');
    expect(names.some((n) => n.endsWith('_proj'))).toBe(false);
    const head = modelFlops(model, [128, 128]).filter((l) => l.layer.startsWith('classifier'));
    expect(head).toEqual([{ layer: 'classifier.0', flops: mm(1, 128, 64) }, { layer: 'classifier.2', flops: mm(1, 64, 6) }]);
  });

  test('an image modality is one token through its MLP; a raw-sequence GRU runs on every input step', () => {
    const spec = getDataset('hateful-memes');
    const model = createModel(spec, { fusion: 'attention', dHid: 32 });
    const img = spec.modalities.findIndex((m) => m.encoder === 'mlp');
    const text = 1 - img;
    const steps = [0, 0];
    steps[img] = 1;
    steps[text] = 10;
    const layers = Object.fromEntries(modelFlops(model, steps).map((l) => [l.layer, l.flops]));
    const dImg = spec.modalities[img].dim;
    const dText = spec.modalities[text].dim;
    expect(layers['img_proj.0']).toBe(mm(1, dImg, 32));
    expect(layers['img_proj.3']).toBe(mm(1, 32, 32));
    expect(layers.text_rnn).toBe(mm(10, dText, 96) + mm(10, 32, 96));
    expect(layers.fuse_att).toBe(mm(11, 32, 512) + mm(11, 512, 6) + mm(6, 11, 32));
  });

  test('a step count per modality is required', () => {
    const model = createModel(getDataset('uci-har'));
    expect(() => modelFlops(model, [128])).toThrow(/one step count per modality \(2\), got 1/);
  });

  test("the task counts a batch's own shapes", () => {
    const task = new FedMultimodalTask({ kind: 'fedmultimodal', dataset: 'uci-har', scale: 0.05 });
    const batch = task.clientData(task.data.activeClients[0]).batches(4)[Symbol.iterator]().next().value!;
    expect(task.forwardFlops(batch).reduce((s, l) => s + l.flops, 0)).toBe(18_940_672);
  });
});
