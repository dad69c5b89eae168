// Durable, atomic file writes and their verification.
//
// writeFileAtomic writes `<dir>/.<name>.tmp-<pid>` in the destination's own directory, fsyncs it, renames it
// over the destination and fsyncs the directory: a reader (or a resume after a crash, a kill -9 or a full
// disk) sees the old file or the whole new one, never a prefix. Every failure is one line naming the file
// (ENOSPC included), and the temporary file is removed.
//
// fileDigest / checkDigest record and verify a written file's size and SHA-256 (result manifests,
// checkpoint state), so a resume can tell a complete file from a damaged one.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What each errno means for a file fedmm writes, in words. */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its path is a file, not a folder',
  EISDIR: 'it is a folder',
  EIO: 'input/output error',
};

/** One line: "cannot write <path>: no space left on the device (ENOSPC)". */
export class FileWriteError extends Error {
  constructor(readonly path: string, readonly code: string, cause: unknown) {
    super(`cannot write ${path}: ${ERRNO_WORDS[code] ?? firstLine(cause)} (${code})`, { cause });
    this.name = 'FileWriteError';
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function errnoOf(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'EIO';
}

function writeAll(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic there.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Writes `data` to `path` atomically and durably (temp file in the same folder, fsync, rename, fsync folder). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // Already failing: the error below names the file.
      }
    }
    rmSync(tmp, { force: true });
    throw new FileWriteError(path, errnoOf(e), e);
  }
  syncDirectory(dir);
}

/** Appends `data` to `path` (metrics.jsonl lines), naming the file on failure. */
export function appendFileChecked(path: string, data: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'a');
    writeAll(fd, Buffer.from(data, 'utf8'));
  } catch (e) {
    throw new FileWriteError(path, errnoOf(e), e);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Size and SHA-256 of a file's bytes, as recorded in manifests and checkpoint state. */
export interface FileDigest {
  readonly bytes: number;
  readonly sha256: string;
}

export function digestBytes(data: string | Uint8Array): FileDigest {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function fileDigest(path: string): FileDigest {
  return digestBytes(readFileSync(path));
}

/**
 * Why `path` does not match its recorded digest ('missing', '147 KB, expected 1.68 MB', 'SHA-256 differs'),
 * or null when it does. The size is compared first, so a truncated file is told apart cheaply.
 */
export function digestMismatch(path: string, expected: FileDigest): string | null {
  if (!existsSync(path)) return 'missing';
  const size = statSync(path).size;
  if (size !== expected.bytes) return `${size} bytes, expected ${expected.bytes}`;
  return fileDigest(path).sha256 === expected.sha256 ? null : 'contents differ from the recorded SHA-256';
}
