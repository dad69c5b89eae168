// Wire quantization of an update [P]: IEEE fp16 (round to nearest even; magnitudes ≥ 65520 become ±Inf,
// which the receiver's StreamingMean then rejects), and int8 with one float32 scale per block:
// scale = max|x|/127, q = roundHalfEven(x·127/max|x|) ∈ [−127, 127], x ≈ q·scale (error ≤ scale/2).
import { aggregateOps } from './ops.js';

export function quantizeFp16(x: Float32Array, out: Uint16Array = new Uint16Array(x.length)): Uint16Array {
  if (out.length !== x.length) throw new Error(`quantizeFp16: out has ${out.length} values, expected ${x.length}`);
  aggregateOps().toFp16(x, out);
  return out;
}

export function dequantizeFp16(h: Uint16Array, out: Float32Array = new Float32Array(h.length)): Float32Array {
  if (out.length !== h.length) throw new Error(`dequantizeFp16: out has ${out.length} values, expected ${h.length}`);
  aggregateOps().fromFp16(h, out);
  return out;
}

export interface Int8Packet {
  /** q[P] */ q: Int8Array;
  /** scales[ceil(P / blockSize)] */ scales: Float32Array;
  blockSize: number;
}

/** Blocks of `blockSize` values share one scale; a non-finite x is refused. */
export function quantizeInt8(x: Float32Array, blockSize = 256, out?: Int8Packet): Int8Packet {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`quantizeInt8: blockSize must be a positive integer, got ${blockSize}`);
  const nBlocks = Math.ceil(x.length / blockSize);
  const p = out ?? { q: new Int8Array(x.length), scales: new Float32Array(nBlocks), blockSize };
  if (p.q.length !== x.length || p.scales.length !== nBlocks || p.blockSize !== blockSize) {
    throw new Error(`quantizeInt8: out packet must hold ${x.length} values, ${nBlocks} scales, blockSize ${blockSize}`);
  }
  const bad = aggregateOps().quantizeInt8(x, p.q, p.scales, blockSize);
  if (bad >= 0) throw new Error(`quantizeInt8: non-finite value at index ${bad}`);
  return p;
}

export function dequantizeInt8(p: Int8Packet, out: Float32Array = new Float32Array(p.q.length)): Float32Array {
  const nBlocks = Math.ceil(p.q.length / p.blockSize);
  if (out.length !== p.q.length) throw new Error(`dequantizeInt8: out has ${out.length} values, expected ${p.q.length}`);
  if (p.scales.length !== nBlocks) throw new Error(`dequantizeInt8: ${p.scales.length} scales, expected ${nBlocks}`);
  aggregateOps().dequantizeInt8(p.q, p.scales, out, p.blockSize);
  return out;
}
