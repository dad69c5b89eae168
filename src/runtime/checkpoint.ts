// Checkpoints: a directory outDir/checkpoints/round-NNNNNN/ written under a temporary name and renamed
// into place, then outDir/checkpoints/latest.json (itself written temp-then-rename) points at it. A crash
// at any moment leaves the previous checkpoint intact. The two newest checkpoints are kept.
//
//   state.json          round, config digest, RNG seed, metric history, best round, totals, server scalars
//   model.bin           global weights, float32 little-endian
//   server-<name>.bin   each server-optimizer buffer (momentum, Adam moments, SCAFFOLD's c), float32 LE
//   client-state/<id>.bin  each client's persistent state (client-state.ts layout)
//
// Every random stream of a run is forked from the seed by name (init, round, client), never advanced
// across rounds, so the seed is the whole RNG state and resuming reproduces the uninterrupted run exactly.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerState } from '../fl/strategy.js';
import type { ClientStateStore } from './client-state.js';

export const CHECKPOINT_VERSION = 1;

export interface CheckpointMeta<R> {
  version: number;
  /** Rounds completed; the run resumes at this round index. */
  completedRounds: number;
  /** JSON of the result-relevant config; a resume with a different one is refused. */
  configDigest: string;
  seed: number;
  history: R[];
  best: unknown;
  totals: Record<string, number>;
  serverScalars: Record<string, number>;
  serverBuffers: string[];
}

export interface LoadedCheckpoint<R> {
  meta: CheckpointMeta<R>;
  global: Float32Array;
  server: ServerState;
  clientStateDir: string;
  dir: string;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function readF32(path: string, expected: number | null): Float32Array {
  const b = readFileSync(path);
  if (b.length % 4 !== 0 || (expected !== null && b.length !== 4 * expected)) {
    throw new Error(`checkpoint: ${path} has ${b.length} bytes, expected ${expected === null ? 'a multiple of 4' : 4 * expected}`);
  }
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function writeCheckpoint<R>(outDir: string, meta: Omit<CheckpointMeta<R>, 'serverScalars' | 'serverBuffers'>, global: Float32Array, server: ServerState,
  store: ClientStateStore): string {
  const root = join(outDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = `round-${String(meta.completedRounds).padStart(6, '0')}`;
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSync(join(tmp, 'model.bin'), f32Bytes(global));
  for (const [k, buf] of Object.entries(server.buffers)) writeFileSync(join(tmp, `server-${k}.bin`), f32Bytes(buf));
  store.snapshot(join(tmp, 'client-state'));
  writeFileSync(join(tmp, 'state.json'), JSON.stringify({ ...meta, serverScalars: server.scalars, serverBuffers: Object.keys(server.buffers) }));
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeAtomic(join(root, 'latest.json'), JSON.stringify({ dir: name, completedRounds: meta.completedRounds }));
  const old = readdirSync(root).filter((n) => /^round-\d+$/.test(n)).sort();
  for (const n of old.slice(0, -2)) rmSync(join(root, n), { recursive: true, force: true });
  return dir;
}

/** The latest checkpoint of a run directory, or null when it has none. */
export function readLatestCheckpoint<R>(outDir: string, numParams: number): LoadedCheckpoint<R> | null {
  const root = join(outDir, 'checkpoints');
  const latest = join(root, 'latest.json');
  if (!existsSync(latest)) return null;
  const { dir: name } = JSON.parse(readFileSync(latest, 'utf8')) as { dir: string };
  const dir = join(root, name);
  const meta = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointMeta<R>;
  if (meta.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint: ${dir} has version ${meta.version}, this build reads ${CHECKPOINT_VERSION}`);
  const buffers: Record<string, Float32Array> = {};
  for (const k of meta.serverBuffers) buffers[k] = readF32(join(dir, `server-${k}.bin`), null);
  return {
    meta,
    global: readF32(join(dir, 'model.bin'), numParams),
    server: { scalars: meta.serverScalars, buffers },
    clientStateDir: join(dir, 'client-state'),
    dir,
  };
}

/** Writes a float32 vector as raw little-endian bytes, atomically. */
export function writeWeights(path: string, w: Float32Array): void {
  writeAtomic(path, f32Bytes(w));
}

/** Reads weights written by writeWeights. */
export function readWeights(path: string, numParams: number | null = null): Float32Array {
  return readF32(path, numParams);
}
