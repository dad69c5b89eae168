// Seeded simulator of the ten datasets at true scale (shapes, sequence lengths, classes, clients, sample
// counts). The generative model is documented in docs/datasets.md. In short, per sample:
//   - each modality gets a "code" from the class; classes come in pairs that one modality cannot tell
//     apart (pair j: modality A if j is even, B if odd), so only the two together identify every class;
//     binary sets (Hateful Memes) use a XOR confounder instead; multi-label PTB-XL puts each label's
//     evidence in one modality (NORM, MI in the limb leads; STTC, CD in the chest leads; HYP in both);
//   - with a per-dataset probability a modality's code is replaced by a random class's (ambiguous sample);
//   - conv-GRU modalities render the code as class-specific oscillations (frequency, channel loadings,
//     phase) plus a weak static part; video frames and images as class prototypes; text as a mix of
//     class-specific and generic token vectors; all plus a distractor class at lower amplitude and noise;
//   - natural groups (speakers, subjects, sites) add their own style: per-channel scale and offset, a
//     tempo change and a personal oscillation; and their own label distribution.
import { Rng } from '../random.js';
import type { SampleSource } from './client-dataset.js';
import type { DatasetId, DatasetSpec } from './registry.js';
import type { SampleModality } from './types.js';
import { OFFICIAL_DEV, POOL, TEST, type Universe } from './universe.js';

interface LengthDist {
  /** Median length (steps); the only value when sigma = 0. */
  median: number;
  /** Log-normal spread of the length. */
  sigma: number;
  min: number;
}

type TestRule =
  | { kind: 'random' } // spec.samples.test random samples
  | { kind: 'per-class' } // spec.samples.test / C of each class (MiT: official val, 100 per class)
  | { kind: 'group-folds'; folds: number } // groups g with g % folds === fold
  | { kind: 'ucf-groups' } // UCF101: 25 groups, split f tests groups 7f..7f+6
  | { kind: 'subjects' } // UCI-HAR: official train/test subjects
  | { kind: 'strat-fold' }; // PTB-XL: strat_fold 1-8 pool, 9 dev, 10 test

interface SimParams {
  /** Class prior; multi-label: per-label prevalence. */
  prior: number[];
  /** Per modality: probability that a sample's evidence in it points to a random class. */
  ambiguity: [number, number];
  /** Natural groups at full scale (0: none). */
  groups: number;
  groupSigma: number;
  minGroupSize: number;
  /** Natural groups: weight of a group-specific Dir(1) class distribution mixed into the prior. */
  labelSkew: number;
  lengths: [LengthDist, LengthDist];
  test: TestRule;
  /** HAR: z-normalise each window per channel, like the real pipeline. */
  zNormWindow: boolean;
}

const fixed = (n: number): LengthDist => ({ median: n, sigma: 0, min: n });
const norm = (w: number[]): number[] => {
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
};
const uniform = (c: number): number[] => new Array(c).fill(1 / c);

/** Per-subject window counts of the official UCI-HAR release (train subjects, then test subjects). */
export const UCI_HAR_SUBJECTS = {
  train: [1, 3, 5, 6, 7, 8, 11, 14, 15, 16, 17, 19, 21, 22, 23, 25, 26, 27, 28, 29, 30],
  trainCounts: [347, 341, 302, 325, 308, 281, 316, 323, 328, 366, 368, 360, 408, 321, 372, 409, 392, 376, 382, 344, 383],
  test: [2, 4, 9, 10, 12, 13, 18, 20, 24],
  testCounts: [302, 317, 288, 294, 320, 327, 364, 354, 381],
};

const SIM: Record<DatasetId, SimParams> = {
  meld: {
    prior: norm([0.47, 0.17, 0.07, 0.11]),
    ambiguity: [0.55, 0.45],
    groups: 86,
    groupSigma: 1.0,
    minGroupSize: 16,
    labelSkew: 0.5,
    lengths: [{ median: 250, sigma: 0.6, min: 30 }, { median: 12, sigma: 0.6, min: 2 }],
    test: { kind: 'random' },
    zNormWindow: false,
  },
  'crema-d': {
    prior: norm([1087, 1271, 1271, 1271]),
    ambiguity: [0.45, 0.45],
    groups: 91,
    groupSigma: 0.05,
    minGroupSize: 16,
    labelSkew: 0.1,
    lengths: [{ median: 250, sigma: 0.15, min: 120 }, { median: 3, sigma: 0.3, min: 1 }],
    test: { kind: 'group-folds', folds: 5 },
    zNormWindow: false,
  },
  ucf101: {
    prior: uniform(51),
    ambiguity: [0.35, 0.25],
    groups: 25,
    groupSigma: 0.1,
    minGroupSize: 1,
    labelSkew: 0,
    lengths: [{ median: 600, sigma: 0.4, min: 100 }, { median: 7, sigma: 0.4, min: 2 }],
    test: { kind: 'ucf-groups' },
    zNormWindow: false,
  },
  mit10: {
    prior: uniform(10),
    ambiguity: [0.5, 0.45],
    groups: 0,
    groupSigma: 0,
    minGroupSize: 1,
    labelSkew: 0,
    lengths: [fixed(150), fixed(8)],
    test: { kind: 'per-class' },
    zNormWindow: false,
  },
  mit51: {
    prior: uniform(51),
    ambiguity: [0.65, 0.6],
    groups: 0,
    groupSigma: 0,
    minGroupSize: 1,
    labelSkew: 0,
    lengths: [fixed(150), fixed(8)],
    test: { kind: 'per-class' },
    zNormWindow: false,
  },
  'uci-har': {
    prior: norm([1722, 1544, 1406, 1777, 1906, 1944]),
    ambiguity: [0.15, 0.2],
    groups: 30,
    groupSigma: 0,
    minGroupSize: 1,
    labelSkew: 0.15,
    lengths: [fixed(128), fixed(128)],
    test: { kind: 'subjects' },
    zNormWindow: true,
  },
  'ku-har': {
    prior: norm([20, 15, 15, 12, 12, 10, 8, 8]),
    ambiguity: [0.25, 0.25],
    groups: 82,
    groupSigma: 0.3,
    minGroupSize: 12,
    labelSkew: 0.2,
    lengths: [fixed(64), fixed(64)],
    test: { kind: 'group-folds', folds: 5 },
    zNormWindow: true,
  },
  'ptb-xl': {
    prior: [0.44, 0.25, 0.24, 0.22, 0.12],
    ambiguity: [0.2, 0.2],
    groups: 33,
    groupSigma: 0.8,
    minGroupSize: 30,
    labelSkew: 0.4,
    lengths: [fixed(1000), fixed(1000)],
    test: { kind: 'strat-fold' },
    zNormWindow: false,
  },
  'hateful-memes': {
    prior: norm([0.64, 0.36]),
    ambiguity: [0.3, 0.3],
    groups: 0,
    groupSigma: 0,
    minGroupSize: 1,
    labelSkew: 0,
    lengths: [fixed(1), { median: 14, sigma: 0.5, min: 3 }],
    test: { kind: 'random' },
    zNormWindow: false,
  },
  'crisis-mmd': {
    prior: norm([0.05, 0.17, 0.03, 0.01, 0.24, 0.26, 0.2, 0.04]),
    ambiguity: [0.5, 0.4],
    groups: 0,
    groupSigma: 0,
    minGroupSize: 1,
    labelSkew: 0,
    lengths: [fixed(1), { median: 25, sigma: 0.4, min: 4 }],
    test: { kind: 'random' },
    zNormWindow: false,
  },
};

/** The simulator's settings for a dataset (class prior, ambiguity, group structure, lengths). */
export function simulationParams(id: DatasetId): Readonly<SimParams> {
  return SIM[id];
}

/** Draws an index from a discrete distribution given by its cumulative sums. */
function drawCategorical(cum: Float64Array, r: Rng): number {
  const u = r.random() * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumsum(p: ArrayLike<number>): Float64Array {
  const c = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) c[i] = s += p[i];
  return c;
}

/** Splits n into parts proportional to weights, each at least min (largest remainder). */
function allocate(n: number, weights: number[], min: number): number[] {
  const G = weights.length;
  const free = n - G * min;
  if (free < 0) throw new Error(`cannot give ${G} groups ${min} samples each from ${n}`);
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (free * w) / total);
  const sizes = exact.map((x) => Math.floor(x));
  let left = free - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((x, g) => [x - Math.floor(x), g] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % G, left--) sizes[order[k][1]]++;
  return sizes.map((s) => s + min);
}

/**
 * The sample table of a simulated dataset: labels, groups and split roles for the given scale and fold.
 * Depends only on (spec, dataSeed, scale, fold).
 */
export function simulatedUniverse(spec: DatasetSpec, dataSeed: number, scale: number, fold: number): Universe {
  const p = SIM[spec.id];
  const C = spec.numClasses;
  const rng = new Rng(dataSeed).fork(`universe/${spec.id}`);
  // Group sizes (natural groups keep their size distribution; scaling removes groups).
  let groupSizes: number[] = [];
  let groupNames: string[] = [];
  let groupIsTest: boolean[] | null = null;
  if (spec.id === 'uci-har') {
    const nTrain = Math.max(1, Math.round(21 * scale));
    const nTest = Math.max(1, Math.round(9 * scale));
    groupSizes = [...UCI_HAR_SUBJECTS.trainCounts.slice(0, nTrain), ...UCI_HAR_SUBJECTS.testCounts.slice(0, nTest)];
    groupNames = [...UCI_HAR_SUBJECTS.train.slice(0, nTrain), ...UCI_HAR_SUBJECTS.test.slice(0, nTest)].map((s) => `subject-${String(s).padStart(2, '0')}`);
    groupIsTest = groupSizes.map((_, g) => g >= nTrain);
  } else if (p.groups > 0) {
    const n = Math.max(1, Math.round(spec.samples.total * scale));
    const folds = p.test.kind === 'group-folds' ? p.test.folds : 2;
    let G = spec.id === 'ucf101' ? p.groups : Math.max(folds, Math.round(p.groups * scale));
    G = Math.max(Math.min(G, Math.floor(n / p.minGroupSize)), 1);
    const gr = rng.fork('group-sizes');
    groupSizes = allocate(n, Array.from({ length: G }, () => Math.exp(p.groupSigma * gr.normal())), Math.min(p.minGroupSize, Math.floor(n / G)));
    const key = spec.clientKey ?? 'group';
    groupNames = groupSizes.map((_, g) => `${key}-${String(g).padStart(3, '0')}`);
  }
  const n = groupSizes.length > 0 ? groupSizes.reduce((a, b) => a + b, 0) : Math.max(1, Math.round(spec.samples.total * scale));
  const G = groupSizes.length;
  const labels = new Int32Array(n).fill(-1);
  const multi = spec.multiLabel ? new Uint8Array(n * C) : null;
  const group = new Int32Array(n).fill(-1);
  const split = new Uint8Array(n);
  const lr = rng.fork('labels');
  const priorCum = cumsum(p.prior);

  if (G > 0) {
    let i = 0;
    for (let g = 0; g < G; g++) {
      const gr = rng.fork(`group/${g}`);
      if (spec.multiLabel) {
        const prev = p.prior.map((q) => Math.min(0.95, q * Math.exp(p.labelSkew * gr.normal())));
        for (let k = 0; k < groupSizes[g]; k++, i++) {
          group[i] = g;
          for (let c = 0; c < C; c++) multi![i * C + c] = gr.random() < prev[c] ? 1 : 0;
        }
      } else {
        const own = gr.dirichlet(1, C);
        const cum = cumsum(p.prior.map((q, c) => (1 - p.labelSkew) * q + p.labelSkew * own[c]));
        for (let k = 0; k < groupSizes[g]; k++, i++) {
          group[i] = g;
          labels[i] = drawCategorical(cum, gr);
        }
      }
    }
  } else {
    for (let i = 0; i < n; i++) labels[i] = drawCategorical(priorCum, lr);
  }

  const sr = rng.fork(`split/${fold}`);
  const rule = p.test;
  switch (rule.kind) {
    case 'random': {
      const nTest = Math.min(n - 1, Math.max(1, Math.round(spec.samples.test * scale)));
      for (const i of sr.sampleWithoutReplacement(n, nTest)) split[i] = TEST;
      break;
    }
    case 'per-class': {
      const perClass = Math.max(1, Math.round((spec.samples.test / C) * scale));
      for (let i = 0; i < Math.min(n, perClass * C); i++) {
        labels[i] = i % C;
        split[i] = TEST;
      }
      break;
    }
    case 'group-folds':
      for (let i = 0; i < n; i++) if (group[i] % rule.folds === fold) split[i] = TEST;
      break;
    case 'ucf-groups':
      for (let i = 0; i < n; i++) if (Math.floor(group[i] / 7) === fold) split[i] = TEST;
      break;
    case 'subjects':
      for (let i = 0; i < n; i++) if (groupIsTest![group[i]]) split[i] = TEST;
      break;
    case 'strat-fold':
      for (let i = 0; i < n; i++) {
        const f = 1 + sr.int(10);
        split[i] = f <= 8 ? POOL : f === 9 ? OFFICIAL_DEV : TEST;
      }
      break;
  }
  return { n, numClasses: C, labels, multi, group, numGroups: G, groupNames, split };
}

// ---------------------------------------------------------------------------------------------------
// Feature generation

type RenderKind = 'temporal' | 'frames' | 'tokens' | 'vector';

const NOISE_BITS = 17;
const NOISE_SIZE = 1 << NOISE_BITS;
let noiseTable: Float32Array | null = null;
/** 2^17 standard normals shared by every generator; a sample reads them from a random start with a random odd stride. */
function noise(): Float32Array {
  if (!noiseTable) {
    const r = new Rng(0x6e6f6973);
    noiseTable = new Float32Array(NOISE_SIZE);
    for (let i = 0; i < NOISE_SIZE; i++) noiseTable[i] = r.normal();
  }
  return noiseTable;
}

let generatedCount = 0;
/** How many samples the simulator has generated in this process (for laziness checks). */
export function simulatedSampleCount(): number {
  return generatedCount;
}

/** Per-code parameters of one modality. */
interface ModalityWorld {
  kind: RenderKind;
  D: number;
  /** temporal: frequency (cycles/step) per code. */
  freq: Float64Array;
  /** temporal: sine and cosine channel loadings and a static mean, [codes, D]. frames/vector: prototype in loadS. */
  loadS: Float32Array;
  loadC: Float32Array;
  mean: Float32Array;
  /** tokens: 4 token vectors per code [codes, 4, D] and 64 generic tokens [64, D]. */
  tokens: Float32Array;
  generic: Float32Array;
}

interface Style {
  scale: Float32Array[];
  offset: Float32Array[];
  freqMul: number;
  ownFreq: number;
  ownLoad: Float32Array[];
}

const TWO_PI = 2 * Math.PI;
const TOKENS_PER_CODE = 4;
const GENERIC_TOKENS = 64;
const CONTENT_TOKEN_RATE = 0.35;
const DISTRACTOR_AMP = 0.25;
const TEMPORAL_NOISE = 0.6;

function renderKind(spec: DatasetSpec, m: number): RenderKind {
  const mod = spec.modalities[m];
  if (mod.encoder === 'conv-gru') return 'temporal';
  if (mod.encoder === 'mlp') return 'vector';
  return mod.name === 'text' ? 'tokens' : 'frames';
}

function buildWorld(spec: DatasetSpec, m: number, codes: number, r: Rng): ModalityWorld {
  const D = spec.modalities[m].dim;
  const kind = renderKind(spec, m);
  const w: ModalityWorld = {
    kind,
    D,
    freq: new Float64Array(codes),
    loadS: new Float32Array(0),
    loadC: new Float32Array(0),
    mean: new Float32Array(0),
    tokens: new Float32Array(0),
    generic: new Float32Array(0),
  };
  if (kind === 'temporal') {
    const perm = r.permutation(codes);
    for (let k = 0; k < codes; k++) w.freq[k] = 0.01 + (0.19 * (perm[k] + 0.5)) / codes;
    w.loadS = new Float32Array(codes * D);
    w.loadC = new Float32Array(codes * D);
    w.mean = new Float32Array(codes * D);
    for (let k = 0; k < codes; k++) {
      for (let d = 0; d < D; d++) {
        const amp = 0.8 * r.normal();
        const theta = r.uniform(0, TWO_PI);
        w.loadS[k * D + d] = amp * Math.cos(theta);
        w.loadC[k * D + d] = amp * Math.sin(theta);
        w.mean[k * D + d] = 0.25 * r.normal();
      }
    }
  } else if (kind === 'tokens') {
    w.tokens = new Float32Array(codes * TOKENS_PER_CODE * D);
    for (let i = 0; i < w.tokens.length; i++) w.tokens[i] = r.normal();
    w.generic = new Float32Array(GENERIC_TOKENS * D);
    for (let i = 0; i < w.generic.length; i++) w.generic[i] = r.normal();
  } else {
    w.loadS = new Float32Array(codes * D);
    for (let i = 0; i < w.loadS.length; i++) w.loadS[i] = 0.5 * r.normal();
  }
  return w;
}

function lengthOf(dist: LengthDist, maxLen: number, r: Rng): number {
  if (dist.sigma === 0) return Math.min(dist.median, maxLen);
  const len = Math.round(dist.median * Math.exp(dist.sigma * r.normal()));
  return Math.min(maxLen, Math.max(dist.min, len));
}

/** Which labels' evidence each modality of a multi-label set carries (PTB-XL: limb / chest leads). */
const MULTI_LABEL_EVIDENCE: Record<string, [number[], number[]]> = {
  'ptb-xl': [
    [0, 1, 4],
    [2, 3, 4],
  ],
};

/** The simulated sample source of a dataset: features generated on demand from (dataSeed, sample index). */
export class SimulatedSource implements SampleSource {
  readonly size: number;
  readonly numClasses: number;
  readonly multiLabel: boolean;
  readonly maxLens: readonly number[];
  readonly dims: readonly number[];
  private readonly params: SimParams;
  private readonly worlds: ModalityWorld[];
  /** codeMap[m][c]: the code modality m shows for class c (classes of an ambiguous pair share one). */
  private readonly codeMap: Int32Array[];
  private readonly numCodes: number;
  private readonly styles = new Map<number, Style>();
  private readonly sampleRoot: Rng;
  private readonly styleRoot: Rng;

  constructor(
    readonly spec: DatasetSpec,
    readonly universe: Universe,
    dataSeed: number,
    maxLens: readonly number[],
  ) {
    this.size = universe.n;
    this.numClasses = spec.numClasses;
    this.multiLabel = spec.multiLabel;
    this.maxLens = maxLens;
    this.dims = spec.modalities.map((m) => m.dim);
    this.params = SIM[spec.id];
    const C = spec.numClasses;
    this.numCodes = C === 2 ? 4 : C;
    const root = new Rng(dataSeed).fork(`sim/${spec.id}`);
    this.worlds = [0, 1].map((m) => buildWorld(spec, m, this.numCodes, root.fork(`world/${m}`)));
    this.codeMap = [0, 1].map((m) => {
      const map = new Int32Array(C);
      for (let c = 0; c < C; c++) {
        const pair = c >> 1;
        const paired = (pair << 1) + 1 < C;
        map[c] = paired && pair % 2 === m ? pair << 1 : c;
      }
      return map;
    });
    this.sampleRoot = root.fork('samples');
    this.styleRoot = root.fork('styles');
  }

  label(i: number): number {
    return this.universe.labels[i];
  }

  multiHot(i: number): Uint8Array {
    const C = this.numClasses;
    return this.universe.multi!.subarray(i * C, (i + 1) * C);
  }

  private style(g: number): Style {
    let s = this.styles.get(g);
    if (!s) {
      const r = this.styleRoot.fork(g);
      const perModality = (f: () => number) => this.dims.map((D) => Float32Array.from({ length: D }, f));
      s = {
        scale: perModality(() => Math.exp(0.2 * r.normal())),
        offset: perModality(() => 0.3 * r.normal()),
        freqMul: 1 + 0.08 * r.normal(),
        ownFreq: r.uniform(0.01, 0.2),
        ownLoad: perModality(() => 0.3 * r.normal()),
      };
      this.styles.set(g, s);
    }
    return s;
  }

  /** Codes whose evidence modality m shows for sample i (amplitude-weighted list). */
  private codes(i: number, m: number, r: Rng, shared: { mode: number; u: number }): number[] {
    const C = this.numClasses;
    const amb = this.params.ambiguity[m];
    if (this.multiLabel) {
      const y = this.multiHot(i);
      const carried = MULTI_LABEL_EVIDENCE[this.spec.id][m];
      const out: number[] = [];
      for (const c of carried) {
        if (y[c] === 1 ? r.random() >= amb : r.random() < amb / 3) out.push(c);
      }
      return out;
    }
    if (r.random() < amb) return [C === 2 ? r.int(4) : this.codeMap[m][r.int(C)]];
    const c = this.universe.labels[i];
    if (C === 2) {
      // XOR confounder: half the samples show the class directly in both modalities; the other half
      // show codes 2+u and 2+(u xor class), which only together reveal the class.
      if (shared.mode === 0) return [c];
      return [2 + (m === 0 ? shared.u : shared.u ^ c)];
    }
    return [this.codeMap[m][c]];
  }

  features(i: number): SampleModality[] {
    if (!(i >= 0 && i < this.size)) throw new Error(`${this.spec.id}: sample ${i} out of range [0, ${this.size})`);
    generatedCount++;
    const r = this.sampleRoot.fork(i);
    const g = this.universe.group[i];
    const style = g >= 0 ? this.style(g) : null;
    const shared = { mode: r.int(2), u: r.int(2) };
    const out: SampleModality[] = [];
    for (let m = 0; m < 2; m++) {
      const w = this.worlds[m];
      const len = lengthOf(this.params.lengths[m], this.maxLens[m], r);
      const data = new Float32Array(len * w.D);
      const codes = this.codes(i, m, r, shared);
      const distractor = r.int(this.numCodes);
      if (w.kind === 'temporal') {
        for (const k of codes) this.addOscillation(data, len, w, k, r.uniform(0.7, 1.3), style, r);
        this.addOscillation(data, len, w, distractor, DISTRACTOR_AMP, style, r);
        if (style) this.addOwnRhythm(data, len, w.D, style, m, r);
        this.addNoise(data, TEMPORAL_NOISE, r);
      } else if (w.kind === 'tokens') {
        this.renderTokens(data, len, w, codes[0], r);
      } else {
        this.renderFrames(data, len, w, codes, distractor, r);
      }
      if (style) {
        const sc = style.scale[m];
        const of = style.offset[m];
        for (let t = 0; t < len; t++) for (let d = 0; d < w.D; d++) data[t * w.D + d] = data[t * w.D + d] * sc[d] + of[d];
      }
      if (this.params.zNormWindow) zNormalizeWindow(data, len, w.D);
      out.push({ data, length: len, dim: w.D });
    }
    return out;
  }

  /** data[t, d] += amp·(sin(2πft+φ)·loadS[k,d] + cos(2πft+φ)·loadC[k,d] + mean[k,d]). */
  private addOscillation(data: Float32Array, len: number, w: ModalityWorld, k: number, amp: number, style: Style | null, r: Rng): void {
    const D = w.D;
    const f = w.freq[k] * (style ? style.freqMul : 1) * (1 + 0.03 * r.normal());
    const phase = r.uniform(0, TWO_PI);
    const ls = w.loadS.subarray(k * D, (k + 1) * D);
    const lc = w.loadC.subarray(k * D, (k + 1) * D);
    const mu = w.mean.subarray(k * D, (k + 1) * D);
    for (let t = 0; t < len; t++) {
      const s = amp * Math.sin(TWO_PI * f * t + phase);
      const c = amp * Math.cos(TWO_PI * f * t + phase);
      const base = t * D;
      for (let d = 0; d < D; d++) data[base + d] += s * ls[d] + c * lc[d] + amp * mu[d];
    }
  }

  /** The group's own oscillation (a speaker's pitch, a subject's gait): label-free, client-specific. */
  private addOwnRhythm(data: Float32Array, len: number, D: number, style: Style, m: number, r: Rng): void {
    const load = style.ownLoad[m];
    const phase = r.uniform(0, TWO_PI);
    for (let t = 0; t < len; t++) {
      const s = Math.sin(TWO_PI * style.ownFreq * t + phase);
      for (let d = 0; d < D; d++) data[t * D + d] += s * load[d];
    }
  }

  private addNoise(data: Float32Array, std: number, r: Rng): void {
    const table = noise();
    const mask = NOISE_SIZE - 1;
    let idx = r.int(NOISE_SIZE);
    const step = 2 * r.int(NOISE_SIZE >> 1) + 1;
    for (let j = 0; j < data.length; j++) {
      data[j] += std * table[idx];
      idx = (idx + step) & mask;
    }
  }

  private renderFrames(data: Float32Array, len: number, w: ModalityWorld, codes: number[], distractor: number, r: Rng): void {
    const D = w.D;
    const amps = codes.map(() => r.uniform(0.7, 1.3));
    for (let t = 0; t < len; t++) {
      const base = t * D;
      // Frames drift slowly: each frame re-weights the evidence a little.
      const wobble = 1 + 0.2 * r.normal();
      for (let j = 0; j < codes.length; j++) {
        const proto = w.loadS.subarray(codes[j] * D, (codes[j] + 1) * D);
        const a = amps[j] * wobble;
        for (let d = 0; d < D; d++) data[base + d] += a * proto[d];
      }
      const dp = w.loadS.subarray(distractor * D, (distractor + 1) * D);
      for (let d = 0; d < D; d++) data[base + d] += DISTRACTOR_AMP * dp[d];
    }
    this.addNoise(data, 1, r);
  }

  private renderTokens(data: Float32Array, len: number, w: ModalityWorld, code: number, r: Rng): void {
    const D = w.D;
    for (let t = 0; t < len; t++) {
      const content = r.random() < CONTENT_TOKEN_RATE;
      const src = content ? w.tokens : w.generic;
      const off = content ? (code * TOKENS_PER_CODE + r.int(TOKENS_PER_CODE)) * D : r.int(GENERIC_TOKENS) * D;
      data.set(src.subarray(off, off + D), t * D);
    }
    this.addNoise(data, 0.5, r);
  }
}

/** (x − mean) / (std + 1e-5) per channel over the window's valid steps (population std), as the original. */
export function zNormalizeWindow(data: Float32Array, len: number, D: number): void {
  if (len === 0) return;
  for (let d = 0; d < D; d++) {
    let mean = 0;
    for (let t = 0; t < len; t++) mean += data[t * D + d];
    mean /= len;
    let v = 0;
    for (let t = 0; t < len; t++) v += (data[t * D + d] - mean) ** 2;
    const std = Math.sqrt(v / len) + 1e-5;
    for (let t = 0; t < len; t++) data[t * D + d] = (data[t * D + d] - mean) / std;
  }
}
