// safetensors files on disk, for datasets too large to hold as one string or buffer
// (format: https://github.com/huggingface/safetensors — [u64 LE header size N][N bytes JSON header][data]).
// The reader parses only the header when opened and reads each requested slice with one positioned read;
// the writer streams tensors row block by row block into a temporary file and renames it into place.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';

export type DType = 'F32' | 'I32' | 'U8';
export type TypedData = Float32Array | Int32Array | Uint8Array;

const BYTES: Record<DType, number> = { F32: 4, I32: 4, U8: 1 };
/** Largest header accepted: a dataset file has a handful of tensors, so 16 MiB means a corrupt size field. */
const MAX_HEADER = 16 * 1024 * 1024;

export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offset of the first element in the file. */
  readonly start: number;
  readonly count: number;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function allocate(dtype: DType, count: number): TypedData {
  return dtype === 'F32' ? new Float32Array(count) : dtype === 'I32' ? new Int32Array(count) : new Uint8Array(count);
}

/** An open safetensors file: the header is parsed and checked; tensor data is read on demand. */
export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | null;

  private constructor(readonly path: string, fd: number, tensors: Map<string, TensorInfo>, metadata: Record<string, string>) {
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens `path` and validates its header; every error names the file. */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new Error(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(8);
      if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${path}: truncated safetensors file (${size} bytes, no header size)`);
      const n = Number(head.readBigUInt64LE(0));
      if (n > MAX_HEADER || 8 + n > size) throw new Error(`${path}: header size ${n} exceeds the file (${size} bytes): truncated or not safetensors`);
      const json = Buffer.alloc(n);
      readSync(fd, json, 0, n, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(json.toString('utf8'));
      } catch (e) {
        throw new Error(`${path}: header is not JSON (${(e as Error).message})`);
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${path}: header is not a JSON object`);
      const dataStart = 8 + n;
      const tensors = new Map<string, TensorInfo>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') {
          metadata = raw as Record<string, string>;
          continue;
        }
        const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        if (t.dtype !== 'F32' && t.dtype !== 'I32' && t.dtype !== 'U8') throw new Error(`${path}: tensor '${name}' has dtype ${String(t.dtype)}; fedmm reads F32, I32 and U8`);
        const shape = t.shape;
        if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${path}: tensor '${name}' has a malformed shape`);
        const off = t.data_offsets;
        if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${path}: tensor '${name}' has malformed data_offsets`);
        const count = product(shape);
        if (off[1] - off[0] !== count * BYTES[t.dtype]) throw new Error(`${path}: tensor '${name}' spans ${off[1] - off[0]} bytes but shape [${shape}] of ${t.dtype} needs ${count * BYTES[t.dtype]}`);
        if (dataStart + off[1] > size) throw new Error(`${path}: tensor '${name}' ends at byte ${dataStart + off[1]}, past the end of the file (${size} bytes): truncated`);
        tensors.set(name, { dtype: t.dtype, shape, start: dataStart + off[0], count });
      }
      return new SafetensorsFile(path, fd, tensors, metadata);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The tensor's header entry; checks dtype and rank when given. */
  info(name: string, dtype?: DType, rank?: number): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no tensor '${name}' (has: ${[...this.tensors.keys()].join(', ') || 'none'})`);
    if (dtype !== undefined && t.dtype !== dtype) throw new Error(`${this.path}: tensor '${name}' is ${t.dtype}, expected ${dtype}`);
    if (rank !== undefined && t.shape.length !== rank) throw new Error(`${this.path}: tensor '${name}' has rank ${t.shape.length} ([${t.shape}]), expected ${rank}`);
    return t;
  }

  /** `count` elements of tensor `name` from element `first` (flat row-major index), in one read. */
  read(name: string, first = 0, count?: number): TypedData {
    const t = this.info(name);
    const n = count ?? t.count - first;
    if (!(Number.isInteger(first) && Number.isInteger(n) && first >= 0 && n >= 0 && first + n <= t.count)) {
      throw new Error(`${this.path}: read of '${name}' elements [${first}, ${first + n}) outside its ${t.count}`);
    }
    if (this.fd === null) throw new Error(`${this.path}: file is closed`);
    const out = allocate(t.dtype, n);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(this.fd, bytes, done, bytes.length - done, t.start + first * BYTES[t.dtype] + done);
      if (got === 0) throw new Error(`${this.path}: unexpected end of file reading '${name}': truncated`);
      done += got;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A tensor to write: its header entry and its data as row blocks, concatenated in order. */
export interface TensorSource {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly blocks: () => Iterable<TypedData>;
}

/** The tensor holding `data` as one block. */
export function tensorOf(name: string, dtype: DType, shape: readonly number[], data: TypedData): TensorSource {
  return { name, dtype, shape, blocks: () => [data] };
}

/**
 * Writes a safetensors file atomically (temporary file, then rename), streaming each tensor's blocks;
 * checks that the blocks fill each tensor's shape exactly. Little-endian hosts only (as every Node target).
 */
export function writeSafetensorsFile(path: string, tensors: readonly TensorSource[], metadata: Readonly<Record<string, string>> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`safetensors: duplicate or reserved tensor name '${t.name}'`);
    const bytes = product(t.shape) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = Buffer.alloc(8 + padded, 0x20);
  prefix.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(prefix, 8);
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | null = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    for (const t of tensors) {
      const want = product(t.shape);
      let wrote = 0;
      for (const block of t.blocks()) {
        const ok = t.dtype === 'F32' ? block instanceof Float32Array : t.dtype === 'I32' ? block instanceof Int32Array : block instanceof Uint8Array;
        if (!ok) throw new Error(`safetensors: tensor '${t.name}' is ${t.dtype} but got a ${block.constructor.name} block`);
        wrote += block.length;
        if (wrote > want) throw new Error(`safetensors: tensor '${t.name}' of shape [${t.shape}] got more than ${want} values`);
        writeSync(fd, new Uint8Array(block.buffer, block.byteOffset, block.byteLength));
      }
      if (wrote !== want) throw new Error(`safetensors: tensor '${t.name}' of shape [${t.shape}] got ${wrote} of ${want} values`);
    }
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
