// The caller's side of client-batched training (batched-train.ts runs it on the device): the model's plan from
// its parameter layout, and each chunk's inputs prepared on the host exactly as the CPU path draws them.
//
// Same generator streams as src/fl/local.ts: per client, Rng(seed).fork(`local/${round}/${id}`) forks 'shuffle'
// (the batches' order, one permutation per epoch, the last partial batch kept) and 'dropout' (one 32-bit seed per
// step, the step's default generator, from which every dropout site draws its mask in forward order: each
// modality's three conv blocks, then the head). The masks are drawn here with the reference dropoutMask kernel
// and sent as bits, 16 per float; the batches are collated here. Everything of a chunk crosses to the device
// process in one request, and one answer comes back.
import { Rng } from '../src/random.js';
import { dropoutMask } from '../src/backend/js/dropout.js';
import { pooledLength } from '../src/models/conv-encoder.js';
import type { MultimodalClassifier } from '../src/models/multimodal.js';
import { Dropout } from '../src/nn/dropout.js';
import type { Batch } from '../src/data/types.js';
import type { TaskData } from '../src/fl/task.js';
import type { BatchedPlan, ChunkAnswer, ChunkRequest, ChunkStep, ConvLayerPlan, LocalSettings, ModalityPlan, TensorSlot } from './batched-train.js';
import { deviceThread } from './device-thread.js';
import type { InitAnswer, ModeRequest } from './device-host.js';
import type { DeviceMode } from './device.js';
import { GPU_MAX_ELEMENTS } from './gpu-backend.js';

/** The batched path does not apply to a run or a model; the message names why and what runs instead. */
export class BatchedPathRefused extends Error {
  constructor(why: string) {
    super(`${why}: runs on the CPU path`);
    this.name = 'BatchedPathRefused';
  }
}

/** Conv1dEncoder's fixed geometry (src/models/conv-encoder.ts): kernel 5, padding 2, stride 1, pooling 2/2. */
const CONV = { kernel: 5, padding: 2, pool: 2 };
/** Shortest input the encoder reads (shorter ones are zero-padded, as MultimodalClassifier.encode does). */
const MIN_STEPS = 8;

/**
 * The plan of `module` for inputs of T[m] steps per modality, or BatchedPathRefused: the batched path runs the
 * conv-GRU encoders with attention fusion (UCI-HAR's model, and any of its sizes), one or two modalities.
 */
export function batchedPlan(module: MultimodalClassifier, T: readonly number[]): BatchedPlan {
  if (module.fusion !== 'attention') throw new BatchedPathRefused(`the batched gpu path runs attention fusion, not '${module.fusion}'`);
  if (module.inputs.length > 2) throw new BatchedPathRefused(`the batched gpu path runs one or two modalities, not ${module.inputs.length}`);
  for (const m of module.inputs) {
    if (m.encoder !== 'conv-gru') throw new BatchedPathRefused(`the batched gpu path runs conv-gru encoders, not '${m.encoder}' (${m.prefix})`);
  }
  const { layout, params } = module.flatten();
  const byName = new Map(layout.map((e) => [e.name, e]));
  const slot = (name: string, shape: number[]): TensorSlot => {
    const e = byName.get(name);
    if (!e) throw new BatchedPathRefused(`the batched gpu path found no parameter '${name}'`);
    if (e.shape.length !== shape.length || e.shape.some((d, i) => shape[i] >= 0 && d !== shape[i])) {
      throw new BatchedPathRefused(`the batched gpu path expects ${name} of shape [${shape}], got [${e.shape}]`);
    }
    return { offset: e.offset, size: e.shape.reduce((p, d) => p * d, 1) };
  };
  const shape = (name: string): number[] => byName.get(name)?.shape ?? [];
  const H = module.dHid;
  const heads = module.heads;
  const modalities: ModalityPlan[] = module.inputs.map((m, i) => {
    const conv = [1, 2, 3].map((k): ConvLayerPlan => {
      const name = `${m.prefix}_conv.conv${k}`;
      const [cout, cin] = shape(`${name}.weight`);
      return { w: slot(`${name}.weight`, [cout, cin, CONV.kernel]), b: slot(`${name}.bias`, [cout]), cin, cout };
    }) as [ConvLayerPlan, ConvLayerPlan, ConvLayerPlan];
    const I = conv[2].cout;
    const rnn = `${m.prefix}_rnn`;
    return {
      batchIndex: module.batchIndices[i], T: Math.max(T[i], MIN_STEPS), D: m.dim, conv,
      gru: { wIh: slot(`${rnn}.weight_ih_l0`, [3 * H, I]), wHh: slot(`${rnn}.weight_hh_l0`, [3 * H, H]), bIh: slot(`${rnn}.bias_ih_l0`, [3 * H]), bHh: slot(`${rnn}.bias_hh_l0`, [3 * H]) },
    };
  });
  const headDropout = module.classifier.at(2);
  if (!(headDropout instanceof Dropout)) throw new BatchedPathRefused('the batched gpu path runs the head Linear → ReLU → Dropout → Linear');
  // One dropout probability for the model (MultimodalOptions.dropout): the encoders' and the head's.
  const dropout = headDropout.p;
  const attnHidden = shape('fuse_att.att_fc1.weight')[0];
  const headHidden = shape('classifier.0.weight')[0];
  const classes = module.numClasses;
  return {
    P: params.length, H, heads, attnHidden, headHidden, classes, ...CONV, dropout, modalities,
    attention: {
      w1: slot('fuse_att.att_fc1.weight', [attnHidden, H]), b1: slot('fuse_att.att_fc1.bias', [attnHidden]),
      w2: slot('fuse_att.att_fc2.weight', [heads, attnHidden]), b2: slot('fuse_att.att_fc2.bias', [heads]),
    },
    head: {
      w1: slot('classifier.0.weight', [headHidden, heads * H]), b1: slot('classifier.0.bias', [headHidden]),
      w2: slot('classifier.3.weight', [classes, headHidden]), b2: slot('classifier.3.bias', [classes]),
    },
  };
}

/** The largest per-client array of a step (elements), which caps the chunk on a GPU mode (GPU_MAX_ELEMENTS per array). */
export function largestPerClientArray(plan: BatchedPlan, S: number): number {
  let most = 0;
  for (const m of plan.modalities) {
    let L = m.T;
    for (const c of m.conv) {
      most = Math.max(most, S * c.cout * L, c.w.size);
      L = Math.floor(L / plan.pool);
    }
    most = Math.max(most, S * L * 7 * plan.H, m.gru.wIh.size, m.gru.wHh.size);
  }
  const Tt = plan.modalities.reduce((s, m) => s + Math.floor(m.T / plan.pool ** 3), 0);
  return Math.max(most, S * Tt * plan.attnHidden, plan.attention.w1.size, plan.head.w1.size);
}

/** One client of a chunk: its data and where its generator streams start. */
export interface ChunkClient {
  readonly clientId: number;
  readonly data: TaskData<Batch>;
  /** Fold weight (the server's weight of its update, e.g. its sample count; 0 = train but leave out of the fold). */
  readonly weight: number;
  /** FedRS's class scale (length classes), or null/absent for plain logits; every client of a chunk has one or none. */
  readonly classScale?: Float32Array | null;
}

export interface ChunkSpec {
  readonly seed: number;
  readonly round: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly local: LocalSettings;
  readonly global: Float32Array;
  readonly returnWeights?: boolean;
}

/** What one client of a chunk produced (the fold's share is in ChunkResult.folded). */
export interface ChunkClientResult {
  readonly clientId: number;
  readonly steps: number;
  readonly numSamples: number;
  /** Sample-weighted mean training loss over the pass (as LocalResult.loss). */
  readonly loss: number;
  /** ‖w_c − w_global‖²; not finite = left out of the fold. */
  readonly sqNorm: number;
}

export interface ChunkResult {
  /** Σ weight·Δ over the clients with a finite update. */
  readonly folded: Float32Array;
  /** Σ of those clients' weights. */
  readonly weightSum: number;
  readonly clients: ChunkClientResult[];
  /** [C·P] final client weights, when asked. */
  readonly weights: Float32Array | null;
  /** Host preparation, the device process's training and fold, and the rest of the round trip (ms). */
  readonly prepareMs: number;
  readonly trainMs: number;
  readonly foldMs: number;
  readonly transferMs: number;
}

/** Sets in `words` (16 bits per float) bit base + i for every kept (nonzero) mask[i]. */
function packMask(mask: Float32Array, words: Float32Array, base: number): void {
  let word = base >> 4;
  let bit = base & 15;
  let acc = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0) acc |= 1 << bit;
    if (++bit === 16) {
      words[word++] += acc;
      acc = 0;
      bit = 0;
    }
  }
  if (acc !== 0) words[word] += acc;
}

/** The chunk's steps: every client's batches and masks from its generator streams, padded to S rows per client. */
export function prepareChunk(plan: BatchedPlan, clients: readonly ChunkClient[], spec: ChunkSpec): { steps: ChunkStep[]; perClient: { steps: number; seen: number }[] } {
  const C = clients.length;
  const S = spec.batchSize;
  const R = C * S;
  const M = plan.modalities.length;
  const p = plan.dropout;
  const perClient = clients.map((cl) => {
    const rng = new Rng(spec.seed).fork(`local/${spec.round}/${cl.clientId}`);
    const shuffle = rng.fork('shuffle');
    const dropout = rng.fork('dropout');
    const batches: Batch[] = [];
    for (let e = 0; e < spec.epochs; e++) for (const b of cl.data.batches(S, shuffle)) batches.push(b);
    if (batches.length === 0) throw new Error(`batched gpu path: client ${cl.clientId} has no sample to train on`);
    return { batches, dropout };
  });
  const nSteps = Math.max(...perClient.map((c) => c.batches.length));
  const state = new Uint32Array(4);
  // One client-step's mask of the largest site, reused (the draws go through the reference dropoutMask kernel).
  const siteSizes = plan.modalities.flatMap((m) => {
    let L = m.T;
    return m.conv.map((c) => c.cout * (L = Math.floor(L / plan.pool)));
  });
  const scratch = new Float32Array(S * Math.max(plan.headHidden, ...siteSizes));
  const steps: ChunkStep[] = [];
  for (let s = 0; s < nSteps; s++) {
    const inputs = plan.modalities.map((m) => new Float32Array(R * m.T * m.D));
    const lengths = plan.modalities.map(() => new Float32Array(R));
    const labels = new Float32Array(R);
    const rowScale = new Float32Array(R);
    const active = new Float32Array(C);
    const sites: { size: number; words: Float32Array }[] = [];
    if (p > 0) {
      for (const size of [...siteSizes, plan.headHidden]) sites.push({ size, words: new Float32Array(Math.ceil((R * size) / 16)) });
    }
    for (let c = 0; c < C; c++) {
      const pc = perClient[c];
      const batch = pc.batches[s];
      if (!batch) continue;
      active[c] = 1;
      const B = batch.size;
      for (let m = 0; m < M; m++) {
        const bm = batch.modalities[plan.modalities[m].batchIndex];
        const { T, D } = plan.modalities[m];
        if (bm.D !== D || Math.max(bm.T, MIN_STEPS) !== T) {
          throw new Error(`batched gpu path: client ${clients[c].clientId}'s batch has ${bm.T} steps × ${bm.D} features, the chunk ${T} × ${D}`);
        }
        for (let b = 0; b < B; b++) {
          inputs[m].set(bm.data.subarray(b * bm.T * D, (b + 1) * bm.T * D), (c * S + b) * T * D);
          lengths[m][c * S + b] = pooledLength(bm.lengths[b]);
        }
      }
      for (let b = 0; b < B; b++) {
        labels[c * S + b] = (batch.labels as Int32Array)[b];
        rowScale[c * S + b] = 1 / B;
      }
      if (p > 0) {
        const stepRng = new Rng(pc.dropout.nextU32());
        for (const site of sites) {
          const mask = scratch.subarray(0, B * site.size);
          stepRng.readWords(state);
          dropoutMask(state, p * 4294967296, p === 1 ? 0 : 1 / (1 - p), mask);
          stepRng.writeWords(state);
          packMask(mask, site.words, c * S * site.size);
        }
      }
    }
    steps.push({ inputs, lengths, labels, rowScale, active, masks: sites.map((x) => x.words) });
  }
  return { steps, perClient: perClient.map((c) => ({ steps: c.batches.length, seen: c.batches.reduce((n, b) => n + b.size, 0) })) };
}

/** The chunk's class scales [C, classes] (FedRS), or null when no client has one. */
function classScales(plan: BatchedPlan, clients: readonly ChunkClient[]): Float32Array | null {
  const having = clients.filter((c) => c.classScale).length;
  if (having === 0) return null;
  if (having !== clients.length) throw new Error('batched gpu path: every client of a chunk needs a class scale, or none');
  const out = new Float32Array(clients.length * plan.classes);
  clients.forEach((c, i) => {
    if (c.classScale!.length !== plan.classes) throw new Error(`batched gpu path: client ${c.clientId}'s class scale has ${c.classScale!.length} entries, the model ${plan.classes} classes`);
    out.set(c.classScale!, i * plan.classes);
  });
  return out;
}

/**
 * Trains chunks of clients on the device process in one gpu.js mode ('auto': WebGPU, else headless GL, else the
 * cpu fallback). One request per chunk; nothing crosses per kernel call.
 */
export class BatchedTrainer {
  readonly mode: DeviceMode;
  readonly init: InitAnswer;

  constructor(readonly module: MultimodalClassifier, mode: ModeRequest = 'auto') {
    this.init = deviceThread().call<InitAnswer>({ op: 'init', mode }, 120_000);
    this.mode = this.init.mode;
  }

  /** The most clients one chunk may hold on this mode (GPU modes: every array within GPU_MAX_ELEMENTS). */
  maxChunk(plan: BatchedPlan, batchSize: number): number {
    return this.mode === 'cpu' ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(GPU_MAX_ELEMENTS / largestPerClientArray(plan, batchSize)));
  }

  /** The plan for this trainer's model over `data`'s sequence lengths. */
  plan(data: TaskData<Batch>): BatchedPlan {
    const first = data.batches(1)[Symbol.iterator]().next().value as Batch | undefined;
    if (!first) throw new Error('batched gpu path: a client without samples cannot fix the sequence lengths');
    return batchedPlan(this.module, this.module.batchIndices.map((i) => first.modalities[i].T));
  }

  /** Trains `clients` as one chunk from spec.global and folds their updates on the device. */
  train(plan: BatchedPlan, clients: readonly ChunkClient[], spec: ChunkSpec): ChunkResult {
    const t0 = performance.now();
    const C = clients.length;
    if (C > this.maxChunk(plan, spec.batchSize)) throw new Error(`batched gpu path: ${C} clients exceed this mode's chunk limit of ${this.maxChunk(plan, spec.batchSize)}`);
    const { steps, perClient } = prepareChunk(plan, clients, spec);
    const request: ChunkRequest = {
      plan, C, S: spec.batchSize, global: spec.global, weights: Float32Array.from(clients, (c) => c.weight), local: spec.local, steps,
      classScale: classScales(plan, clients),
      returnWeights: spec.returnWeights === true,
    };
    const t1 = performance.now();
    const answer = deviceThread().call<ChunkAnswer>({ op: 'trainChunk', mode: this.mode, ...request });
    const t2 = performance.now();
    let weightSum = 0;
    const results = clients.map((cl, c): ChunkClientResult => {
      if (Number.isFinite(answer.sqNorms[c])) weightSum += cl.weight;
      return { clientId: cl.clientId, steps: perClient[c].steps, numSamples: cl.data.size, loss: answer.lossSums[c] / perClient[c].seen, sqNorm: answer.sqNorms[c] };
    });
    return {
      folded: answer.folded, weightSum, clients: results, weights: answer.weights, prepareMs: t1 - t0, trainMs: answer.trainMs, foldMs: answer.foldMs,
      transferMs: t2 - t1 - answer.trainMs - answer.foldMs,
    };
  }
}
