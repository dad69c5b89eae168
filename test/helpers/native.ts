// Shared setup for the native-addon tests: whether the addon is built, the ISA variants this machine runs
// (each test forces every one of them in turn), and seeded random buffers.
import { readFileSync } from 'node:fs';
import { addonBuilt, loadAddon, useIsa, type IsaVariant } from '../../src/backend/native.js';
import { Rng } from '../../src/random.js';

export const nativeBuilt = addonBuilt();
export const skipReason = 'native addon not built (build/Release/fedmm.node missing; npm install builds it)';

/** Variants to test: all this build has that the CPU runs. Loading a built addon must not fail. */
export const isas: IsaVariant[] = nativeBuilt ? loadAddon().info().supported : [];

/** Runs fn with the native kernels forced to each variant, restoring the best one afterwards. */
export function forEachIsa(fn: (isa: IsaVariant) => void): void {
  try {
    for (const isa of isas) {
      useIsa(isa);
      fn(isa);
    }
  } finally {
    if (isas.length) useIsa(isas[0]);
  }
}

/** The CPU flags from /proc/cpuinfo (Linux), or null elsewhere. */
export function cpuFlags(): Set<string> | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return line ? new Set(line.split(':')[1].trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

export function randF32(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-scale, scale);
  return a;
}

/** Bit patterns of a float32 array (to compare NaNs and signed zeros exactly). */
export function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}
