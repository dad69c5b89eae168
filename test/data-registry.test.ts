import { describe, expect, it } from 'vitest';
import { collate, DATASET_IDS, DATASETS, formatDatasetTable, getDataset, type Sample } from '../src/data/index.js';

describe('dataset registry', () => {
  it('holds the ten benchmark datasets with the reference facts', () => {
    expect(DATASET_IDS).toEqual(['meld', 'crema-d', 'ucf101', 'mit10', 'mit51', 'uci-har', 'ku-har', 'ptb-xl', 'hateful-memes', 'crisis-mmd']);
    const uci = getDataset('uci-har');
    expect(uci.modalities.map((m) => [m.name, m.maxLen, m.dim, m.encoder])).toEqual([
      ['acc', 128, 3, 'conv-gru'],
      ['gyro', 128, 3, 'conv-gru'],
    ]);
    expect([uci.numClasses, uci.numClients, uci.partition, uci.metric]).toEqual([6, 105, 'natural+dirichlet', 'macro-f1']);
    expect(getDataset('ptb-xl').hyper.batchSize).toBe(64);
    expect(getDataset('ptb-xl').multiLabel).toBe(true);
    expect(getDataset('ptb-xl').loss).toBe('bce');
    expect(getDataset('hateful-memes').hyper).toMatchObject({ localLr: 0.05, clientRate: 0.25, serverLr: 0.005, mu: 0.1, batchSize: 16 });
    expect(getDataset('mit51').hyper).toMatchObject({ clientRate: 0.05, rounds: 300, serverLr: 0.025 });
    expect(getDataset('meld').hyper).toMatchObject({ localLr: 0.01, serverLr: 0.002 });
    expect(getDataset('mit51').samples.total).toBe(157600);
    expect(getDataset('crisis-mmd').minClientSize).toBe(1);
    expect(getDataset('ucf101').protocol.folds).toBe(3);
    for (const id of DATASET_IDS) {
      const s = DATASETS[id];
      expect(s.classNames).toHaveLength(s.numClasses);
      expect(s.modalities).toHaveLength(2);
      expect(s.hyper.batchSize).toBe(id === 'ptb-xl' ? 64 : 16);
    }
    expect(() => getDataset('mnist')).toThrow(/unknown dataset 'mnist'; known: meld, crema-d/);
  });

  it('formats the registry as a text table', () => {
    const lines = formatDatasetTable().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^id\s+task\s+modalities\s+classes\s+clients\s+partition\s+metric$/);
    expect(lines.find((l) => l.startsWith('mit51'))).toMatch(/^mit51\s+action recognition\s+audio 150x80 \+ video 8x1280\s+51\s+1000\s+dirichlet\s+accuracy$/);
    expect(lines.find((l) => l.startsWith('ptb-xl'))).toMatch(/5 \(multi-label\)\s+33\s+natural\s+multilabel-macro-f1/);
  });
});

describe('collate', () => {
  const s = (lens: [number, number], label: number): Sample => ({
    modalities: lens.map((len, m) => ({ data: Float32Array.from({ length: len * 2 }, (_, i) => 100 * m + 10 * label + i + 1), length: len, dim: 2 })),
    label,
  });

  it('pads to the longest valid length, batch-first, and records lengths', () => {
    const b = collate([s([3, 0], 1), s([1, 0], 2)], [10, 10]);
    expect(b.size).toBe(2);
    const a = b.modalities[0];
    expect([a.T, a.D]).toEqual([3, 2]);
    expect(Array.from(a.lengths)).toEqual([3, 1]);
    expect(Array.from(a.data)).toEqual([11, 12, 13, 14, 15, 16, 21, 22, 0, 0, 0, 0]);
    // a modality every sample lacks: [B, 1, D] of zeros with lengths 0
    const m = b.modalities[1];
    expect([m.T, m.D]).toEqual([1, 2]);
    expect(Array.from(m.lengths)).toEqual([0, 0]);
    expect(Array.from(m.data)).toEqual([0, 0, 0, 0]);
    expect(b.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(b.labels)).toEqual([1, 2]);
  });

  it('truncates to the modality max length and stacks multi-label targets as [B, C] floats', () => {
    const mk = (y: number[]): Sample => ({ modalities: [{ data: new Float32Array(10).fill(1), length: 5, dim: 2 }], label: Uint8Array.from(y) });
    const b = collate([mk([1, 0, 1]), mk([0, 1, 0])], [3]);
    expect(b.modalities[0].T).toBe(3);
    expect(Array.from(b.modalities[0].lengths)).toEqual([3, 3]);
    expect(b.labels).toBeInstanceOf(Float32Array);
    expect(Array.from(b.labels)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(() => collate([], [3])).toThrow(/empty sample list/);
  });
});
