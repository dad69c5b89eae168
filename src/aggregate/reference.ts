// TypeScript reference for the aggregation ops (src/aggregate/ops.ts): plain loops in float64 with
// float32 storage, the same operations in the same order as native/isa/aggregate.cc.
import { scale, squaredNorm as sumSquares } from '../backend/js/elementwise.js';
import type { AggregateOps } from './ops.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function isFiniteValue(v: number): boolean {
  return v - v === 0;
}

function findNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!isFiniteValue(x[i])) return i;
  return -1;
}

function foldGroup(accIn: Float64Array | null, accOut: Float64Array, updates: Float32Array[], coefficients: Float64Array,
  count: number): boolean {
  const P = accIn ? accIn.length : accOut.length;
  if (accOut.length < P) throw new Error(`foldGroup: accOut has ${accOut.length} elements, needs ${P}`);
  if (accOut === accIn) throw new Error('foldGroup: accIn and accOut must be different buffers');
  for (let g = 0; g < count; g++) {
    if (updates[g].length < P) throw new Error(`foldGroup: updates[${g}] has ${updates[g].length} elements, needs ${P}`);
  }
  let finite = true;
  for (let i = 0; i < P; i++) {
    let a = accIn ? accIn[i] : 0;
    for (let g = 0; g < count; g++) a += coefficients[g] * updates[g][i];
    accOut[i] = a;
    if (!isFiniteValue(a)) finite = false;
  }
  return finite;
}

function foldFinish(accIn: Float64Array | null, updates: Float32Array[], coefficients: Float64Array, count: number,
  totalWeight: number, out: Float32Array): boolean {
  const P = accIn ? accIn.length : out.length;
  if (out.length < P) throw new Error(`foldFinish: out has ${out.length} elements, needs ${P}`);
  for (let g = 0; g < count; g++) {
    if (updates[g].length < P) throw new Error(`foldFinish: updates[${g}] has ${updates[g].length} elements, needs ${P}`);
  }
  let finite = true;
  for (let i = 0; i < P; i++) {
    let a = accIn ? accIn[i] : 0;
    for (let g = 0; g < count; g++) a += coefficients[g] * updates[g][i];
    out[i] = a / totalWeight;
    if (!isFiniteValue(a)) finite = false;
  }
  return finite;
}

function finishMean(acc: Float64Array, totalWeight: number, out: Float32Array): void {
  for (let i = 0; i < acc.length; i++) out[i] = acc[i] / totalWeight;
}

function gatherSorted(updates: Float32Array[], i: number, scratch: Float32Array): void {
  for (let k = 0; k < updates.length; k++) scratch[k] = updates[k][i];
  scratch.sort();
}

function checkUpdates(fn: string, updates: Float32Array[], P: number): void {
  if (updates.length === 0) throw new Error(`${fn}: needs at least one update`);
  updates.forEach((u, k) => {
    if (u.length < P) throw new Error(`${fn}: updates[${k}] has ${u.length} elements, needs ${P}`);
  });
}

function median(updates: Float32Array[], out: Float32Array): void {
  const K = updates.length;
  checkUpdates('median', updates, out.length);
  const s = new Float32Array(K);
  for (let i = 0; i < out.length; i++) {
    gatherSorted(updates, i, s);
    out[i] = K % 2 === 1 ? s[K >> 1] : (s[(K >> 1) - 1] + s[K >> 1]) / 2;
  }
}

function trimmedMean(updates: Float32Array[], trim: number, out: Float32Array): void {
  const K = updates.length;
  checkUpdates('trimmedMean', updates, out.length);
  if (2 * trim >= K) throw new Error('trimmedMean: trimming removes every update');
  const s = new Float32Array(K);
  for (let i = 0; i < out.length; i++) {
    gatherSorted(updates, i, s);
    let sum = 0;
    for (let k = trim; k < K - trim; k++) sum += s[k];
    out[i] = sum / (K - 2 * trim);
  }
}

function pairwiseSqDist(updates: Float32Array[], out: Float64Array, P: number): void {
  const K = updates.length;
  checkUpdates('pairwiseSqDist', updates, P);
  if (out.length < K * K) throw new Error(`pairwiseSqDist: out has ${out.length} elements, needs ${K * K}`);
  const lanes = new Float64Array(32);
  for (let k = 0; k < K; k++) {
    out[k * K + k] = 0;
    for (let l = k + 1; l < K; l++) {
      const a = updates[k], b = updates[l];
      lanes.fill(0);
      for (let i = 0; i < P; i++) {
        const d = a[i] - b[i];
        lanes[i & 31] += d * d;
      }
      let t = lanes[0];
      for (let j = 1; j < 32; j++) t += lanes[j];
      out[k * K + l] = t;
      out[l * K + k] = t;
    }
  }
}

function closestToMedianMean(updates: Float32Array[], beta: number, out: Float32Array): void {
  const K = updates.length;
  checkUpdates('closestToMedianMean', updates, out.length);
  if (!(beta >= 1 && beta <= K)) throw new Error('closestToMedianMean: beta must be in 1..number of updates');
  const s = new Float32Array(K);
  for (let i = 0; i < out.length; i++) {
    gatherSorted(updates, i, s);
    const m = K % 2 === 1 ? s[K >> 1] : (s[(K >> 1) - 1] + s[K >> 1]) / 2;
    let lo = 0;
    while (lo < K && s[lo] < m) lo++;
    let hi = lo;
    for (let t = 0; t < beta; t++) {
      if (lo > 0 && (hi >= K || m - s[lo - 1] <= s[hi] - m)) lo--;
      else hi++;
    }
    let sum = 0;
    for (let k = lo; k < hi; k++) sum += s[k];
    out[i] = sum / beta;
  }
}

function fedoptStep(rule: 0 | 1 | 2, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  lr: number, beta1: number, beta2: number, tau: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = Math.fround(beta1 * m[i] + (1 - beta1) * gi);
    const g2 = gi * gi;
    const vo = v[i];
    let vn: number;
    if (rule === 0) vn = beta2 * vo + (1 - beta2) * g2;
    else if (rule === 1) vn = vo - (1 - beta2) * g2 * (vo > g2 ? 1 : vo < g2 ? -1 : 0);
    else vn = vo + g2;
    const vi = Math.fround(vn);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - (lr * mi) / (Math.sqrt(vi) + tau);
  }
}

function serverSgdStep(p: Float32Array, g: Float32Array, m: Float32Array | null, lr: number, momentum: number): void {
  if (momentum === 0 || !m) {
    for (let i = 0; i < p.length; i++) p[i] = p[i] - lr * g[i];
    return;
  }
  for (let i = 0; i < p.length; i++) {
    const mi = Math.fround(momentum * m[i] + g[i]);
    m[i] = mi;
    p[i] = p[i] - lr * mi;
  }
}

/** float32 bits → binary16 bits, round to nearest even (integer steps as in native/isa/aggregate.cc). */
function halfOf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00;
  if (ax >= 0x477ff000) return sign | 0x7c00;
  if (ax >= 0x38800000) return sign | ((((ax + 0xc8000fff + ((ax >>> 13) & 1)) >>> 0) >>> 13) & 0xffff);
  const e = ax >>> 23;
  if (e < 102) return sign;
  const mant = (ax & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) === 1)) q++;
  return sign | q;
}

function toFp16(x: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < x.length; i++) out[i] = halfOf(x[i]);
}

function fromFp16(h: Uint16Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    const sign = (v & 0x8000) << 16;
    const e = (v >>> 10) & 0x1f;
    const man = v & 0x3ff;
    if (e === 0) {
      f32[0] = man * 5.9604644775390625e-8;
      bits[i] = (u32[0] | sign) >>> 0;
    } else if (e === 31) bits[i] = (sign | 0x7f800000 | (man << 13) | (man ? 0x400000 : 0)) >>> 0;
    else bits[i] = (sign | ((e + 112) << 23) | (man << 13)) >>> 0;
  }
}

/** Round half to even (the default IEEE rounding the native code gets from rintf). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function quantizeInt8(x: Float32Array, q: Int8Array, scales: Float32Array, blockSize: number): number {
  const bad = findNonFinite(x);
  if (bad >= 0) return bad;
  const n = x.length;
  for (let b = 0, i0 = 0; i0 < n; b++, i0 += blockSize) {
    const end = Math.min(n, i0 + blockSize);
    let amax = 0;
    for (let i = i0; i < end; i++) amax = Math.max(amax, Math.abs(x[i]));
    scales[b] = amax / 127;
    const inv = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let i = i0; i < end; i++) {
      const r = roundHalfEven(Math.fround(x[i] * inv));
      q[i] = r > 127 ? 127 : r < -127 ? -127 : r;
    }
  }
  return -1;
}

function dequantizeInt8(q: Int8Array, scales: Float32Array, out: Float32Array, blockSize: number): void {
  for (let i = 0; i < q.length; i++) out[i] = q[i] * scales[Math.floor(i / blockSize)];
}

export const referenceAggregateOps: AggregateOps = {
  variant: 'typescript',
  findNonFinite,
  foldGroup,
  foldFinish,
  finishMean,
  sumSquares,
  scale,
  median,
  trimmedMean,
  pairwiseSqDist,
  closestToMedianMean,
  fedoptStep,
  serverSgdStep,
  toFp16,
  fromFp16,
  quantizeInt8,
  dequantizeInt8,
};
