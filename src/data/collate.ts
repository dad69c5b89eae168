// Collation of samples into zero-padded, batch-first mini-batches.
import type { Batch, BatchModality, Sample } from './types.js';

/**
 * Stacks samples into a Batch. Per modality m: T = the longest valid length in the batch capped at
 * modalityMaxLens[m] (at least 1, so a modality every sample lacks is a [B, 1, D] zero tensor with
 * lengths 0, like the original's zero default inputs); data [B, T, D] zero-padded; lengths [B].
 * Labels: Int32Array [B], or Float32Array [B, C] when the samples carry multi-hot Uint8Array labels.
 */
export function collate(samples: readonly Sample[], modalityMaxLens: readonly number[]): Batch {
  const B = samples.length;
  if (B === 0) throw new Error('collate: empty sample list');
  const M = modalityMaxLens.length;
  if (samples[0].modalities.length !== M) {
    throw new Error(`collate: samples have ${samples[0].modalities.length} modalities, ${M} max lengths given`);
  }
  const modalities: BatchModality[] = [];
  for (let m = 0; m < M; m++) {
    const D = samples[0].modalities[m].dim;
    const maxLen = modalityMaxLens[m];
    let T = 1;
    for (const s of samples) {
      const sm = s.modalities[m];
      if (sm.dim !== D) throw new Error(`collate: modality ${m} has dim ${sm.dim} in one sample and ${D} in another`);
      T = Math.max(T, Math.min(sm.length, maxLen));
    }
    const data = new Float32Array(B * T * D);
    const lengths = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const sm = samples[b].modalities[m];
      const len = Math.min(sm.length, maxLen);
      lengths[b] = len;
      if (len > 0) data.set(sm.data.subarray(0, len * D), b * T * D);
    }
    modalities.push({ data, lengths, T, D });
  }
  const first = samples[0].label;
  let labels: Int32Array | Float32Array;
  if (typeof first === 'number') {
    labels = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const y = samples[b].label;
      if (typeof y !== 'number') throw new Error('collate: mixed single- and multi-label samples');
      labels[b] = y;
    }
  } else {
    const C = first.length;
    labels = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      const y = samples[b].label;
      if (typeof y === 'number' || y.length !== C) throw new Error('collate: multi-label samples of different class counts');
      for (let c = 0; c < C; c++) labels[b * C + c] = y[c];
    }
  }
  return { modalities, labels, size: B };
}
