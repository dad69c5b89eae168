// Client-batched training on the device: a chunk of C clients of the FedMultimodal conv-GRU attention
// classifier (UCI-HAR's model) trains in lockstep, one step at a time, every client on its own weights, and the
// chunk's updates are folded on the device. Runs in the device process (device-host.ts): the whole chunk — the
// global weights, every step's inputs, labels and dropout masks — arrives as one request, and one answer goes
// back (the folded update, per-client losses and update norms; the per-client weights only when asked).
//
// Per step, for each modality: 3 × (conv → ReLU → max-pool → dropout), the GRU over the pooled steps (its input
// projection for all steps at once, then per step the hidden projection and the fused gates; the per-step states
// stacked by a tree of concatenations for the backward and the attention); then the fuse_base attention over both
// modalities' steps, the head (Linear → ReLU → Dropout → Linear; FedRS's per-client class scale on the last one) and
// the cross-entropy — and the backward of all of
// it in reverse. Then per client, as the CPU path does: clip the gradient to its global L2 norm, FedProx's term,
// weight decay, SGD with momentum (a client without a batch at this step — it has fewer batches — keeps its weights
// and buffer). Every intermediate stays on the device (pipeline results) and is released after the step.
//
// The fold: Σ_c weights[c]·(w_c − w_global) per parameter, in client order, Kahan-compensated in float32
// (bFold). A client whose update is not finite (its Σ(Δ)² read back first) gets weight 0 and is reported.
import type { Device, DeviceValue, KernelArg } from './device.js';
import type { KernelName } from './sources.js';

/** Where a parameter tensor lives in the flat parameter vector. */
export interface TensorSlot {
  readonly offset: number;
  readonly size: number;
}

export interface ConvLayerPlan {
  readonly w: TensorSlot;
  readonly b: TensorSlot;
  readonly cin: number;
  readonly cout: number;
}

export interface ModalityPlan {
  /** Which of the batch's modalities this is. */
  readonly batchIndex: number;
  /** Input steps (padded) and features per step. */
  readonly T: number;
  readonly D: number;
  readonly conv: readonly [ConvLayerPlan, ConvLayerPlan, ConvLayerPlan];
  readonly gru: { readonly wIh: TensorSlot; readonly wHh: TensorSlot; readonly bIh: TensorSlot; readonly bHh: TensorSlot };
}

/** The model as the batched path runs it (batched-model.ts builds it from the module's parameter layout). */
export interface BatchedPlan {
  /** Parameters in all. */
  readonly P: number;
  /** GRU hidden size, attention heads, the attention's scoring width, the head's hidden width, classes. */
  readonly H: number;
  readonly heads: number;
  readonly attnHidden: number;
  readonly headHidden: number;
  readonly classes: number;
  /** Conv kernel size and padding (stride 1), pooling window = stride. */
  readonly kernel: number;
  readonly padding: number;
  readonly pool: number;
  readonly dropout: number;
  /** One or two modalities. */
  readonly modalities: readonly ModalityPlan[];
  readonly attention: { readonly w1: TensorSlot; readonly b1: TensorSlot; readonly w2: TensorSlot; readonly b2: TensorSlot };
  readonly head: { readonly w1: TensorSlot; readonly b1: TensorSlot; readonly w2: TensorSlot; readonly b2: TensorSlot };
}

/** One lockstep step of a chunk: S rows per client (R = C·S), padded rows with rowScale 0. */
export interface ChunkStep {
  /** Per modality: x[R, T, D]. */
  readonly inputs: readonly Float32Array[];
  /** Per modality: valid GRU steps after the encoder's poolings [R] (0 for padded rows). */
  readonly lengths: readonly Float32Array[];
  /** Class index per row [R]. */
  readonly labels: Float32Array;
  /** 1 / (the client's batch size) on a valid row, 0 on a padded one [R]. */
  readonly rowScale: Float32Array;
  /** 1 for a client that has a batch at this step [C]. */
  readonly active: Float32Array;
  /** Dropout mask bits (16 per float), per site in draw order: each modality's 3 conv blocks, then the head; empty without dropout. */
  readonly masks: readonly Float32Array[];
}

export interface LocalSettings {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  /** FedProx's μ (0 for FedAvg / FedOpt). */
  readonly mu: number;
}

export interface ChunkRequest {
  readonly plan: BatchedPlan;
  readonly C: number;
  /** Rows per client (the batch size). */
  readonly S: number;
  readonly global: Float32Array;
  /** Fold weight per client (0 leaves a client out). */
  readonly weights: Float32Array;
  /** FedRS's per-client class scale [C, classes] (null: plain logits). */
  readonly classScale: Float32Array | null;
  readonly local: LocalSettings;
  readonly steps: readonly ChunkStep[];
  /** Also read back every client's final weights [C, P] (parity tests, per-update aggregators). */
  readonly returnWeights: boolean;
}

export interface ChunkAnswer {
  /** Σ_c weights[c]·(w_c − w_global) over the clients with a finite update [P]. */
  readonly folded: Float32Array;
  /** Per client: the summed training loss (Σ over its samples of the per-sample loss) [C]. */
  readonly lossSums: Float32Array;
  /** Per client: Σ (w_c − w_global)² [C] (not finite: the client was left out of the fold). */
  readonly sqNorms: Float32Array;
  /** Per client's final weights [C·P], when asked. */
  readonly weights: Float32Array | null;
  /** Milliseconds in the device process: training, fold and readback. */
  readonly trainMs: number;
  readonly foldMs: number;
}

/** pw for the mask bits: 2^0 … 2^15. */
const POWERS = Float32Array.from({ length: 16 }, (_, i) => 2 ** i);
/** Chunk of the per-client sums of squares. */
const SQ_CHUNK = 1024;

/** Everything of one step kept on the device for its backward: released when the step ends. */
class Held {
  private readonly values: DeviceValue[] = [];
  constructor(private readonly dev: Device) {}
  async run(name: KernelName, output: number[], args: KernelArg[]): Promise<DeviceValue> {
    const v = await this.dev.run(name, output, args);
    this.values.push(v);
    return v;
  }
  releaseAll(): void {
    for (const v of this.values) this.dev.release(v);
    this.values.length = 0;
  }
}

interface ConvForward {
  x: KernelArg;
  xRow: number;
  xc: number;
  xl: number;
  L: number;
  P: number;
  z: DeviceValue;
  out: DeviceValue;
  mask: DeviceValue | null;
}

interface ModalityForward {
  convs: ConvForward[];
  /** Stacked GRU states [R, Tg, 5H]. */
  states: DeviceValue;
  Tg: number;
  /** Valid GRU steps per row, on the device and on the host. */
  lengths: DeviceValue;
  hostLengths: Float32Array;
}

/** Trains one chunk and folds it (see the header). */
export async function trainChunk(dev: Device, req: ChunkRequest): Promise<ChunkAnswer> {
  const t0 = performance.now();
  const { plan, C, S, local } = req;
  const R = C * S;
  const { H, heads, classes } = plan;
  const A = plan.attnHidden;
  const F = plan.headHidden;
  const slots = parameterSlots(plan);
  // Host arrays every step reads go to the device once per chunk (a host array as a kernel argument is uploaded
  // on every call); each step's own inputs once per step.
  const chunkHeld = new Held(dev);
  const upload = (held: Held, a: Float32Array) => held.run('upload', [a.length], [a]);
  const global = await upload(chunkHeld, req.global);
  const one = await upload(chunkHeld, new Float32Array(1));
  const powers = await upload(chunkHeld, POWERS);
  const zerosRH = await upload(chunkHeld, new Float32Array(R * H));
  const cs = req.classScale ? await upload(chunkHeld, req.classScale) : null;
  const scale = plan.dropout > 0 ? 1 / (1 - plan.dropout) : 1;
  const params = new Map<TensorSlot, DeviceValue>();
  const bufs = new Map<TensorSlot, DeviceValue>();
  for (const s of slots) params.set(s, await dev.run('bTile', [s.size, C], [global, s.offset]));
  let lossAcc: DeviceValue = new Float32Array(C);

  for (let step = 0; step < req.steps.length; step++) {
    const st = req.steps[step];
    const held = new Held(dev);
    const run = (name: KernelName, output: number[], args: KernelArg[]) => held.run(name, output, args);
    const w = (s: TensorSlot) => params.get(s)!;
    const hasMask = st.masks.length > 0 ? 1 : 0;
    const masks: DeviceValue[] = [];
    for (const m of st.masks) masks.push(await upload(held, m));
    const maskAt = (site: number): DeviceValue => (hasMask ? masks[site] : one);
    const labels = await upload(held, st.labels);
    const rowScale = await upload(held, st.rowScale);
    const active = await upload(held, st.active);
    const grads = new Map<TensorSlot, DeviceValue>();

    // Forward: per modality, the conv encoder and the GRU.
    const fwd: ModalityForward[] = [];
    for (const [m, mp] of plan.modalities.entries()) {
      const convs: ConvForward[] = [];
      let x: KernelArg = await upload(held, st.inputs[m]);
      let xRow = mp.T * mp.D;
      let xc = 1;
      let xl = mp.D;
      let L = mp.T;
      for (const [l, cp] of mp.conv.entries()) {
        const Lout = L + 2 * plan.padding - plan.kernel + 1;
        const P = Math.floor((Lout - plan.pool) / plan.pool) + 1;
        const mask = hasMask ? maskAt(3 * m + l) : null;
        const z = await run('bConvForward', [Lout, cp.cout, R], [x, w(cp.w), w(cp.b), cp.cin, L, plan.kernel, plan.padding, cp.cout, S, xRow, xc, xl]);
        const out = await run('bPoolForward', [P, R * cp.cout], [z, mask ?? one, powers, Lout, P, plan.pool, plan.pool, scale, hasMask]);
        convs.push({ x, xRow, xc, xl, L, P, z, out, mask });
        x = out;
        xRow = cp.cout * P;
        xc = P;
        xl = 1;
        L = P;
      }
      const I = mp.conv[2].cout;
      const Tg = L;
      const lengths = await upload(held, st.lengths[m]);
      const gi = await run('bClientLinear', [3 * H, Tg, R], [x, w(mp.gru.wIh), w(mp.gru.bIh), I, 3 * H, S, Tg, I * Tg, 0, 1, Tg, 0, one, powers, 1, 0]);
      const states: DeviceValue[] = [];
      for (let t = 0; t < Tg; t++) {
        const prev: KernelArg = t === 0 ? zerosRH : states[t - 1];
        const hRow = t === 0 ? H : 5 * H;
        const hOff = t === 0 ? 0 : 4 * H;
        const gh = await run('bClientLinear', [3 * H, 1, R], [prev, w(mp.gru.wHh), w(mp.gru.bHh), H, 3 * H, S, 1, hRow, hOff, 0, 1, 0, one, powers, 1, 0]);
        states.push(await run('gruGates', [5 * H, R], [gi, gh, prev, lengths, hOff, hRow, t, Tg, H]));
      }
      fwd.push({ convs, states: await stackRows(run, states, 5 * H, R), Tg, lengths, hostLengths: st.lengths[m] });
    }

    // Attention fusion over every modality's steps.
    const [fa, fb] = [fwd[0], fwd[1] ?? null];
    const Ta = fa.Tg;
    const Tb = fb ? fb.Tg : 0;
    const Tt = Ta + Tb;
    const mask = new Float32Array(R * Tt);
    for (let r = 0; r < R; r++) {
      for (let t = 0; t < Ta; t++) mask[r * Tt + t] = t < fa.hostLengths[r] ? 1 : 0;
      for (let t = 0; t < Tb; t++) mask[r * Tt + Ta + t] = t < fb!.hostLengths[r] ? 1 : 0;
    }
    const stepMask = await upload(held, mask);
    const at = plan.attention;
    const hcat = await run('bAttnInput', [H, Tt, R], [fa.states, fb ? fb.states : fa.states, fa.lengths, fb ? fb.lengths : fa.lengths, Ta, Tb, H]);
    const u = await run('bClientLinear', [A, Tt, R], [hcat, w(at.w1), w(at.b1), H, A, S, Tt, Tt * H, 0, H, 1, 2, one, powers, 1, 0]);
    const scores = await run('bClientLinear', [heads, Tt, R], [u, w(at.w2), w(at.b2), A, heads, S, Tt, Tt * A, 0, A, 1, 0, one, powers, 1, 0]);
    const a = await run('bAttnSoftmax', [Tt, heads, R], [scores, stepMask, Tt, heads]);
    const att = await run('bAttnOut', [heads * H, R], [a, hcat, Tt, H, heads]);

    // Head and loss.
    const hd = plan.head;
    const E = heads * H;
    const headMask = hasMask ? maskAt(3 * plan.modalities.length) : one;
    const y1 = await run('bClientLinear', [F, 1, R], [att, w(hd.w1), w(hd.b1), E, F, S, 1, E, 0, 0, 1, 1, headMask, powers, scale, hasMask]);
    const logits = cs
      ? await run('bScaledLogits', [classes, R], [y1, w(hd.w2), w(hd.b2), cs, F, classes, S])
      : await run('bClientLinear', [classes, 1, R], [y1, w(hd.w2), w(hd.b2), F, classes, S, 1, F, 0, 0, 1, 0, one, powers, 1, 0]);
    const gLogits = await run('bCrossEntropyGrad', [classes, R], [logits, labels, rowScale, classes]);
    // FedRS: the product's and the bias's gradients through the class scale.
    const gProduct = cs ? await run('bScaledLogitsGrad', [classes, R], [gLogits, cs, classes, S, 0]) : gLogits;
    const gBias = cs ? await run('bScaledLogitsGrad', [classes, R], [gLogits, cs, classes, S, 1]) : gLogits;
    const nextLoss = await dev.run('bClientLoss', [C], [logits, labels, rowScale, lossAcc, S, classes]);
    dev.release(lossAcc);
    lossAcc = nextLoss;

    // Backward: head.
    grads.set(hd.w2, await dev.run('bClientOuter', [F, classes, C], [gProduct, y1, S, 1, classes, 0, 0, 1, F, 0, 0, 1, 0]));
    grads.set(hd.b2, await dev.run('bClientSum', [classes, C], [gBias, S, classes, 0, 1, 1, 0]));
    const gz1 = await run('bClientGradInput', [F, 1, R], [gProduct, w(hd.w2), classes, F, S, 1, classes, 0, 0, 1, y1, F, 0, headMask, powers, scale, hasMask, one, 0, 0, 0, 0, 0]);
    grads.set(hd.w1, await dev.run('bClientOuter', [E, F, C], [gz1, att, S, 1, F, 0, 0, 1, E, 0, 0, 1, 0]));
    grads.set(hd.b1, await dev.run('bClientSum', [F, C], [gz1, S, F, 0, 1, 1, 0]));
    const gAtt = await run('bClientGradInput', [E, 1, R], [gz1, w(hd.w1), F, E, S, 1, F, 0, 0, 0, one, 0, 0, one, powers, 1, 0, one, 0, 0, 0, 0, 0]);

    // Backward: attention.
    const ga = await run('bAttnGradA', [Tt, heads, R], [gAtt, hcat, Tt, H, heads]);
    const gs = await run('bAttnGradScores', [heads, Tt, R], [ga, a, stepMask, Tt, heads]);
    grads.set(at.w2, await dev.run('bClientOuter', [A, heads, C], [gs, u, S, Tt, Tt * heads, 0, heads, 1, Tt * A, 0, A, 1, 0]));
    grads.set(at.b2, await dev.run('bClientSum', [heads, C], [gs, S, Tt * heads, 0, 1, Tt, heads]));
    const gpre = await run('bClientGradInput', [A, Tt, R], [gs, w(at.w2), heads, A, S, Tt, Tt * heads, 0, heads, 2, u, Tt * A, A, one, powers, 1, 0, one, 0, 0, 0, 0, 0]);
    grads.set(at.w1, await dev.run('bClientOuter', [H, A, C], [gpre, hcat, S, Tt, Tt * A, 0, A, 1, Tt * H, 0, H, 1, 0]));
    grads.set(at.b1, await dev.run('bClientSum', [A, C], [gpre, S, Tt * A, 0, 1, Tt, A]));
    const ghProj = await run('bClientGradInput', [H, Tt, R], [gpre, w(at.w1), A, H, S, Tt, Tt * A, 0, A, 0, one, 0, 0, one, powers, 1, 0, one, 0, 0, 0, 0, 0]);
    const gH = await run('bAttnGradH', [H, Tt, R], [a, gAtt, ghProj, Tt, H, heads]);

    // Backward: each modality's GRU, then its conv blocks.
    let tOff = 0;
    for (const [m, mp] of plan.modalities.entries()) {
      const f = fwd[m];
      const Tg = f.Tg;
      const I = mp.conv[2].cout;
      const ds: DeviceValue[] = new Array<DeviceValue>(Tg);
      let dh: KernelArg = zerosRH;
      for (let t = Tg - 1; t >= 0; t--) {
        ds[t] = await run('bGruBackStep', [7 * H, R], [dh, gH, f.states, f.lengths, Tt * H, tOff * H, t, Tg, H]);
        if (t > 0) {
          dh = await run('bClientGradInput', [H, 1, R], [ds[t], w(mp.gru.wHh), 3 * H, H, S, 1, 7 * H, 3 * H, 0, 0, one, 0, 0, one, powers, 1, 0, ds[t], 7 * H, 6 * H, 0, 1, 0]);
        }
      }
      const D7 = await stackRows(run, ds, 7 * H, R);
      const x3 = f.convs[2].out;
      grads.set(mp.gru.wIh, await dev.run('bClientOuter', [I, 3 * H, C], [D7, x3, S, Tg, Tg * 7 * H, 0, 7 * H, 1, I * Tg, 0, 1, Tg, 0]));
      grads.set(mp.gru.wHh, await dev.run('bClientOuter', [H, 3 * H, C], [D7, f.states, S, Tg, Tg * 7 * H, 3 * H, 7 * H, 1, Tg * 5 * H, 4 * H, 5 * H, 1, 1]));
      grads.set(mp.gru.bIh, await dev.run('bClientSum', [3 * H, C], [D7, S, Tg * 7 * H, 0, 1, Tg, 7 * H]));
      grads.set(mp.gru.bHh, await dev.run('bClientSum', [3 * H, C], [D7, S, Tg * 7 * H, 3 * H, 1, Tg, 7 * H]));
      let gOut: DeviceValue = await run('bClientGradInput', [Tg, I, R], [D7, w(mp.gru.wIh), 3 * H, I, S, Tg, Tg * 7 * H, 0, 7 * H, 0, one, 0, 0, one, powers, 1, 0, one, 0, 0, 0, 0, 1]);
      for (let l = 2; l >= 0; l--) {
        const cp = mp.conv[l];
        const cf = f.convs[l];
        const Lout = cf.L + 2 * plan.padding - plan.kernel + 1;
        const gz = await run('bPoolBackward', [Lout, R * cp.cout], [gOut, cf.z, cf.mask ?? one, powers, Lout, cf.P, plan.pool, plan.pool, scale, cf.mask ? 1 : 0]);
        grads.set(cp.w, await dev.run('bConvGradWeight', [plan.kernel, cp.cin, C * cp.cout], [cf.x, gz, cp.cout, cf.L, Lout, plan.padding, S, cf.xRow, cf.xc, cf.xl]));
        grads.set(cp.b, await dev.run('bClientSum', [cp.cout, C], [gz, S, cp.cout * Lout, 0, Lout, Lout, 1]));
        if (l > 0) gOut = await run('bConvGradInput', [cf.L, cp.cin, R], [gz, w(cp.w), cp.cin, cp.cout, plan.kernel, Lout, plan.padding, S]);
      }
      tOff += Tg;
    }

    // Per client: the gradient's global norm, then SGD (clipping, FedProx, weight decay, momentum).
    let normSq: DeviceValue = new Float32Array(C);
    for (const s of slots) {
      const parts = Math.ceil(s.size / SQ_CHUNK);
      const partial = await run('bClientSumSq', [parts, C], [grads.get(s)!, one, 0, s.size, SQ_CHUNK, 0]);
      normSq = await run('bAddPartials', [C], [partial, normSq, parts]);
    }
    const maxNorm = local.gradClip > 0 ? local.gradClip : 0;
    for (const s of slots) {
      const g = grads.get(s)!;
      const p = params.get(s)!;
      let next: DeviceValue;
      if (local.momentum > 0) {
        const buf: KernelArg = bufs.get(s) ?? one;
        const nb = await dev.run('bSgdBuf', [s.size, C], [p, g, buf, normSq, active, global, s.offset, s.size, local.weightDecay, local.momentum, step > 0 ? 1 : 0, maxNorm, local.mu]);
        next = await dev.run('bSgdParam', [s.size, C], [p, g, nb, normSq, active, global, s.offset, s.size, local.lr, local.weightDecay, 1, maxNorm, local.mu]);
        const old = bufs.get(s);
        if (old) dev.release(old);
        bufs.set(s, nb);
      } else {
        next = await dev.run('bSgdParam', [s.size, C], [p, g, one, normSq, active, global, s.offset, s.size, local.lr, local.weightDecay, 0, maxNorm, local.mu]);
      }
      dev.release(p);
      dev.release(g);
      params.set(s, next);
    }
    held.releaseAll();
  }
  for (const b of bufs.values()) dev.release(b);
  const t1 = performance.now();

  // Fold: per-client Σ Δ² first (finite check), then the weighted fold of the finite ones.
  let sq: DeviceValue = new Float32Array(C);
  const partials: DeviceValue[] = [];
  for (const s of slots) {
    const parts = Math.ceil(s.size / SQ_CHUNK);
    const partial = await dev.run('bClientSumSq', [parts, C], [params.get(s)!, global, s.offset, s.size, SQ_CHUNK, 1]);
    partials.push(partial);
    const next = await dev.run('bAddPartials', [C], [partial, sq, parts]);
    partials.push(sq);
    sq = next;
  }
  const sqNorms = await dev.read(sq, C);
  const lossSums = await dev.read(lossAcc, C);
  for (const v of [...partials, sq, lossAcc]) dev.release(v);
  const weights = Float32Array.from(req.weights, (wc, c) => (Number.isFinite(sqNorms[c]) ? wc : 0));
  const folded = new Float32Array(plan.P);
  const clientWeights = req.returnWeights ? new Float32Array(C * plan.P) : null;
  const part = new Float32Array(slots.reduce((m, s) => Math.max(m, s.size * C), 0));
  for (const s of slots) {
    const p = params.get(s)!;
    await dev.runRead('bFold', [s.size], [p, global, weights, s.offset, s.size, C], folded.subarray(s.offset, s.offset + s.size));
    if (clientWeights) {
      const all = await dev.read(p, s.size * C, part);
      for (let c = 0; c < C; c++) clientWeights.set(all.subarray(c * s.size, (c + 1) * s.size), c * plan.P + s.offset);
    }
    dev.release(p);
  }
  chunkHeld.releaseAll();
  return { folded, lossSums, sqNorms, weights: clientWeights, trainMs: t1 - t0, foldMs: performance.now() - t1 };
}

/** Every parameter tensor of the plan, in flat order. */
export function parameterSlots(plan: BatchedPlan): TensorSlot[] {
  const all: TensorSlot[] = [];
  for (const m of plan.modalities) {
    for (const c of m.conv) all.push(c.w, c.b);
    all.push(m.gru.wIh, m.gru.wHh, m.gru.bIh, m.gru.bHh);
  }
  all.push(plan.attention.w1, plan.attention.b1, plan.attention.w2, plan.attention.b2);
  all.push(plan.head.w1, plan.head.b1, plan.head.w2, plan.head.b2);
  return all.sort((x, y) => x.offset - y.offset);
}

/**
 * Rows [R, X] per step stacked along the step axis into [R, n·X], by a balanced tree of pairwise concatenations
 * (≈ log2 n copies of the whole instead of n).
 */
async function stackRows(run: (name: KernelName, output: number[], args: KernelArg[]) => Promise<DeviceValue>,
  parts: readonly DeviceValue[], X: number, R: number): Promise<DeviceValue> {
  let level = parts.map((v) => ({ v, n: 1 }));
  while (level.length > 1) {
    const next: { v: DeviceValue; n: number }[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        next.push(level[i]);
        continue;
      }
      const a = level[i];
      const b = level[i + 1];
      next.push({ v: await run('bConcatRows', [(a.n + b.n) * X, R], [a.v, b.v, a.n * X, b.n * X]), n: a.n + b.n });
    }
    level = next;
  }
  return level[0].v;
}
