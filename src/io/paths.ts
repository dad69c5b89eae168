// Path safety: names that become path parts, pointers that must stay inside a folder, and the checks an
// output folder passes before any work starts (each failure is one line saying what is wrong).
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

/** Why `name` cannot be one path part (a file or folder name fedmm creates), or null when it can. */
export function pathPartProblem(name: string): string | null {
  if (name === '') return 'it is empty';
  if (/^\.+$/.test(name)) return 'it would point at the output folder itself or above it';
  if (!/^[\w.+-]+$/.test(name)) return 'it may hold letters, digits and . _ + - only (no separators or spaces)';
  if (name.length > 200) return 'it is longer than 200 characters';
  return null;
}

/** Whether `path` resolves to `root` itself or somewhere below it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Kernel pseudo file systems (statfs f_type) where results cannot live: creating folders there fails in odd
 * ways (Node's recursive mkdir spins for ever under /proc).
 */
const SPECIAL_FILE_SYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
  0x6e736673: 'nsfs',
  0x42494e4d: 'binfmt_misc',
  0x50495045: 'pipefs',
};

/** The deepest existing folder on the way to `path` (path itself when it exists). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/**
 * Why `out` cannot be an output folder, or null when it can: it exists as a file, lies on a kernel pseudo
 * file system, or cannot be written (read-only mount, permissions). `flag` names it in the message.
 */
export function outputDirProblem(out: string, flag = '--out'): string | null {
  const path = resolve(out);
  if (existsSync(path) && !statSync(path).isDirectory()) return `${flag} ${path} is a file, not a folder; choose a folder for the results`;
  const base = nearestExisting(path);
  if (!statSync(base).isDirectory()) return `${flag} ${path}: ${base} is a file, so no folder can be made under it`;
  const fsType = SPECIAL_FILE_SYSTEMS[statfsSync(base).type];
  if (fsType !== undefined) return `${flag} ${path} is on the kernel's ${fsType} file system, which cannot hold results; choose a folder on a disk`;
  try {
    accessSync(base, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable (permission denied)';
    return `${flag} ${path}: ${base === path ? 'the folder' : `its nearest existing folder ${base}`} ${why}`;
  }
  return null;
}
