// FedMultimodal's "fuse_base" self-attention fusion (FuseBaseSelfAttention in its mm_models.py):
// per time step scores S = W2·tanh(W1·h), one softmax over time per head, heads·D output.
import type { Rng } from '../random.js';
import { ATTENTION_MASKED_SCORE } from '../backend/kernels.js';
import type { Tensor } from '../tensor/tensor.js';
import { attentionFusion } from '../tensor/ops/attention.js';
import { shapeString } from '../tensor/shape.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface FuseBaseSelfAttentionOptions {
  /** Width of the scoring MLP's hidden layer (the original's 512). */
  hidden?: number;
  rng?: Rng;
}

/** The score given to padded steps and missing modalities before the softmax, as in the original. */
export const MASKED_SCORE = ATTENTION_MASKED_SCORE;

export class FuseBaseSelfAttention extends Module {
  readonly att_fc1: Linear;
  readonly att_fc2: Linear;

  constructor(readonly dHid: number, readonly heads = 6, options: FuseBaseSelfAttentionOptions = {}) {
    super();
    const hidden = options.hidden ?? 512;
    this.att_fc1 = this.registerModule('att_fc1', new Linear(dHid, hidden, { rng: options.rng }));
    this.att_fc2 = this.registerModule('att_fc2', new Linear(hidden, heads, { rng: options.rng }));
  }

  /**
   * h[B,T,D], mask[B,T] (1 = valid step, 0 = padding or a missing modality) → [B, heads·D]:
   *   S = att_fc2(tanh(att_fc1(h))) [B,T,heads] → [B,heads,T]; masked steps get −1e5;
   *   A = softmax over T; out = (A · h) [B,heads,D] flattened.
   * Masked steps receive a weight of exactly 0 (exp underflows), so a missing modality changes nothing.
   */
  forward(h: Tensor, mask: Tensor): Tensor {
    if (h.ndim !== 3 || h.shape[2] !== this.dHid) {
      throw new Error(`FuseBaseSelfAttention: input must be [B, T, ${this.dHid}], got ${shapeString(h.shape)}`);
    }
    const [B, T] = h.shape;
    if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T) {
      throw new Error(`FuseBaseSelfAttention: mask must be [${B}, ${T}], got ${shapeString(mask.shape)}`);
    }
    return attentionFusion(h, mask, this.att_fc1.weight, this.att_fc1.bias, this.att_fc2.weight, this.att_fc2.bias);
  }
}
