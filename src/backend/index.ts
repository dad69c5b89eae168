// Backend selection: which Kernels implementation the engine calls.
import type { BackendName, Kernels } from './kernels.js';
import { jsKernels } from './js/index.js';

export type { BackendName, Kernels } from './kernels.js';

let active: Kernels = jsKernels;

/** The kernels in use now. */
export function kernels(): Kernels {
  return active;
}

/** The TypeScript reference kernels, whatever backend is active (tests compare against these). */
export function referenceKernels(): Kernels {
  return jsKernels;
}

/** Makes `k` the active backend; returns the previous one so a caller can restore it. */
export function setKernels(k: Kernels): Kernels {
  const previous = active;
  active = k;
  return previous;
}

export interface BackendInfo {
  name: BackendName;
  variant: string;
}

/** Which backend and which code path (ISA variant) are in use. */
export function backendInfo(): BackendInfo {
  return { name: active.name, variant: active.variant };
}
