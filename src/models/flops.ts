// The FLOP count of a MultimodalClassifier, computed from its layers' shapes: what `fedmm bench` divides
// by to report GFLOP/s and the distance to the machine's limit.
//
// Counted: every multiply-add of the matrix products (2 FLOPs each) — convolutions, GRU input and recurrent
// products, linear layers, the attention's scoring MLP and weighted sum. Elementwise work (activations,
// pooling, gates, softmax, dropout) is left out: it is a few percent of the products and memory-bound.
// Sequences are counted at their padded length, as a batched implementation computes them. A training step
// counts 3× the forward (the usual convention: the backward pass computes the gradients of both the inputs
// and the weights, two products of the forward's size per product).
import type { Batch } from '../data/types.js';
import { Conv1d, GRU, Linear, Module, Sequential } from '../nn/index.js';
import { Conv1dEncoder } from './conv-encoder.js';
import type { MultimodalClassifier } from './multimodal.js';

/** One layer's forward FLOPs per sample. */
export interface LayerFlops {
  /** The layer's parameter-name prefix (state-dict naming), e.g. 'acc_conv.conv2', 'fuse_att'. */
  readonly layer: string;
  readonly flops: number;
}

/** A training step's FLOPs per sample, as a multiple of the forward's. */
export const TRAIN_FLOPS_PER_FORWARD = 3;

function child(model: Module, name: string): Module {
  const found = model.namedModules().find(([n]) => n === name);
  if (!found) throw new Error(`modelFlops: the model has no layer '${name}'`);
  return found[1];
}

function linearFlops(l: Linear, rows: number): number {
  return 2 * rows * l.inFeatures * l.outFeatures;
}

function sequentialFlops(prefix: string, seq: Sequential, rows: number): LayerFlops[] {
  const out: LayerFlops[] = [];
  seq.children().forEach((m, i) => {
    if (m instanceof Linear) out.push({ layer: `${prefix}.${i}`, flops: linearFlops(m, rows) });
  });
  return out;
}

/**
 * Forward FLOPs of one sample, layer by layer, for inputs of `steps[i]` time steps on the model's i-th modality
 * (its padded length: 128 for each UCI-HAR sensor).
 */
export function modelFlops(model: MultimodalClassifier, steps: readonly number[]): LayerFlops[] {
  if (steps.length !== model.inputs.length) throw new Error(`modelFlops: give one step count per modality (${model.inputs.length}), got ${steps.length}`);
  const layers: LayerFlops[] = [];
  let tokens = 0;
  model.inputs.forEach((input, i) => {
    let T = steps[i];
    let features = input.dim;
    if (input.encoder === 'mlp') {
      layers.push(...sequentialFlops(`${input.prefix}_proj`, child(model, `${input.prefix}_proj`) as Sequential, 1));
      tokens += 1;
      return;
    }
    if (input.encoder === 'conv-gru') {
      const encoder = child(model, `${input.prefix}_conv`) as Conv1dEncoder;
      T = Math.max(T, 8);
      for (const [name, conv] of [['conv1', encoder.conv1], ['conv2', encoder.conv2], ['conv3', encoder.conv3]] as [string, Conv1d][]) {
        const outT = Math.floor((T + 2 * conv.padding - conv.kernelSize) / conv.stride) + 1;
        layers.push({ layer: `${input.prefix}_conv.${name}`, flops: 2 * outT * conv.outChannels * conv.inChannels * conv.kernelSize });
        T = Math.floor(outT / 2);
        features = conv.outChannels;
      }
    }
    const gru = child(model, `${input.prefix}_rnn`) as GRU;
    if (gru.inputSize !== features) throw new Error(`modelFlops: ${input.prefix}_rnn expects ${gru.inputSize} features, its encoder gives ${features}`);
    const G = 3 * gru.hiddenSize;
    layers.push({ layer: `${input.prefix}_rnn`, flops: 2 * T * G * (gru.inputSize + gru.hiddenSize) });
    tokens += T;
  });
  if (model.fuseAtt) {
    const att = model.fuseAtt;
    const flops = linearFlops(att.att_fc1, tokens) + linearFlops(att.att_fc2, tokens) + 2 * att.heads * tokens * att.dHid;
    layers.push({ layer: 'fuse_att', flops });
  }
  layers.push(...sequentialFlops('classifier', model.classifier, 1));
  return layers;
}

/** Σ of modelFlops: forward FLOPs of one sample. */
export function forwardFlopsPerSample(model: MultimodalClassifier, steps: readonly number[]): number {
  return modelFlops(model, steps).reduce((s, l) => s + l.flops, 0);
}

/** Each modality's step count in a batch, in the model's input order (what modelFlops takes). */
export function batchSteps(model: MultimodalClassifier, batch: Batch): number[] {
  return model.batchIndices.map((k) => batch.modalities[k].T);
}
