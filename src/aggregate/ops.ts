// The flat-buffer operations behind src/aggregate, in two implementations that are tested against each
// other: the TypeScript reference (reference.ts) and the native addon (same names, same arithmetic).
// The public API (StreamingMean, median, server optimizers, …) runs on aggregateOps(): the addon's
// when the active backend is 'native', else the reference.
import { kernels } from '../backend/index.js';
import { loadAddon } from '../backend/native.js';
import { referenceAggregateOps } from './reference.js';

export interface AggregateOps {
  /** 'typescript', or the native ISA variant in use. */
  readonly variant: string;
  /** First index i with x[i] Inf or NaN, or −1. */
  findNonFinite(x: Float32Array): number;
  /**
   * dst[n] = src[n] (n = src.length); returns the first non-finite index or −1 (dst then partly written).
   * `threads` (native only; default 1) splits the range across that many threads; the bits are the same.
   */
  copyCheck(src: Float32Array, dst: Float32Array, threads?: number): number;
  /** acc[P] += Σ_{g<count} weights[g]·updates[g][P], each element's additions in g order (P = acc.length). */
  fold(acc: Float64Array, updates: Float32Array[], weights: Float64Array, count: number, threads?: number): void;
  /** out[P] = float32(acc[P] / totalWeight). */
  finishMean(acc: Float64Array, totalWeight: number, out: Float32Array, threads?: number): void;
  /** Σ x² in float64 (the native order differs: 8 partial sums). */
  sumSquares(x: Float32Array): number;
  /** x *= s (float32 multiply). */
  scale(x: Float32Array, s: number): void;
  /** out[P] = coordinate-wise median of updates[K][P] (mean of the middle two for even K). */
  median(updates: Float32Array[], out: Float32Array): void;
  /** out[P] = coordinate-wise mean of the values left after dropping `trim` lowest and `trim` highest. */
  trimmedMean(updates: Float32Array[], trim: number, out: Float32Array): void;
  /** Reddi et al. 2021 server step over [n]; rule 0 Adam, 1 Yogi, 2 Adagrad. */
  fedoptStep(rule: 0 | 1 | 2, params: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, beta1: number, beta2: number, tau: number): void;
  /** m = μ·m + g; params −= lr·m (μ = 0: params −= lr·g, m unused). */
  serverSgdStep(params: Float32Array, g: Float32Array, m: Float32Array | null, lr: number, momentum: number): void;
  /** out = ci − c + deltaW·invKlr (SCAFFOLD option II). */
  scaffoldClientControl(ci: Float32Array, c: Float32Array, deltaW: Float32Array, invKlr: number, out: Float32Array): void;
  /** acc[n] += ciNew − ciOld in float64 (n = acc.length). */
  scaffoldAccumulate(acc: Float64Array, ciNew: Float32Array, ciOld: Float32Array): void;
  /** c += acc·invN. */
  scaffoldApply(c: Float32Array, acc: Float64Array, invN: number): void;
  /** IEEE binary16 round-to-nearest-even; NaN → 0x7e00 with the sign. */
  toFp16(x: Float32Array, out: Uint16Array): void;
  fromFp16(h: Uint16Array, out: Float32Array): void;
  /** Per block: scale = max|x|/127, q = roundHalfEven(x·(127/max|x|)); returns the first non-finite index or −1. */
  quantizeInt8(x: Float32Array, q: Int8Array, scales: Float32Array, blockSize: number): number;
  dequantizeInt8(q: Int8Array, scales: Float32Array, out: Float32Array, blockSize: number): void;
}

let nativeOps: AggregateOps | null = null;

/** The addon's aggregation ops (throws a one-line reason if the addon does not load). */
export function nativeAggregateOps(): AggregateOps {
  if (!nativeOps) {
    const a = loadAddon();
    nativeOps = {
      get variant(): string {
        return a.info().active;
      },
      findNonFinite: a.findNonFinite,
      copyCheck: a.copyCheck,
      fold: a.fold,
      finishMean: a.finishMean,
      sumSquares: a.sumSquares,
      scale: a.scale,
      median: a.median,
      trimmedMean: a.trimmedMean,
      fedoptStep: a.fedoptStep,
      serverSgdStep: a.serverSgdStep,
      scaffoldClientControl: a.scaffoldClientControl,
      scaffoldAccumulate: a.scaffoldAccumulate,
      scaffoldApply: a.scaffoldApply,
      toFp16: a.toFp16,
      fromFp16: a.fromFp16,
      quantizeInt8: a.quantizeInt8,
      dequantizeInt8: a.dequantizeInt8,
    };
  }
  return nativeOps;
}

export { referenceAggregateOps };

/** The ops for the active backend: native when it is 'native', else the TypeScript reference. */
export function aggregateOps(): AggregateOps {
  return kernels().name === 'native' ? nativeAggregateOps() : referenceAggregateOps;
}
