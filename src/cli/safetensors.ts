// A small safetensors writer (https://github.com/huggingface/safetensors, format of the Rust crate):
//   [u64 little-endian N][N bytes of JSON header, padded with spaces to a multiple of 8][raw data]
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (byte offsets into the
// data section) and may hold "__metadata__": {string: string}. Data is little-endian, row-major, packed
// in the order the tensors are given.

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The bytes of a safetensors file holding `tensors` as F32, with optional string metadata. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`safetensors: duplicate or reserved tensor name '${t.name}'`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors: '${t.name}' has shape [${t.shape}] (${count} values) but ${t.data.length} values`);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i], true);
    pos += 4 * t.data.length;
  }
  return out;
}

/** Where each parameter sits in a flat buffer (Module.flatten().layout). */
export interface FlatLayoutEntry {
  readonly name: string;
  readonly offset: number;
  readonly shape: readonly number[];
}

/** Slices a flat parameter buffer into named tensors (views, no copies) following its layout. */
export function tensorsFromFlat(layout: readonly FlatLayoutEntry[], params: Float32Array): NamedTensor[] {
  return layout.map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > params.length) throw new Error(`safetensors: '${e.name}' ends at ${e.offset + n}, past the ${params.length} parameters`);
    return { name: e.name, shape: e.shape, data: params.subarray(e.offset, e.offset + n) };
  });
}
