// The wire format (docs/wire-format.md) of a client update — a msgpack array
//   [ header: map, delta: vector, extras: map<string, vector> ]
// — and of the server's broadcast — [ header: map, global: vector, vectors: map<string, vector> ] — where a
// vector is ext F32 (type 17), or a compressed vector (types 18–21, compression.ts) that is decoded and
// validated like any other. Ext F32 carries a little-endian float32 vector padded so the floats start at a
// 4-byte aligned offset of the message: payload = [k: u8][k zero bytes][4·n bytes of floats][3 − k zero bytes].
// The payload length (4 + 4n) does not depend on k, so the encoder lays the message out in one pass and
// writes the floats straight into the outgoing buffer; the decoder returns Float32Array VIEWS into the
// received buffer (no copy) whenever the floats are aligned in memory, and copies only otherwise.
//
// The decoder trusts nothing: the message size is bounded by what the expected update can take, a scan of
// the msgpack structure bounds its nesting depth before anything is decoded, the msgpack decoder runs with
// explicit limits for every string, array, map and extension length, padding bytes must be zero, and the
// sample count n must lie within the client's known data size.
import { decode, Decoder, encode, ExtensionCodec } from '@msgpack/msgpack';
import { endianness } from 'node:os';
import type { ClientUpdate, Vectors } from '../fl/strategy.js';
import type { Metrics } from '../fl/task.js';
import { aggregateOps } from '../aggregate/ops.js';
import { COMPRESSED_EXT_TYPES, decompressVector, PayloadError, type CompressedVector } from './compression.js';

export const WIRE_VERSION = 1;
export const F32_EXT_TYPE = 17;

if (endianness() !== 'LE') throw new Error('fedmm wire format: big-endian hosts are not supported (floats are sent little-endian)');

/** The header of an update (everything but the vectors). */
export interface UpdateHeader {
  /** Format version, WIRE_VERSION. */
  v: number;
  client: number;
  round: number;
  /** Local training samples (FedAvg weight). */
  n: number;
  /** Local SGD steps taken. */
  steps: number;
  /** Mean local training loss. */
  loss: number;
  metrics: Metrics;
}

/** A vector as sent: plain float32, or compressed (compression.ts). */
export type WireVector = Float32Array | CompressedVector;

export interface EncodableUpdate {
  readonly clientId: number;
  readonly round: number;
  readonly numSamples: number;
  readonly steps: number;
  readonly loss: number;
  readonly metrics: Metrics;
  readonly delta: WireVector;
  readonly extras: Readonly<Record<string, WireVector>>;
}

/** A rejected update: `reason` is one line (control characters a hostile update put in a name are escaped). */
export class WireError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    const line = reason.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    super(`invalid client update: ${line}`);
    this.name = 'WireError';
    this.reason = line;
  }
}

const EXT_HEADER = 6; // 0xc9, u32 length, i8 type

function writeVectorExt(out: Uint8Array, view: DataView, pos: number, v: WireVector): number {
  if (!(v instanceof Float32Array)) {
    out[pos] = 0xc9;
    view.setUint32(pos + 1, v.payload.length);
    view.setInt8(pos + 5, v.type);
    out.set(v.payload, pos + EXT_HEADER);
    return pos + EXT_HEADER + v.payload.length;
  }
  const payloadLen = 4 + 4 * v.length;
  out[pos] = 0xc9;
  view.setUint32(pos + 1, payloadLen);
  view.setInt8(pos + 5, F32_EXT_TYPE);
  const start = pos + EXT_HEADER;
  const k = (4 - ((start + 1) % 4)) % 4;
  out[start] = k;
  const floatsAt = start + 1 + k;
  new Float32Array(out.buffer, out.byteOffset + floatsAt, v.length).set(v);
  return start + payloadLen;
}

const vectorExtSize = (v: WireVector): number => EXT_HEADER + (v instanceof Float32Array ? 4 + 4 * v.length : v.payload.length);

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 65536) return Uint8Array.of(0xde, n >> 8, n & 0xff);
  throw new Error(`wire: ${n} extras is too many`);
}

/**
 * Lays out [header, first, { name: vector }] into a fresh ArrayBuffer (transfer it to the receiver). The
 * buffer starts at offset 0 of its own ArrayBuffer, so every float32 vector in it is 4-byte aligned.
 */
function encodeMessage(header: unknown, first: WireVector, named: Readonly<Record<string, WireVector>>): ArrayBuffer {
  const head = encode(header);
  const names = Object.keys(named).sort();
  const nameBytes = names.map((n) => encode(n));
  const mh = mapHeader(names.length);
  let total = 1 + head.length + vectorExtSize(first) + mh.length;
  names.forEach((n, i) => (total += nameBytes[i].length + vectorExtSize(named[n])));
  const buffer = new ArrayBuffer(total);
  const out = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let pos = 0;
  out[pos++] = 0x93;
  out.set(head, pos);
  pos += head.length;
  pos = writeVectorExt(out, view, pos, first);
  out.set(mh, pos);
  pos += mh.length;
  names.forEach((n, i) => {
    out.set(nameBytes[i], pos);
    pos += nameBytes[i].length;
    pos = writeVectorExt(out, view, pos, named[n]);
  });
  if (pos !== total) throw new Error(`wire: laid out ${pos} bytes, expected ${total}`);
  return buffer;
}

/** Encodes a client update (the worker's side). */
export function encodeUpdate(u: EncodableUpdate): ArrayBuffer {
  const header: UpdateHeader = {
    v: WIRE_VERSION, client: u.clientId, round: u.round, n: u.numSamples, steps: u.steps, loss: u.loss, metrics: u.metrics,
  };
  return encodeMessage(header, u.delta, u.extras);
}

/** A decoded float vector, remembering whether it had to be copied (misaligned in memory). */
class F32Payload {
  constructor(readonly data: Float32Array, readonly copied: boolean) {}
}

const codec = new ExtensionCodec();
codec.register({
  type: F32_EXT_TYPE,
  encode: () => null,
  decode(bytes: Uint8Array): F32Payload {
    if (bytes.length < 4 || bytes.length % 4 !== 0) throw new WireError(`float32 payload of ${bytes.length} bytes (must be 4 + 4n)`);
    const k = bytes[0];
    if (k > 3) throw new WireError(`float32 payload padding ${k} (must be 0..3)`);
    const n = bytes.length / 4 - 1;
    for (let i = 1; i <= k; i++) if (bytes[i] !== 0) throw new WireError(`float32 payload padding byte ${i} is ${bytes[i]} (must be 0)`);
    for (let i = 1 + k + 4 * n; i < bytes.length; i++) if (bytes[i] !== 0) throw new WireError(`float32 payload trailing padding byte ${i} is ${bytes[i]} (must be 0)`);
    const at = bytes.byteOffset + 1 + k;
    if (at % 4 === 0) return new F32Payload(new Float32Array(bytes.buffer, at, n), false);
    const copy = new Float32Array(n);
    new Uint8Array(copy.buffer).set(bytes.subarray(1 + k, 1 + k + 4 * n));
    return new F32Payload(copy, true);
  },
});
for (const type of Object.values(COMPRESSED_EXT_TYPES)) {
  codec.register({
    type,
    encode: () => null,
    decode(bytes: Uint8Array): F32Payload {
      try {
        return new F32Payload(decompressVector(type, bytes), false);
      } catch (e) {
        if (e instanceof PayloadError) throw new WireError(e.reason);
        throw e;
      }
    },
  });
}

export interface DecodeExpectation {
  readonly round: number;
  readonly clientId: number;
  readonly numParams: number;
  /** Names of the extras the strategy requires (exactly these). */
  readonly extraNames: readonly string[];
  /** The client's training sample count: the largest `n` an honest update can claim. */
  readonly maxSamples: number;
  /**
   * Scan the vectors for Inf/NaN (default true). The run loop passes false: its aggregator checks the values
   * in the same pass that folds them, so each update is read once.
   */
  readonly checkValues?: boolean;
}

/** The deepest nesting of a valid update: [ header { metrics { … } } ]. */
export const MAX_DEPTH = 3;
/** Bounds on what a header may hold: field names, metric names and extra names are short. */
export const MAX_NAME_BYTES = 256;
export const MAX_METRICS = 64;
/** Room for the header and the extras' names beyond the vectors themselves. */
const HEADER_ROOM = 64 * 1024;

/** The most bytes a valid update of this shape can take. */
export function maxUpdateBytes(expect: Pick<DecodeExpectation, 'numParams' | 'extraNames'>): number {
  return HEADER_ROOM + (1 + expect.extraNames.length) * (EXT_HEADER + maxVectorPayload(expect.numParams) + 5 + MAX_NAME_BYTES);
}

/** Largest payload of one vector of P values: 4 + 4P as F32; a compressed one stays under 8 + 8P (top-k keeping every value). */
function maxVectorPayload(numParams: number): number {
  return 8 + 8 * numParams;
}

/** Bytes after a msgpack type byte before the next item, and how many child items follow (for containers). */
function itemShape(bytes: Uint8Array, view: DataView, pos: number): { skip: number; children: number } {
  const t = bytes[pos];
  const need = (n: number) => {
    if (pos + 1 + n > bytes.length) throw new WireError(`not msgpack: message ends inside an item at byte ${pos}`);
  };
  const u = (size: 1 | 2 | 4) => {
    need(size);
    return size === 1 ? bytes[pos + 1] : size === 2 ? view.getUint16(pos + 1) : view.getUint32(pos + 1);
  };
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return { skip: 0, children: 0 };
  if (t <= 0x8f) return { skip: 0, children: 2 * (t & 0x0f) };
  if (t <= 0x9f) return { skip: 0, children: t & 0x0f };
  if (t <= 0xbf) return { skip: t & 0x1f, children: 0 };
  switch (t) {
    case 0xc4: return { skip: 1 + u(1), children: 0 };
    case 0xc5: return { skip: 2 + u(2), children: 0 };
    case 0xc6: return { skip: 4 + u(4), children: 0 };
    case 0xc7: return { skip: 2 + u(1), children: 0 };
    case 0xc8: return { skip: 3 + u(2), children: 0 };
    case 0xc9: return { skip: 5 + u(4), children: 0 };
    case 0xca: case 0xd2: return { skip: 4, children: 0 };
    case 0xcb: case 0xcf: case 0xd3: return { skip: 8, children: 0 };
    case 0xcc: case 0xd0: return { skip: 1, children: 0 };
    case 0xcd: case 0xd1: return { skip: 2, children: 0 };
    case 0xce: return { skip: 4, children: 0 };
    case 0xd4: return { skip: 2, children: 0 };
    case 0xd5: return { skip: 3, children: 0 };
    case 0xd6: return { skip: 5, children: 0 };
    case 0xd7: return { skip: 9, children: 0 };
    case 0xd8: return { skip: 17, children: 0 };
    case 0xd9: return { skip: 1 + u(1), children: 0 };
    case 0xda: return { skip: 2 + u(2), children: 0 };
    case 0xdb: return { skip: 4 + u(4), children: 0 };
    case 0xdc: return { skip: 2, children: u(2) };
    case 0xdd: return { skip: 4, children: u(4) };
    case 0xde: return { skip: 2, children: 2 * u(2) };
    case 0xdf: return { skip: 4, children: 2 * u(4) };
    default: throw new WireError(`not msgpack: byte ${pos} is 0x${t.toString(16)}, not a msgpack type`);
  }
}

/**
 * Walks the msgpack item headers of `bytes` (payloads are skipped, nothing is allocated) and refuses
 * nesting deeper than MAX_DEPTH, so hostile nesting costs one linear pass instead of the decoder's stack.
 */
function checkStructure(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const remaining: number[] = [1];
  let pos = 0;
  while (remaining.length > 0) {
    if (remaining[remaining.length - 1] === 0) {
      remaining.pop();
      continue;
    }
    remaining[remaining.length - 1]--;
    if (pos >= bytes.length) throw new WireError(`not msgpack: message ends early at byte ${pos}`);
    const { skip, children } = itemShape(bytes, view, pos);
    pos += 1 + skip;
    if (pos > bytes.length) throw new WireError(`not msgpack: message ends inside an item (${pos} of ${bytes.length} bytes)`);
    if (children > 0) {
      if (remaining.length >= MAX_DEPTH + 1) throw new WireError(`message nests deeper than ${MAX_DEPTH} levels`);
      remaining.push(children);
    }
  }
  if (pos !== bytes.length) throw new WireError(`not msgpack: ${bytes.length - pos} bytes after the message`);
}

function decoderFor(expect: DecodeExpectation): Decoder {
  return new Decoder({
    extensionCodec: codec,
    maxStrLength: MAX_NAME_BYTES,
    maxBinLength: maxVectorPayload(expect.numParams),
    maxArrayLength: 3,
    maxMapLength: Math.max(HEADER_KEYS.length, MAX_METRICS, expect.extraNames.length),
    maxExtLength: maxVectorPayload(expect.numParams),
  });
}

export interface DecodedUpdate extends ClientUpdate {
  /** True when a float32 vector was misaligned in memory and had to be copied (a decompressed vector is always fresh). */
  readonly copied: boolean;
}

const HEADER_KEYS = ['v', 'client', 'round', 'n', 'steps', 'loss', 'metrics'];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array) && !(x instanceof F32Payload);
}

function checkVector(what: string, x: unknown, P: number, checkValues: boolean): F32Payload {
  if (!(x instanceof F32Payload)) throw new WireError(`${what} is not a vector extension (types ${F32_EXT_TYPE}–${COMPRESSED_EXT_TYPES.qsgd})`);
  if (x.data.length !== P) throw new WireError(`${what} has ${x.data.length} values, expected ${P}`);
  if (!checkValues) return x;
  const bad = aggregateOps().findNonFinite(x.data);
  if (bad >= 0) throw new WireError(`${what}[${bad}] is ${x.data[bad]}`);
  return x;
}

/** Decodes and validates an update; throws WireError with a one-line reason. */
export function decodeUpdate(bytes: ArrayBuffer | Uint8Array, expect: DecodeExpectation): DecodedUpdate {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const limit = maxUpdateBytes(expect);
  if (view.length > limit) throw new WireError(`message of ${view.length} bytes exceeds the ${limit} an update of ${expect.numParams} parameters can take`);
  checkStructure(view);
  let msg: unknown;
  try {
    msg = decoderFor(expect).decode(view);
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError(`not msgpack: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(msg) || msg.length !== 3) throw new WireError('message is not a 3-element array [header, delta, extras]');
  const [h, deltaRaw, extrasRaw] = msg as [unknown, unknown, unknown];
  if (!isPlainObject(h)) throw new WireError('header is not a map');
  for (const k of Object.keys(h)) if (!HEADER_KEYS.includes(k)) throw new WireError(`header has unknown field '${k}'`);
  for (const k of HEADER_KEYS) if (!(k in h)) throw new WireError(`header lacks '${k}'`);
  if (h.v !== WIRE_VERSION) throw new WireError(`format version ${String(h.v)}, this build reads ${WIRE_VERSION}`);
  const int = (k: string, min: number) => {
    const v = h[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new WireError(`header '${k}' must be an integer ≥ ${min}, got ${String(v)}`);
    return v;
  };
  const client = int('client', 0);
  const round = int('round', 0);
  const n = int('n', 1);
  if (n > expect.maxSamples) throw new WireError(`header 'n' is ${n}, but client ${expect.clientId} has ${expect.maxSamples} training samples`);
  const steps = int('steps', 0);
  if (client !== expect.clientId) throw new WireError(`update names client ${client}, expected ${expect.clientId}`);
  if (round !== expect.round) throw new WireError(`update is for round ${round}, expected ${expect.round}`);
  if (typeof h.loss !== 'number' || !Number.isFinite(h.loss)) throw new WireError(`loss is ${String(h.loss)}`);
  if (!isPlainObject(h.metrics)) throw new WireError('metrics is not a map');
  if (Object.keys(h.metrics).length > MAX_METRICS) throw new WireError(`more than ${MAX_METRICS} metrics`);
  const metrics: Metrics = {};
  for (const [k, v] of Object.entries(h.metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new WireError(`metric '${k}' is ${String(v)}`);
    metrics[k] = v;
  }
  const checkValues = expect.checkValues ?? true;
  const delta = checkVector('delta', deltaRaw, expect.numParams, checkValues);
  if (!isPlainObject(extrasRaw)) throw new WireError('extras is not a map');
  const names = Object.keys(extrasRaw);
  for (const name of names) if (!expect.extraNames.includes(name)) throw new WireError(`unexpected extra '${name}'`);
  const extras: Record<string, Float32Array> = {};
  let copied = delta.copied;
  for (const name of expect.extraNames) {
    if (!(name in extrasRaw)) throw new WireError(`missing extra '${name}'`);
    const x = checkVector(`extra '${name}'`, extrasRaw[name], expect.numParams, checkValues);
    extras[name] = x.data;
    copied ||= x.copied;
  }
  return { clientId: client, round, numSamples: n, steps, loss: h.loss, metrics, delta: delta.data, extras, copied };
}

/** The header of a broadcast. */
export interface BroadcastHeader {
  v: number;
  kind: 'broadcast';
  round: number;
}

/** What clients receive at the start of a round: the global weights and the strategy's broadcast vectors. */
export interface Broadcast {
  readonly global: Float32Array;
  readonly vectors: Vectors;
}

/** Encodes a round's broadcast (the server's side). */
export function encodeBroadcast(round: number, global: WireVector, vectors: Readonly<Record<string, WireVector>>): ArrayBuffer {
  const header: BroadcastHeader = { v: WIRE_VERSION, kind: 'broadcast', round };
  return encodeMessage(header, global, vectors);
}

/** Decodes and validates a broadcast; throws WireError with a one-line reason. */
export function decodeBroadcast(bytes: ArrayBuffer | Uint8Array, expect: { readonly round: number; readonly numParams: number; readonly names: readonly string[] }): Broadcast {
  let msg: unknown;
  try {
    msg = decode(bytes, { extensionCodec: codec });
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError(`not msgpack: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(msg) || msg.length !== 3) throw new WireError('broadcast is not a 3-element array [header, global, vectors]');
  const [h, globalRaw, vectorsRaw] = msg as [unknown, unknown, unknown];
  if (!isPlainObject(h) || h.kind !== 'broadcast' || h.v !== WIRE_VERSION || h.round !== expect.round) {
    throw new WireError(`broadcast header ${JSON.stringify(h)} is not version ${WIRE_VERSION}, round ${expect.round}`);
  }
  const global = checkVector('global', globalRaw, expect.numParams, true).data;
  if (!isPlainObject(vectorsRaw)) throw new WireError('broadcast vectors is not a map');
  const names = Object.keys(vectorsRaw).sort();
  if (names.join() !== [...expect.names].sort().join()) throw new WireError(`broadcast vectors ${names.join(', ') || 'none'}, expected ${expect.names.join(', ') || 'none'}`);
  const vectors: Record<string, Float32Array> = {};
  for (const name of names) vectors[name] = checkVector(`broadcast vector '${name}'`, vectorsRaw[name], expect.numParams, true).data;
  return { global, vectors };
}
