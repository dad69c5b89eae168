// Checkpoints: a directory outDir/checkpoints/round-NNNNNN/ written under a temporary name, every file
// fsynced, then renamed into place; outDir/checkpoints/latest.json (written atomically) points at it. A
// crash at any moment leaves the previous checkpoint intact. The two newest checkpoints are kept.
// state.json records the size and SHA-256 of every other file of the checkpoint; a resume verifies them and,
// when the newest checkpoint is damaged, falls back to the one before it (saying so). The pointer must
// name a round-NNNNNN folder of the same checkpoints/ folder: it is never followed anywhere else.
//
//   state.json          round, config digest, RNG seed, metric history, best round, totals, server scalars,
//                       files (path → {bytes, sha256})
//   model.bin           global weights, float32 little-endian
//   server-<name>.bin   each server-optimizer buffer (momentum, Adam moments, SCAFFOLD's c), float32 LE
//   client-state/<id>.bin  each client's persistent state (client-state.ts layout)
//   version-<v>.bin     asynchronous runs: the global weights of model version v, which a client in flight
//                       trains from (state.json's `asyncSchedule` lists the jobs in flight)
//
// Every random stream of a run is forked from the seed by name (init, round, client), never advanced
// across rounds, so the seed is the whole RNG state and resuming reproduces the uninterrupted run exactly.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { digestMismatch, fileDigest, FileWriteError, writeFileAtomic, type FileDigest } from '../io/atomic-file.js';
import { isInside } from '../io/paths.js';
import type { ServerState } from '../fl/strategy.js';
import type { AsyncSchedule } from './async-round.js';
import type { ClientStateStore } from './client-state.js';

export const CHECKPOINT_VERSION = 2;

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
  /** Asynchronous runs: the jobs in flight and the dispatch count (async-round.ts); its versions' weights are version-<v>.bin. */
  asyncSchedule?: AsyncSchedule;
  /** Size and SHA-256 of every other file of the checkpoint, by path relative to its folder. */
  files: Record<string, FileDigest>;
}

export interface LoadedCheckpoint<R> {
  meta: CheckpointMeta<R>;
  global: Float32Array;
  server: ServerState;
  /** Asynchronous runs: the weights of each model version a job in flight trains from. */
  versions: Map<number, Float32Array>;
  clientStateDir: string;
  dir: string;
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

/** Every file under `dir` (relative paths, sorted). */
function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** fsync a file or folder (durability before the rename that publishes the checkpoint). */
function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw new FileWriteError(path, (e as NodeJS.ErrnoException).code ?? 'EIO', e);
  } finally {
    closeSync(fd);
  }
}

export function writeCheckpoint<R>(outDir: string, meta: Omit<CheckpointMeta<R>, 'serverScalars' | 'serverBuffers' | 'files'>, global: Float32Array, server: ServerState,
  store: ClientStateStore, versions: ReadonlyMap<number, Float32Array> = new Map()): string {
  const root = join(outDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = `round-${String(meta.completedRounds).padStart(6, '0')}`;
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeFileAtomic(join(tmp, 'model.bin'), f32Bytes(global));
    for (const [k, buf] of Object.entries(server.buffers)) writeFileAtomic(join(tmp, `server-${k}.bin`), f32Bytes(buf));
    for (const [v, w] of versions) writeFileAtomic(join(tmp, `version-${v}.bin`), f32Bytes(w));
    store.snapshot(join(tmp, 'client-state'));
    const files: Record<string, FileDigest> = {};
    for (const rel of filesUnder(tmp)) {
      syncPath(join(tmp, rel));
      files[rel] = fileDigest(join(tmp, rel));
    }
    if (existsSync(join(tmp, 'client-state'))) syncPath(join(tmp, 'client-state'));
    writeFileAtomic(join(tmp, 'state.json'), JSON.stringify({ ...meta, serverScalars: server.scalars, serverBuffers: Object.keys(server.buffers), files }));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  syncPath(root);
  writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ dir: name, completedRounds: meta.completedRounds }));
  const old = readdirSync(root).filter((n) => CHECKPOINT_NAME.test(n)).sort();
  for (const n of old.slice(0, -2)) rmSync(join(root, n), { recursive: true, force: true });
  return dir;
}

const CHECKPOINT_NAME = /^round-\d{6,}$/;

/** The folder latest.json points at (a round-NNNNNN folder beside it), or a one-line error naming the file. */
function latestPointer(root: string): string {
  const latest = join(root, 'latest.json');
  let pointer: unknown;
  try {
    pointer = JSON.parse(readFileSync(latest, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint: ${latest} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const name = (pointer as { dir?: unknown } | null)?.dir;
  if (typeof name !== 'string' || !CHECKPOINT_NAME.test(name)) {
    throw new Error(`checkpoint: ${latest} must point at a round-NNNNNN folder of ${root}, got ${JSON.stringify(name) ?? 'nothing'}`);
  }
  return name;
}

/** Why the checkpoint in `dir` cannot be used, or null with its state when it can. */
function checkCheckpoint<R>(dir: string): { meta: CheckpointMeta<R> } | { problem: string } {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) return { problem: `${statePath} is missing` };
  let meta: CheckpointMeta<R>;
  try {
    meta = JSON.parse(readFileSync(statePath, 'utf8')) as CheckpointMeta<R>;
  } catch (e) {
    return { problem: `${statePath} is not valid JSON (${(e as Error).message.split('\n')[0]})` };
  }
  if (meta.version !== CHECKPOINT_VERSION) return { problem: `${dir} has version ${meta.version}, this build reads ${CHECKPOINT_VERSION}` };
  if (meta.files === null || typeof meta.files !== 'object') return { problem: `${statePath} records no file digests` };
  for (const [rel, expected] of Object.entries(meta.files)) {
    const path = join(dir, rel);
    if (!isInside(dir, path)) return { problem: `${statePath} names a file outside its folder: ${rel}` };
    const why = digestMismatch(path, expected);
    if (why !== null) return { problem: `${path} is damaged (${why})` };
  }
  return { meta };
}

/**
 * The latest good checkpoint of a run directory, or null when it has none. A damaged newest checkpoint is
 * reported through `log` and the older one used; when none is intact the resume is refused.
 */
export function readLatestCheckpoint<R>(outDir: string, numParams: number, log: (line: string) => void = () => {}): LoadedCheckpoint<R> | null {
  const root = join(outDir, 'checkpoints');
  if (!existsSync(join(root, 'latest.json'))) return null;
  const newest = latestPointer(root);
  const candidates = [newest, ...readdirSync(root).filter((n) => CHECKPOINT_NAME.test(n) && n < newest).sort().reverse()];
  const problems: string[] = [];
  for (const name of candidates) {
    const dir = join(root, name);
    const checked = checkCheckpoint<R>(dir);
    if ('problem' in checked) {
      problems.push(checked.problem);
      log(`resume: checkpoint ${dir} is unusable: ${checked.problem}`);
      continue;
    }
    const { meta } = checked;
    if (problems.length) log(`resume: using the older checkpoint ${dir} (round ${meta.completedRounds})`);
    const buffers: Record<string, Float32Array> = {};
    for (const k of meta.serverBuffers) buffers[k] = readF32(join(dir, `server-${k}.bin`), null);
    const versions = new Map<number, Float32Array>();
    for (const f of meta.asyncSchedule?.inFlight ?? []) {
      if (!versions.has(f.version)) versions.set(f.version, readF32(join(dir, `version-${f.version}.bin`), numParams));
    }
    return {
      meta,
      global: readF32(join(dir, 'model.bin'), numParams),
      server: { scalars: meta.serverScalars, buffers },
      versions,
      clientStateDir: join(dir, 'client-state'),
      dir,
    };
  }
  throw new Error(`resume: no intact checkpoint in ${root} (${problems[0]}); start again without --resume or from another --out`);
}

/** Writes a float32 vector as raw little-endian bytes, atomically. */
export function writeWeights(path: string, w: Float32Array): void {
  writeFileAtomic(path, f32Bytes(w));
}

/** Reads weights written by writeWeights. */
export function readWeights(path: string, numParams: number | null = null): Float32Array {
  return readF32(path, numParams);
}
