// The C++ addon backend (native/, binding.gyp → build/Release/fedmm.node), loaded lazily on first use.
//
// The addon holds three builds of its kernels (AVX-512 F/BW/DQ/VL, AVX2+FMA, baseline SSE2 — the baseline
// only on arm64) and picks the best one this CPU runs; FEDMM_ISA=avx512|avx2|baseline or useIsa() forces
// one. The native kernels are registered for float32 (src/backend/registry.ts); the dispatcher sends anything
// else (Float64Array for gradient checks) and any op the addon lacks to the TypeScript reference.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Activation, AdamOptions, AttentionDims, Conv1dDims, ConvBlockDims, GruDims, Kernels, SgdOptions } from './kernels.js';
import { referenceOps } from './js/index.js';
import { dispatchKernels, onRegistryChange, registeredKernels, registerKernels, type KernelEntries } from './registry.js';

export type IsaVariant = 'avx512' | 'avx2' | 'baseline';
export const ISA_VARIANTS: readonly IsaVariant[] = ['avx512', 'avx2', 'baseline'];

/**
 * The addon's flat-buffer aggregation functions (native/isa/aggregate.cc); src/aggregate's AggregateOps adds a
 * variant name, and its TypeScript reference implements the same functions with the same arithmetic.
 */
export interface NativeAggregateFunctions {
  /** First index i with x[i] Inf or NaN, or −1. */
  findNonFinite(x: Float32Array): number;
  /**
   * accOut[P] = accIn[P] + Σ_{g<count} coefficients[g]·updates[g][P] in float64, each element's additions in
   * g order (P = accIn.length; accOut must be another buffer). accIn null: the sums start from +0.0 (P =
   * accOut.length; no accumulator is read). Returns true iff every accOut value is finite.
   * `threads` (native only; default 1) splits P across that many threads; the bits are the same.
   */
  foldGroup(accIn: Float64Array | null, accOut: Float64Array, updates: Float32Array[], coefficients: Float64Array, count: number,
    threads?: number): boolean;
  /**
   * out[P] = float32((accIn[P] + Σ_{g<count} coefficients[g]·updates[g][P]) / totalWeight): foldGroup then
   * finishMean in one pass (the same bits) that writes no accumulator. accIn null: sums start from +0.0 (P =
   * out.length). Returns true iff every sum is finite (false: out holds garbage).
   */
  foldFinish(accIn: Float64Array | null, updates: Float32Array[], coefficients: Float64Array, count: number,
    totalWeight: number, out: Float32Array, threads?: number): boolean;
  /** out[P] = float32(acc[P] / totalWeight). */
  finishMean(acc: Float64Array, totalWeight: number, out: Float32Array, threads?: number): void;
  /** Σ x² in float64: 8 partial sums (lane i mod 8 over whole blocks of 8, the tail into lane 0), combined as a tree. */
  sumSquares(x: Float32Array): number;
  /** x *= s (float32 multiply). */
  scale(x: Float32Array, s: number): void;
  /** out[P] = coordinate-wise median of updates[K][P] (mean of the middle two for even K). */
  median(updates: Float32Array[], out: Float32Array): void;
  /** out[P] = coordinate-wise mean of the values left after dropping `trim` lowest and `trim` highest. */
  trimmedMean(updates: Float32Array[], trim: number, out: Float32Array): void;
  /**
   * out[K·K] = squared L2 distances between the K updates over their first P values (float64; 32 lanes
   * by index mod 32, summed lane 0 … 31 in order).
   */
  pairwiseSqDist(updates: Float32Array[], out: Float64Array, P: number): void;
  /** out[P] = per coordinate, the mean of the `beta` values closest to the median (ties → the smaller value). */
  closestToMedianMean(updates: Float32Array[], beta: number, out: Float32Array): void;
  /** Reddi et al. 2021 server step over [n]; rule 0 Adam, 1 Yogi, 2 Adagrad. */
  fedoptStep(rule: 0 | 1 | 2, params: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, beta1: number, beta2: number, tau: number): void;
  /** m = μ·m + g; params −= lr·m (μ = 0: params −= lr·g, m unused). */
  serverSgdStep(params: Float32Array, g: Float32Array, m: Float32Array | null, lr: number, momentum: number): void;
  /** IEEE binary16 round-to-nearest-even; NaN → 0x7e00 with the sign. */
  toFp16(x: Float32Array, out: Uint16Array): void;
  fromFp16(h: Uint16Array, out: Float32Array): void;
  /** Per block: scale = max|x|/127, q = roundHalfEven(x·(127/max|x|)); returns the first non-finite index or −1. */
  quantizeInt8(x: Float32Array, q: Int8Array, scales: Float32Array, blockSize: number): number;
  dequantizeInt8(q: Int8Array, scales: Float32Array, out: Float32Array, blockSize: number): void;
}

/** The functions build/Release/fedmm.node exports (argument checks and one-line errors live in C++). */
export interface NativeAddon extends NativeAggregateFunctions {
  info(): { compiled: IsaVariant[]; supported: IsaVariant[]; active: IsaVariant };
  setVariant(name: IsaVariant): IsaVariant;
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void;
  conv1dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, B: number, Cin: number,
    L: number, Cout: number, K: number, stride: number, padding: number, Lout: number): void;
  conv1dBackward(x: Float32Array, w: Float32Array, gOut: Float32Array, gx: Float32Array | null, gw: Float32Array | null,
    gBias: Float32Array | null, B: number, Cin: number, L: number, Cout: number, K: number, stride: number,
    padding: number, Lout: number): void;
  gruForward(x: Float32Array, lengths: Int32Array | null, h0: Float32Array | null, wIh: Float32Array, wHh: Float32Array,
    bIh: Float32Array | null, bHh: Float32Array | null, out: Float32Array, hN: Float32Array, saved: Float32Array | null,
    B: number, T: number, I: number, H: number): void;
  gruBackward(x: Float32Array, lengths: Int32Array | null, h0: Float32Array | null, wIh: Float32Array, wHh: Float32Array,
    out: Float32Array, saved: Float32Array, gOut: Float32Array | null, ghN: Float32Array | null, gx: Float32Array | null,
    gh0: Float32Array | null, gWih: Float32Array | null, gWhh: Float32Array | null, gbIh: Float32Array | null,
    gbHh: Float32Array | null, B: number, T: number, I: number, H: number): void;
  maxPool1dForward(x: Float32Array, out: Float32Array, argmax: Int32Array, rows: number, L: number,
    kernel: number, stride: number): void;
  maxPool1dBackward(gOut: Float32Array, argmax: Int32Array, gx: Float32Array, rows: number, L: number, Lout: number): void;
  sgdStep(param: Float32Array, grad: Float32Array, buf: Float32Array | null, lr: number, momentum: number,
    dampening: number, nesterov: boolean, weightDecay: number, hasBuf: boolean): void;
  adamStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, beta1: number, beta2: number,
    eps: number, stepSize: number, sqrtBc2: number, decay: number, l2: number): void;
  /** acc[n] += g[n] (g at least as long as acc). */
  accumulate(acc: Float32Array, g: Float32Array): void;
  /**
   * Reads every byte of x once (OR of its 64-bit words, low 16 bits returned): the read-bandwidth baseline.
   * `threads` (default 1) split x into contiguous ranges read at the same time, as foldGroup splits P.
   */
  readBytes(x: ArrayBufferView, threads?: number): number;
  convBlockForward(x: F32, w: F32, bias: F32n, mask: F32n, pooled: F32, argmax: Int32Array | null, out: F32, B: number, Cin: number,
    L: number, Cout: number, K: number, stride: number, padding: number, Lout: number, poolKernel: number, poolStride: number, P: number): void;
  convBlockBackward(x: F32, w: F32, pooled: F32, argmax: Int32Array, mask: F32n, gOut: F32, gx: F32n, gw: F32n, gBias: F32n,
    B: number, Cin: number, L: number, Cout: number, K: number, stride: number, padding: number, Lout: number, poolKernel: number,
    poolStride: number, P: number): void;
  /** act: 0 none, 1 relu, 2 tanh */
  linearForward(x: F32, w: F32, bias: F32n, act: number, mask: F32n, y: F32, out: F32, M: number, N: number, K: number): void;
  linearBackward(x: F32, w: F32, y: F32, act: number, mask: F32n, gOut: F32, gx: F32n, gw: F32n, gBias: F32n, M: number, N: number,
    K: number): void;
  attentionFusionForward(h: F32, mask: F32, w1: F32, b1: F32n, w2: F32, b2: F32n, u: F32n, a: F32, out: F32, B: number, T: number,
    D: number, hidden: number, heads: number): void;
  attentionFusionBackward(h: F32, mask: F32, w1: F32, w2: F32, u: F32, a: F32, gOut: F32, gh: F32n, gw1: F32n, gb1: F32n, gw2: F32n,
    gb2: F32n, B: number, T: number, D: number, hidden: number, heads: number): void;
  crossEntropyForward(logits: F32, targets: Int32Array, probs: F32, N: number, C: number): number;
  crossEntropyBackward(probs: F32, targets: Int32Array, scale: number, gx: F32, N: number, C: number): void;
  bceWithLogitsForward(x: F32, y: F32, n: number): number;
  bceWithLogitsBackward(x: F32, y: F32, scale: number, gx: F32, n: number): void;
  dropoutMask(state: Uint32Array, threshold: number, scale: number, mask: F32): void;
}

type F32 = Float32Array;
type F32n = Float32Array | null;

const ADDON_FILE = join('build', 'Release', 'fedmm.node');

/** build/Release/fedmm.node of this package (from src/backend or dist/src/backend), or null. */
export function addonPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

let addon: NativeAddon | null = null;
let loadFailure: string | null = null;

function isIsaVariant(v: string): v is IsaVariant {
  return (ISA_VARIANTS as readonly string[]).includes(v);
}

/** The addon, loading it on first call; throws a one-line reason when it cannot be loaded. */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (loadFailure) throw new Error(loadFailure);
  const path = addonPath();
  if (!path) {
    loadFailure = `native addon not built (no ${ADDON_FILE}; run npm install)`;
    throw new Error(loadFailure);
  }
  const newer = sourceNewerThan(path);
  if (newer) {
    loadFailure = `native addon is stale (${newer} changed after ${ADDON_FILE} was built; rebuild: node scripts/build-addon.mjs)`;
    throw new Error(loadFailure);
  }
  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    loadFailure = `native addon failed to load (${path}): ${(e as Error).message.split('\n')[0]}`;
    throw new Error(loadFailure);
  }
  // The best variant unless FEDMM_ISA names one (set explicitly: a reloaded module reuses the addon instance).
  const forced = process.env.FEDMM_ISA;
  if (forced) selectIsa(loaded, forced, 'FEDMM_ISA');
  else loaded.setVariant(loaded.info().supported[0]);
  addon = loaded;
  return addon;
}

/**
 * The first of the addon's sources (binding.gyp, native/**) modified after the built addon, relative to the
 * package root, or null: an addon built from older sources may lack kernels the TypeScript side calls.
 * Packages without the sources beside the build (none found) are taken as built from them.
 */
export function sourceNewerThan(addonFile: string): string | null {
  const root = dirname(dirname(dirname(addonFile)));
  const built = statSync(addonFile).mtimeMs;
  const pending = ['binding.gyp', 'native'];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const full = join(root, rel);
    if (!existsSync(full)) continue;
    const info = statSync(full);
    if (info.isDirectory()) pending.push(...readdirSync(full).map((name) => join(rel, name)));
    else if (info.mtimeMs > built) return rel;
  }
  return null;
}

/** A forced ISA variant that this build or CPU cannot run (never silently replaced by another backend). */
export class IsaUnavailableError extends Error {
  override name = 'IsaUnavailableError';
}

function selectIsa(a: NativeAddon, variant: string, who: string): IsaVariant {
  if (!isIsaVariant(variant)) {
    throw new IsaUnavailableError(`${who}: unknown ISA variant '${variant}' (expected ${ISA_VARIANTS.join(', ')})`);
  }
  const info = a.info();
  if (!info.compiled.includes(variant)) {
    throw new IsaUnavailableError(`${who}: this build has no '${variant}' kernels (built: ${info.compiled.join(', ')})`);
  }
  if (!info.supported.includes(variant)) {
    throw new IsaUnavailableError(
      `${who}: this CPU does not support the '${variant}' kernels (supported: ${info.supported.join(', ')})`);
  }
  return a.setVariant(variant);
}

/** Whether build/Release/fedmm.node exists (built), whether or not it loads. */
export function addonBuilt(): boolean {
  return addonPath() !== null;
}

/** The addon if it loads, else null (no throw). */
export function tryLoadAddon(): NativeAddon | null {
  try {
    return loadAddon();
  } catch {
    return null;
  }
}

/**
 * Forces the native kernels onto one ISA variant for the calling thread (worker threads choose their own,
 * from FEDMM_ISA or their own useIsa); throws if this build or CPU lacks it.
 */
export function useIsa(variant: string): IsaVariant {
  return selectIsa(loadAddon(), variant, 'useIsa');
}

/** ISA variants this build has and this CPU runs, best first (empty if the addon does not load). */
export function supportedIsas(): IsaVariant[] {
  const a = tryLoadAddon();
  return a ? a.info().supported : [];
}

/** The ISA variant the native kernels run now. */
export function activeIsa(): IsaVariant {
  return loadAddon().info().active;
}

/** The addon's kernels as registry entries (float32; the dispatcher sends float64 calls to the reference). */
function nativeEntries(a: NativeAddon): KernelEntries {
  return {
    gemm: { run: (transA, transB, M, N, K, alpha, x, y, beta, c) => a.gemm(transA, transB, M, N, K, alpha, x as F32, y as F32, beta, c as F32) },
    conv1dForward: {
      run: (x, w, bias, out, d: Conv1dDims) => a.conv1dForward(x as F32, w as F32, bias as F32n, out as F32, d.B, d.Cin, d.L, d.Cout,
        d.K, d.stride, d.padding, d.Lout),
    },
    conv1dBackward: {
      run: (x, w, gOut, gx, gw, gBias, d: Conv1dDims) => a.conv1dBackward(x as F32, w as F32, gOut as F32, gx as F32n, gw as F32n,
        gBias as F32n, d.B, d.Cin, d.L, d.Cout, d.K, d.stride, d.padding, d.Lout),
    },
    maxPool1dForward: { run: (x, out, argmax, rows, L, kernel, stride) => a.maxPool1dForward(x as F32, out as F32, argmax, rows, L, kernel, stride) },
    maxPool1dBackward: { run: (gOut, argmax, gx, rows, L, Lout) => a.maxPool1dBackward(gOut as F32, argmax, gx as F32, rows, L, Lout) },
    gruForward: {
      run: (x, lengths, h0, wIh, wHh, bIh, bHh, out, hN, saved, d: GruDims) => a.gruForward(x as F32, lengths, h0 as F32n, wIh as F32,
        wHh as F32, bIh as F32n, bHh as F32n, out as F32, hN as F32, saved as F32n, d.B, d.T, d.I, d.H),
    },
    gruBackward: {
      run: (x, lengths, h0, wIh, wHh, out, saved, gOut, ghN, gx, gh0, gWih, gWhh, gbIh, gbHh, d: GruDims) => a.gruBackward(x as F32,
        lengths, h0 as F32n, wIh as F32, wHh as F32, out as F32, saved as F32, gOut as F32n, ghN as F32n, gx as F32n, gh0 as F32n,
        gWih as F32n, gWhh as F32n, gbIh as F32n, gbHh as F32n, d.B, d.T, d.I, d.H),
    },
    convBlockForward: {
      run: (x, w, bias, mask, pooled, argmax, out, d: ConvBlockDims) => a.convBlockForward(x as F32, w as F32, bias as F32n, mask as F32n,
        pooled as F32, argmax, out as F32, d.B, d.Cin, d.L, d.Cout, d.K, d.stride, d.padding, d.Lout, d.poolKernel, d.poolStride, d.P),
    },
    convBlockBackward: {
      run: (x, w, pooled, argmax, mask, gOut, gx, gw, gBias, d: ConvBlockDims) => a.convBlockBackward(x as F32, w as F32, pooled as F32,
        argmax, mask as F32n, gOut as F32, gx as F32n, gw as F32n, gBias as F32n, d.B, d.Cin, d.L, d.Cout, d.K, d.stride, d.padding,
        d.Lout, d.poolKernel, d.poolStride, d.P),
    },
    linearForward: {
      run: (x, w, bias, act, mask, y, out, M, N, K) => a.linearForward(x as F32, w as F32, bias as F32n, ACT_CODE[act], mask as F32n,
        y as F32, out as F32, M, N, K),
    },
    linearBackward: {
      run: (x, w, y, act, mask, gOut, gx, gw, gBias, M, N, K) => a.linearBackward(x as F32, w as F32, y as F32, ACT_CODE[act],
        mask as F32n, gOut as F32, gx as F32n, gw as F32n, gBias as F32n, M, N, K),
    },
    attentionFusionForward: {
      run: (h, mask, w1, b1, w2, b2, u, att, out, d: AttentionDims) => a.attentionFusionForward(h as F32, mask as F32, w1 as F32,
        b1 as F32n, w2 as F32, b2 as F32n, u as F32n, att as F32, out as F32, d.B, d.T, d.D, d.hidden, d.heads),
    },
    attentionFusionBackward: {
      run: (h, mask, w1, w2, u, att, gOut, gh, gw1, gb1, gw2, gb2, d: AttentionDims) => a.attentionFusionBackward(h as F32,
        mask as F32, w1 as F32, w2 as F32, u as F32, att as F32, gOut as F32, gh as F32n, gw1 as F32n, gb1 as F32n, gw2 as F32n,
        gb2 as F32n, d.B, d.T, d.D, d.hidden, d.heads),
    },
    crossEntropyForward: { run: (logits, targets, probs, N, C) => a.crossEntropyForward(logits as F32, targets, probs as F32, N, C) },
    crossEntropyBackward: { run: (probs, targets, scale, gx, N, C) => a.crossEntropyBackward(probs as F32, targets, scale, gx as F32, N, C) },
    bceWithLogitsForward: { run: (x, y, n) => a.bceWithLogitsForward(x as F32, y as F32, n) },
    bceWithLogitsBackward: { run: (x, y, scale, gx, n) => a.bceWithLogitsBackward(x as F32, y as F32, scale, gx as F32, n) },
    dropoutMask: { run: (state, threshold, scale, mask) => a.dropoutMask(state, threshold, scale, mask as F32) },
    accumulate: { run: (acc, g) => a.accumulate(acc as F32, g as F32) },
    squaredNorm: { run: (x) => a.sumSquares(x as F32) },
    scale: { run: (x, s) => a.scale(x as F32, s) },
    sgdStep: {
      run: (param, grad, buf, o: SgdOptions) => a.sgdStep(param as F32, grad as F32, buf as F32n, o.lr, o.momentum, o.dampening,
        o.nesterov, o.weightDecay, o.hasMomentumBuffer),
    },
    adamStep: {
      run: (param, grad, m, v, o: AdamOptions) => {
        // The same step constants as src/backend/js/optim.ts, computed here so both round alike.
        const stepSize = o.lr / (1 - Math.pow(o.beta1, o.step));
        const sqrtBc2 = Math.sqrt(1 - Math.pow(o.beta2, o.step));
        const decay = o.decoupledWeightDecay ? 1 - o.lr * o.weightDecay : 1;
        const l2 = o.decoupledWeightDecay ? 0 : o.weightDecay;
        a.adamStep(param as F32, grad as F32, m as F32, v as F32, o.beta1, o.beta2, o.eps, stepSize, sqrtBc2, decay, l2);
      },
    },
  };
}

const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, tanh: 2 };

let kernelsObject: Kernels | null = null;
let entriesRegistered = false;
onRegistryChange(() => {
  kernelsObject = null;
});

/** The native Kernels (loads the addon and registers its kernels; throws a one-line reason if it cannot). */
export function nativeKernels(): Kernels {
  if (kernelsObject) return kernelsObject;
  const a = loadAddon();
  if (!entriesRegistered) {
    entriesRegistered = true;
    registerKernels('native', nativeEntries(a));
  }
  kernelsObject = dispatchKernels('native', () => a.info().active, registeredKernels('native'), referenceOps);
  return kernelsObject;
}
