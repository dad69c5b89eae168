// FedMultimodal's fuse_base attention fusion as one differentiable op over the attentionFusion kernels.
import type { AttentionDims } from '../../backend/kernels.js';
import { kernels } from '../../backend/index.js';
import { addGrad, allocKernelOutput, makeOutput, recordsGraph, resultDtype, Tensor } from '../tensor.js';
import { shapeString } from '../shape.js';
import { dataIn } from './dtype.js';

/**
 * h[B,T,D], mask[B,T] (0 = padded step or missing modality), w1[hidden,D], b1[hidden], w2[heads,hidden],
 * b2[heads] → [B, heads·D]: per head k, softmax over time of att_fc2(tanh(att_fc1(h)))[·,·,k] with masked
 * steps at −1e5, then the weighted sum of h's steps (the kernels' shape comment has the equations).
 */
export function attentionFusion(h: Tensor, mask: Tensor, w1: Tensor, b1: Tensor | null, w2: Tensor, b2: Tensor | null): Tensor {
  if (h.ndim !== 3) throw new Error(`attentionFusion: input must be [B, T, D], got ${shapeString(h.shape)}`);
  const [B, T, D] = h.shape;
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new Error(`attentionFusion: mask must be [${B}, ${T}], got ${shapeString(mask.shape)}`);
  }
  if (w1.ndim !== 2 || w1.shape[1] !== D) throw new Error(`attentionFusion: w1 must be [hidden, ${D}], got ${shapeString(w1.shape)}`);
  const hidden = w1.shape[0];
  if (w2.ndim !== 2 || w2.shape[1] !== hidden) throw new Error(`attentionFusion: w2 must be [heads, ${hidden}], got ${shapeString(w2.shape)}`);
  const heads = w2.shape[0];
  if (b1 && (b1.ndim !== 1 || b1.shape[0] !== hidden)) throw new Error(`attentionFusion: b1 of shape ${shapeString(b1.shape)}, expected [${hidden}]`);
  if (b2 && (b2.ndim !== 1 || b2.shape[0] !== heads)) throw new Error(`attentionFusion: b2 of shape ${shapeString(b2.shape)}, expected [${heads}]`);
  const d: AttentionDims = { B, T, D, hidden, heads };
  const params = [h, w1, b1, w2, b2];
  const inputs = params.filter((t): t is Tensor => t !== null);
  const dtype = resultDtype(...inputs);
  const [hd, w1d, b1d, w2d, b2d] = params.map((t) => (t ? dataIn(t, dtype) : null));
  const md = dataIn(mask, dtype);
  // Forward only (no graph recorded): the kernel keeps no u.
  const u = recordsGraph(inputs) ? allocKernelOutput(dtype, B * T * hidden) : null;
  const a = allocKernelOutput(dtype, B * heads * T);
  const out = allocKernelOutput(dtype, B * heads * D);
  const k = kernels();
  k.attentionFusionForward(hd!, md, w1d!, b1d, w2d!, b2d, u, a, out, d);
  return makeOutput(out, [B, heads * D], inputs, (g) => {
    const grads = params.map((t) => (t && t.requiresGrad ? allocKernelOutput(dtype, t.size) : null));
    const [gh, gw1, gb1, gw2, gb2] = grads;
    k.attentionFusionBackward(hd!, md, w1d!, w2d!, u!, a, g, gh, gw1, gb1, gw2, gb2, d);
    params.forEach((t, i) => {
      const gi = grads[i];
      if (t && gi) addGrad(t, gi, true);
    });
  });
}
