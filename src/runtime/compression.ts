// Update compression on the wire: each scheme turns a float32 vector x[n] into the payload of its own
// msgpack extension type (docs/wire-format.md) and back. Decoding validates the payload and returns a fresh
// float32 vector; every scheme's error is bounded (test/runtime-compression.test.ts checks each bound):
//   fp16   IEEE half, round to nearest even: |x̂ᵢ − xᵢ| ≤ 2⁻¹¹·|xᵢ| in the normal range (|xᵢ| ≥ 2⁻¹⁴)
//   int8   per block of B values, scale = max|x|/127, q = roundHalfEven(x/scale): |x̂ᵢ − xᵢ| ≤ scale/2
//   topk   the k = ceil(f·n) largest |xᵢ| (ties: lower index) sent exactly, the rest 0; with error feedback
//          the client keeps the residual r ← (x + r) − x̂ (client state) and adds it to its next update
//   qsgd   Alistarh et al. 2017: ‖x‖₂ and, per value, sign·ℓ with ℓ ∈ {0..s} drawn so that E[x̂ᵢ] = xᵢ:
//          |x̂ᵢ − xᵢ| ≤ ‖x‖/s; packed in ceil(log₂(2s+1)) bits a value
import { dequantizeFp16, dequantizeInt8, quantizeFp16, quantizeInt8 } from '../aggregate/quantize.js';
import type { Rng } from '../random.js';

export type Compression =
  | { readonly kind: 'none' }
  | { readonly kind: 'fp16' }
  | { readonly kind: 'int8'; readonly blockSize: number }
  | { readonly kind: 'topk'; readonly fraction: number }
  | { readonly kind: 'qsgd'; readonly levels: number };

/** msgpack extension type of each compressed payload (17 is the plain float32 vector). */
export const COMPRESSED_EXT_TYPES = { fp16: 18, int8: 19, topk: 20, qsgd: 21 } as const;

export const NO_COMPRESSION: Compression = { kind: 'none' };

const INT8_DEFAULT_BLOCK = 256;

/** Parses `none`, `fp16`, `int8[:B]`, `topk:F` (0 < F ≤ 1), `qsgd:S` (1 ≤ S ≤ 32767); throws one line. */
export function parseCompression(spec: string): Compression {
  const [kind, arg, extra] = spec.split(':');
  const bad = (rule: string): never => {
    throw new Error(`compression '${spec}': ${rule}`);
  };
  if (extra !== undefined) bad('expected SCHEME or SCHEME:PARAM');
  const number = (): number => {
    if (arg === undefined || arg === '' || !Number.isFinite(Number(arg))) bad(`${kind} needs a number, e.g. ${kind === 'topk' ? 'topk:0.01' : `${kind}:8`}`);
    return Number(arg);
  };
  switch (kind) {
    case 'none':
    case 'fp16':
      if (arg !== undefined) bad(`${kind} takes no parameter`);
      return { kind };
    case 'int8': {
      const blockSize = arg === undefined ? INT8_DEFAULT_BLOCK : number();
      if (!Number.isInteger(blockSize) || blockSize < 1) bad('the int8 block size must be a positive integer');
      return { kind, blockSize };
    }
    case 'topk': {
      const fraction = number();
      if (!(fraction > 0 && fraction <= 1)) bad('the top-k fraction must be in (0, 1]');
      return { kind, fraction };
    }
    case 'qsgd': {
      const levels = number();
      if (!Number.isInteger(levels) || levels < 1 || levels > 32767) bad('the QSGD levels must be an integer in [1, 32767]');
      return { kind, levels };
    }
    default:
      return bad('unknown scheme (none, fp16, int8[:B], topk:F, qsgd:S)');
  }
}

/** The spelling parseCompression reads. */
export function compressionName(c: Compression): string {
  switch (c.kind) {
    case 'int8':
      return `int8:${c.blockSize}`;
    case 'topk':
      return `topk:${c.fraction}`;
    case 'qsgd':
      return `qsgd:${c.levels}`;
    default:
      return c.kind;
  }
}

/** Bytes of the payload of a vector of n values under scheme c (F32's for 'none'). */
export function payloadBytes(c: Compression, n: number): number {
  switch (c.kind) {
    case 'none':
      return 4 + 4 * n;
    case 'fp16':
      return 2 * n;
    case 'int8':
      return 8 + 4 * Math.ceil(n / c.blockSize) + n;
    case 'topk':
      return 8 + 8 * Math.min(n, Math.max(1, Math.ceil(c.fraction * n)));
    case 'qsgd':
      return 12 + Math.ceil((n * bitsFor(c.levels)) / 8);
  }
}

/** Whether the client keeps the compression error as state and adds it to its next update. */
export function usesErrorFeedback(c: Compression): boolean {
  return c.kind === 'topk';
}

/** A rejected compressed payload; `reason` is one line. */
export class PayloadError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PayloadError';
  }
}

/** An encoded vector: its extension type and payload bytes. */
export interface CompressedVector {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** Top-k selection: indices of the k largest |x| (ties: lower index), ascending. O(n) expected. */
export function topKIndices(x: Float32Array, k: number): Uint32Array {
  const n = x.length;
  if (k >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  const mag = new Float32Array(n);
  for (let i = 0; i < n; i++) mag[i] = Math.abs(x[i]);
  const threshold = kthLargest(mag.slice(), k);
  const out = new Uint32Array(k);
  let above = 0;
  for (let i = 0; i < n; i++) if (mag[i] > threshold) above++;
  let ties = k - above;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (mag[i] > threshold || (mag[i] === threshold && ties-- > 0)) out[m++] = i;
  }
  return out;
}

/** The k-th largest value of a (1-based), by quickselect; reorders a. */
function kthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

function bitsFor(levels: number): number {
  return Math.ceil(Math.log2(2 * levels + 1));
}

/** Encodes x[n] with scheme c (not 'none'); qsgd draws its stochastic rounding from rng. */
export function compressVector(x: Float32Array, c: Exclude<Compression, { kind: 'none' }>, rng: Rng): CompressedVector {
  const n = x.length;
  switch (c.kind) {
    case 'fp16': {
      const h = quantizeFp16(x);
      return { type: COMPRESSED_EXT_TYPES.fp16, payload: new Uint8Array(h.buffer) };
    }
    case 'int8': {
      const p = quantizeInt8(x, c.blockSize);
      const out = new Uint8Array(8 + 4 * p.scales.length + n);
      const view = new DataView(out.buffer);
      view.setUint32(0, c.blockSize, true);
      view.setUint32(4, n, true);
      out.set(new Uint8Array(p.scales.buffer), 8);
      out.set(new Uint8Array(p.q.buffer), 8 + 4 * p.scales.length);
      return { type: COMPRESSED_EXT_TYPES.int8, payload: out };
    }
    case 'topk': {
      const idx = topKIndices(x, Math.max(1, Math.ceil(c.fraction * n)));
      const k = idx.length;
      const out = new Uint8Array(8 + 8 * k);
      const view = new DataView(out.buffer);
      view.setUint32(0, n, true);
      view.setUint32(4, k, true);
      new Uint32Array(out.buffer, 8, k).set(idx);
      const vals = new Float32Array(out.buffer, 8 + 4 * k, k);
      for (let j = 0; j < k; j++) vals[j] = x[idx[j]];
      return { type: COMPRESSED_EXT_TYPES.topk, payload: out };
    }
    case 'qsgd': {
      const s = c.levels;
      const b = bitsFor(s);
      let sq = 0;
      for (let i = 0; i < n; i++) sq += x[i] * x[i];
      const norm = Math.fround(Math.sqrt(sq));
      if (!Number.isFinite(norm)) throw new Error('qsgd: the vector is not finite');
      const out = new Uint8Array(12 + Math.ceil((n * b) / 8));
      const view = new DataView(out.buffer);
      view.setUint32(0, n, true);
      view.setUint32(4, s, true);
      view.setFloat32(8, norm, true);
      let bit = 12 * 8;
      for (let i = 0; i < n; i++) {
        let level = 0;
        if (norm > 0) {
          const r = Math.min(s, (Math.abs(x[i]) / norm) * s);
          const l = Math.floor(r);
          level = Math.min(s, l + (rng.random() < r - l ? 1 : 0));
        }
        let code = (x[i] < 0 ? -level : level) + s;
        for (let j = 0; j < b; j++, bit++, code >>>= 1) if (code & 1) out[bit >>> 3] |= 1 << (bit & 7);
      }
      return { type: COMPRESSED_EXT_TYPES.qsgd, payload: out };
    }
  }
}

/** Decodes a payload of extension `type` into x̂[n]; throws PayloadError naming what is wrong. */
export function decompressVector(type: number, payload: Uint8Array): Float32Array {
  const len = payload.length;
  const bytes = payload.slice(); // aligned copy
  const view = new DataView(bytes.buffer);
  const need = (size: number, what: string) => {
    if (len !== size) throw new PayloadError(`${what} payload of ${len} bytes, expected ${size}`);
  };
  const atLeast = (size: number, what: string) => {
    if (len < size) throw new PayloadError(`${what} payload of ${len} bytes is too short`);
  };
  switch (type) {
    case COMPRESSED_EXT_TYPES.fp16:
      if (len % 2 !== 0) throw new PayloadError(`fp16 payload of ${len} bytes (must be even)`);
      return dequantizeFp16(new Uint16Array(bytes.buffer, 0, len / 2));
    case COMPRESSED_EXT_TYPES.int8: {
      atLeast(8, 'int8');
      const blockSize = view.getUint32(0, true);
      const n = view.getUint32(4, true);
      if (blockSize < 1) throw new PayloadError('int8 block size 0');
      const nb = Math.ceil(n / blockSize);
      need(8 + 4 * nb + n, 'int8');
      const scales = new Float32Array(bytes.buffer, 8, nb);
      for (let j = 0; j < nb; j++) if (!(scales[j] >= 0 && Number.isFinite(scales[j]))) throw new PayloadError(`int8 scale[${j}] is ${scales[j]}`);
      const q = new Int8Array(bytes.buffer, 8 + 4 * nb, n);
      for (let i = 0; i < n; i++) if (q[i] === -128) throw new PayloadError(`int8 value[${i}] is -128 (outside [-127, 127])`);
      return dequantizeInt8({ q, scales, blockSize });
    }
    case COMPRESSED_EXT_TYPES.topk: {
      atLeast(8, 'topk');
      const n = view.getUint32(0, true);
      const k = view.getUint32(4, true);
      need(8 + 8 * k, 'topk');
      if (k > n) throw new PayloadError(`topk sends ${k} of ${n} values`);
      const idx = new Uint32Array(bytes.buffer, 8, k);
      const vals = new Float32Array(bytes.buffer, 8 + 4 * k, k);
      const out = new Float32Array(n);
      for (let j = 0; j < k; j++) {
        if (idx[j] >= n || (j > 0 && idx[j] <= idx[j - 1])) throw new PayloadError(`topk index[${j}] = ${idx[j]} is out of range or not ascending`);
        out[idx[j]] = vals[j];
      }
      return out;
    }
    case COMPRESSED_EXT_TYPES.qsgd: {
      atLeast(12, 'qsgd');
      const n = view.getUint32(0, true);
      const s = view.getUint32(4, true);
      const norm = view.getFloat32(8, true);
      if (s < 1 || s > 32767) throw new PayloadError(`qsgd levels ${s} (must be 1..32767)`);
      if (!(norm >= 0 && Number.isFinite(norm))) throw new PayloadError(`qsgd norm is ${norm}`);
      const b = bitsFor(s);
      need(12 + Math.ceil((n * b) / 8), 'qsgd');
      const out = new Float32Array(n);
      let bit = 12 * 8;
      for (let i = 0; i < n; i++) {
        let code = 0;
        for (let j = 0; j < b; j++, bit++) if (bytes[bit >>> 3] & (1 << (bit & 7))) code |= 1 << j;
        if (code > 2 * s) throw new PayloadError(`qsgd code[${i}] = ${code} exceeds 2·levels`);
        out[i] = (norm * (code - s)) / s;
      }
      return out;
    }
    default:
      throw new PayloadError(`unknown vector extension type ${type}`);
  }
}

/** Client-state key of a vector's error-feedback residual. */
export function residualKey(name: string): string {
  return `ef/${name}`;
}

/**
 * A client's vectors as it uploads them with scheme c. With error feedback (top-k) each vector is first
 * corrected by the client's residual from earlier rounds (state[ef/name]), and the new residual — what the
 * compressed vector leaves out — comes back as client state. A non-finite vector is refused (the job fails),
 * so it can never hide in a residual.
 */
export function compressForUpload(vectors: Readonly<Record<string, Float32Array>>, c: Compression, state: Readonly<Record<string, Float32Array>> | null,
  rng: Rng): { sent: Record<string, Float32Array | CompressedVector>; residuals: Record<string, Float32Array> | null } {
  if (c.kind === 'none') return { sent: { ...vectors }, residuals: null };
  const feedback = usesErrorFeedback(c);
  const sent: Record<string, CompressedVector> = {};
  const residuals: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(vectors)) {
    const previous = feedback ? state?.[residualKey(name)] : undefined;
    if (previous && previous.length !== v.length) throw new Error(`compression: residual '${name}' has ${previous.length} values, expected ${v.length}`);
    const corrected = previous ? v.map((x, i) => x + previous[i]) : v;
    for (let i = 0; i < corrected.length; i++) if (!Number.isFinite(corrected[i])) throw new Error(`compression: ${name}[${i}] is ${corrected[i]}`);
    sent[name] = compressVector(corrected, c, rng.fork(name));
    if (feedback) {
      const decoded = decompressVector(sent[name].type, sent[name].payload);
      residuals[residualKey(name)] = corrected.map((x, i) => x - decoded[i]);
    }
  }
  return { sent, residuals: feedback ? residuals : null };
}
