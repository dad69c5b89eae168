// Per-client persistent state (SCAFFOLD's cᵢ, or any strategy's named vectors) for large populations.
//
// A client with no state costs nothing. States live in memory up to a byte budget, least recently used
// first out; past the budget they spill to one file per client under the run directory, so an idle client
// costs O(its state) on disk and a few bytes of index in memory — never O(model) in memory.
// Updates made during a round are staged and become visible only on commit() (a repeated round discards
// them). Files are always replaced by write-temp-then-rename, so a checkpoint can hard-link them safely.
import { existsSync, linkSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Vectors } from '../fl/strategy.js';

export interface ClientStateStoreOptions {
  /** Bytes of state kept in memory (committed + staged) before spilling; default 1 GiB. */
  budgetBytes?: number;
  /** Spill directory; null = memory only (exceeding the budget is then an error). */
  dir: string | null;
}

export interface ClientStateStats {
  /** Clients holding committed state. */
  clients: number;
  /** Of those, held in memory. */
  inMemory: number;
  /** Bytes of state in memory (committed + staged). */
  bytesInMemory: number;
  /** Clients whose state is on disk only. */
  spilled: number;
}

function bytesOf(v: Vectors): number {
  let n = 0;
  for (const k in v) n += v[k].byteLength;
  return n;
}

/** File layout: u32 count, then per vector: u32 name bytes, name (UTF-8), pad to 4, u32 length, float32 data. */
export function serializeVectors(v: Vectors): Uint8Array {
  const names = Object.keys(v).sort();
  const enc = names.map((n) => Buffer.from(n, 'utf8'));
  let size = 4;
  names.forEach((n, i) => (size += 4 + Math.ceil(enc[i].length / 4) * 4 + 4 + v[n].byteLength));
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  view.setUint32(pos, names.length, true);
  pos += 4;
  names.forEach((n, i) => {
    view.setUint32(pos, enc[i].length, true);
    out.set(enc[i], pos + 4);
    pos += 4 + Math.ceil(enc[i].length / 4) * 4;
    view.setUint32(pos, v[n].length, true);
    pos += 4;
    new Float32Array(out.buffer, pos, v[n].length).set(v[n]);
    pos += v[n].byteLength;
  });
  return out;
}

export function deserializeVectors(bytes: Uint8Array, what: string): Record<string, Float32Array> {
  const fail = (why: string): never => {
    throw new Error(`client state ${what}: ${why}`);
  };
  const buf = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4) fail('truncated');
  const count = view.getUint32(0, true);
  const out: Record<string, Float32Array> = {};
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > buf.length) fail('truncated');
    const nameLen = view.getUint32(pos, true);
    const name = Buffer.from(buf.buffer, buf.byteOffset + pos + 4, nameLen).toString('utf8');
    pos += 4 + Math.ceil(nameLen / 4) * 4;
    if (pos + 4 > buf.length) fail('truncated');
    const n = view.getUint32(pos, true);
    pos += 4;
    if (pos + 4 * n > buf.length) fail('truncated');
    out[name] = new Float32Array(buf.buffer.slice(buf.byteOffset + pos, buf.byteOffset + pos + 4 * n));
    pos += 4 * n;
  }
  if (pos !== buf.length) fail(`${buf.length - pos} trailing bytes`);
  return out;
}

/** Hard link (files are never modified in place, only replaced), or a copy across file systems. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function writeAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export class ClientStateStore {
  private readonly budget: number;
  private readonly dir: string | null;
  /** Committed states in memory, least recently used first. */
  private readonly memory = new Map<number, Vectors>();
  /** Committed states on disk only. */
  private readonly onDisk = new Set<number>();
  /** Staged states of the current round: in memory, or spilled (null) to the pending directory. */
  private readonly staged = new Map<number, Vectors | null>();
  private bytes = 0;

  constructor(options: ClientStateStoreOptions) {
    this.budget = options.budgetBytes ?? 2 ** 30;
    if (!(this.budget >= 0)) throw new Error(`client state: budgetBytes must be ≥ 0, got ${this.budget}`);
    this.dir = options.dir;
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(join(this.dir, 'pending'), { recursive: true });
    }
  }

  private file(id: number, pending = false): string {
    return join(this.dir!, pending ? 'pending' : '', `${id}.bin`);
  }

  /** The client's committed state, or null if it has none. */
  get(id: number): Vectors | null {
    const m = this.memory.get(id);
    if (m) {
      this.memory.delete(id);
      this.memory.set(id, m);
      return m;
    }
    if (!this.onDisk.has(id)) return null;
    return deserializeVectors(readFileSync(this.file(id)), `of client ${id}`);
  }

  /** Stages the client's new state; visible after commit(). */
  stage(id: number, state: Vectors): void {
    const prev = this.staged.get(id);
    if (prev) this.bytes -= bytesOf(prev);
    this.staged.set(id, state);
    this.bytes += bytesOf(state);
    this.enforceBudget();
  }

  /** Makes every staged state the committed one. */
  commit(): void {
    for (const [id, state] of this.staged) {
      const old = this.memory.get(id);
      if (old) {
        this.bytes -= bytesOf(old);
        this.memory.delete(id);
      }
      if (state) {
        this.memory.set(id, state);
        if (this.onDisk.delete(id)) rmSync(this.file(id), { force: true });
      } else {
        renameSync(this.file(id, true), this.file(id));
        this.onDisk.add(id);
      }
    }
    this.staged.clear();
    this.enforceBudget();
  }

  /** Drops every staged state (a repeated round). */
  discard(): void {
    for (const [id, state] of this.staged) {
      if (state) this.bytes -= bytesOf(state);
      else rmSync(this.file(id, true), { force: true });
    }
    this.staged.clear();
  }

  private enforceBudget(): void {
    if (this.bytes <= this.budget) return;
    if (!this.dir) throw new Error(`client state: ${this.bytes} bytes exceed the ${this.budget}-byte budget and no spill directory is set`);
    for (const [id, state] of this.memory) {
      if (this.bytes <= this.budget) return;
      writeAtomic(this.file(id), serializeVectors(state));
      this.memory.delete(id);
      this.onDisk.add(id);
      this.bytes -= bytesOf(state);
    }
    for (const [id, state] of this.staged) {
      if (this.bytes <= this.budget) return;
      if (!state) continue;
      writeAtomic(this.file(id, true), serializeVectors(state));
      this.staged.set(id, null);
      this.bytes -= bytesOf(state);
    }
  }

  stats(): ClientStateStats {
    return { clients: this.memory.size + this.onDisk.size, inMemory: this.memory.size, bytesInMemory: this.bytes, spilled: this.onDisk.size };
  }

  /** Writes every committed state into `dir` (one file per client; spilled files are hard-linked). */
  snapshot(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const [id, state] of this.memory) writeFileSync(join(dir, `${id}.bin`), serializeVectors(state));
    for (const id of this.onDisk) linkOrCopy(this.file(id), join(dir, `${id}.bin`));
  }

  /** Replaces the committed states with those in a snapshot directory (they stay on disk until read). */
  restore(dir: string): void {
    if (this.staged.size) throw new Error('client state: restore with staged states');
    this.memory.clear();
    this.onDisk.clear();
    this.bytes = 0;
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const m = /^(\d+)\.bin$/.exec(name);
      if (!m) continue;
      const id = Number(m[1]);
      if (this.dir) {
        linkOrCopy(join(dir, name), this.file(id));
        this.onDisk.add(id);
      } else {
        const state = deserializeVectors(readFileSync(join(dir, name)), `of client ${id}`);
        this.memory.set(id, state);
        this.bytes += bytesOf(state);
      }
    }
    this.enforceBudget();
  }
}
