// FedMultimodal's two-modality classifiers (MMActionClassifier, SERClassifier, HARClassifier,
// ECGClassifier, ImageTextClassifier in its model/mm_models.py) as one configurable module with the
// same parameter names, so that state dicts move between fedmm and the PyTorch originals unchanged.
//
// Per modality: conv-gru (Conv1dEncoder → GRU), gru (GRU on the raw sequence) or mlp (image vector →
// Linear → ReLU → Dropout → Linear). Fusion: 'attention' (fuse_base self-attention over the steps of both
// modalities) or 'concat' (mean over each modality's valid steps, concatenated). Head: Linear → 64 → ReLU
// (→ Dropout) → Linear → classes.
import type { Rng } from '../random.js';
import { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/ops/layout.js';
import { sequenceMean } from '../tensor/ops/sequence.js';
import { Dropout, FuseBaseSelfAttention, GRU, Linear, Module, ReLU, Sequential } from '../nn/index.js';
import type { Batch, BatchModality, EncoderKind } from '../data/types.js';
import { Conv1dEncoder, pooledLength } from './conv-encoder.js';

export type Fusion = 'attention' | 'concat';

export interface ModalityInput {
  /** Parameter-name prefix of the original model class: 'audio', 'video', 'text', 'img', 'acc', … */
  prefix: string;
  encoder: EncoderKind;
  /** Feature dimension of one step. */
  dim: number;
}

export interface MultimodalOptions {
  fusion?: Fusion;
  /** GRU hidden size d_hid (128 in every published run). */
  dHid?: number;
  /** Attention heads d_head (6). */
  heads?: number;
  /** Conv1dEncoder base filters (32). */
  nFilters?: number;
  dropout?: number;
  /** Head without dropout in concat mode, as the original HAR and ECG classifiers. */
  concatHeadDropout?: boolean;
  /** Create the original's (unused) per-modality projections in concat mode, for state-dict parity. */
  concatProjections?: boolean;
  rng?: Rng;
}

/** One modality's encoder output: h[B, T', dHid] with valid lengths. */
interface Encoded {
  h: Tensor;
  lengths: Int32Array;
}

export class MultimodalClassifier extends Module {
  readonly fusion: Fusion;
  readonly dHid: number;
  readonly heads: number;
  readonly classifier: Sequential;
  readonly fuseAtt: FuseBaseSelfAttention | null;
  private readonly stage1: (Conv1dEncoder | Sequential | null)[];
  private readonly rnns: (GRU | null)[];

  /**
   * @param inputs the modalities this model reads, in the batch's modality order (one entry = unimodal).
   * @param batchIndices where each input sits in Batch.modalities (default 0, 1, …).
   */
  constructor(readonly inputs: readonly ModalityInput[], readonly numClasses: number, options: MultimodalOptions = {},
    readonly batchIndices: readonly number[] = inputs.map((_, i) => i)) {
    super();
    if (inputs.length === 0) throw new Error('MultimodalClassifier: at least one modality is needed');
    this.fusion = options.fusion ?? 'attention';
    this.dHid = options.dHid ?? 128;
    this.heads = options.heads ?? 6;
    const nFilters = options.nFilters ?? 32;
    const p = options.dropout ?? 0.1;
    const rng = options.rng;
    const d = this.dHid;

    // Registration order follows the originals: first-stage encoders, then GRUs, then fusion, then head.
    this.stage1 = inputs.map((m) => {
      if (m.encoder === 'conv-gru') return this.registerModule(`${m.prefix}_conv`, new Conv1dEncoder(m.dim, nFilters, p, rng));
      if (m.encoder === 'mlp') {
        return this.registerModule(`${m.prefix}_proj`, new Sequential(
          new Linear(m.dim, d, { rng }), new ReLU(), new Dropout(p), new Linear(d, d, { rng })));
      }
      return null;
    });
    this.rnns = inputs.map((m, i) => {
      if (m.encoder === 'mlp') return null;
      const inSize = m.encoder === 'conv-gru' ? (this.stage1[i] as Conv1dEncoder).outputDim : m.dim;
      return this.registerModule(`${m.prefix}_rnn`, new GRU(inSize, d, { batchFirst: true, rng }));
    });
    if (this.fusion === 'attention') {
      this.fuseAtt = this.registerModule('fuse_att', new FuseBaseSelfAttention(d, this.heads, { rng }));
    } else {
      this.fuseAtt = null;
      if (options.concatProjections) {
        for (const m of inputs) this.registerModule(`${m.prefix}_proj`, new Linear(d, Math.floor(d / 2), { rng }));
      }
    }
    const fused = this.fusion === 'attention' ? d * this.heads : d * inputs.length;
    const headDropout = this.fusion === 'attention' || (options.concatHeadDropout ?? true);
    this.classifier = this.registerModule('classifier', headDropout
      ? new Sequential(new Linear(fused, 64, { rng }), new ReLU(), new Dropout(p), new Linear(64, numClasses, { rng }))
      : new Sequential(new Linear(fused, 64, { rng }), new ReLU(), new Linear(64, numClasses, { rng })));
  }

  /** The head's last Linear (FedRS rescales its per-class logits). */
  get lastLayer(): Linear {
    return this.classifier.at(-1) as Linear;
  }

  /** Logits [B, classes]. */
  forward(batch: Batch): Tensor {
    return this.lastLayer.forward(this.features(batch));
  }

  /** The input of the head's last Linear: [B, 64]. */
  features(batch: Batch): Tensor {
    return this.classifier.forwardRange(this.embed(batch), 0, this.classifier.length - 1);
  }

  /** The fused multimodal embedding (the original's x_mm): [B, heads·dHid] or [B, modalities·dHid]. */
  embed(batch: Batch): Tensor {
    const encoded = this.inputs.map((_, i) => this.encode(i, this.modalityOf(batch, i)));
    if (this.fuseAtt) {
      const h = encoded.length === 1 ? encoded[0].h : cat(encoded.map((e) => e.h), 1);
      return this.fuseAtt.forward(h, stepMask(encoded));
    }
    const pooled = encoded.map((e) => sequenceMean(e.h, e.lengths));
    return pooled.length === 1 ? pooled[0] : cat(pooled, 1);
  }

  private modalityOf(batch: Batch, i: number): BatchModality {
    const m = batch.modalities[this.batchIndices[i]];
    if (!m) throw new Error(`MultimodalClassifier: batch has no modality ${this.batchIndices[i]}`);
    if (m.D !== this.inputs[i].dim) {
      throw new Error(`MultimodalClassifier: modality ${this.inputs[i].prefix} has ${m.D} features, the model expects ${this.inputs[i].dim}`);
    }
    return m;
  }

  private encode(i: number, m: BatchModality): Encoded {
    const B = m.lengths.length;
    const kind = this.inputs[i].encoder;
    if (kind === 'mlp') {
      // The image is one token: its first step, with length 1 (0 when missing).
      const first = new Tensor(firstSteps(m), [B, m.D]);
      const h = (this.stage1[i] as Sequential).forward(first).reshape([B, 1, this.dHid]);
      return { h, lengths: m.lengths.map((len) => (len > 0 ? 1 : 0)) };
    }
    const minT = kind === 'conv-gru' ? 8 : 1;
    let x = new Tensor(padSteps(m, minT), [B, Math.max(m.T, minT), m.D]);
    let lengths = m.lengths;
    if (kind === 'conv-gru') {
      x = (this.stage1[i] as Conv1dEncoder).forward(x);
      lengths = lengths.map(pooledLength);
    }
    const [h] = (this.rnns[i] as GRU).forward(x, lengths);
    return { h, lengths };
  }
}

/** [B, T, D] data padded with zero steps to at least minT steps (the data itself when long enough). */
function padSteps(m: BatchModality, minT: number): Float32Array {
  if (m.T >= minT) return m.data;
  const out = new Float32Array(m.lengths.length * minT * m.D);
  for (let b = 0; b < m.lengths.length; b++) out.set(m.data.subarray(b * m.T * m.D, (b + 1) * m.T * m.D), b * minT * m.D);
  return out;
}

/** [B, D]: each sample's first step (zeros for an empty batch axis). */
function firstSteps(m: BatchModality): Float32Array {
  const B = m.lengths.length;
  const out = new Float32Array(B * m.D);
  if (m.T === 0) return out;
  for (let b = 0; b < B; b++) out.set(m.data.subarray(b * m.T * m.D, b * m.T * m.D + m.D), b * m.D);
  return out;
}

/** Attention mask [B, ΣT'] over the concatenated steps: 1 where a step is within its modality's length. */
function stepMask(encoded: Encoded[]): Tensor {
  const B = encoded[0].lengths.length;
  const total = encoded.reduce((s, e) => s + e.h.shape[1], 0);
  const mask = new Float32Array(B * total);
  let offset = 0;
  for (const e of encoded) {
    const T = e.h.shape[1];
    for (let b = 0; b < B; b++) mask.fill(1, b * total + offset, b * total + offset + Math.min(e.lengths[b], T));
    offset += T;
  }
  return new Tensor(mask, [B, total]);
}
