// Backend selection: which Kernels implementation the engine calls.
//
// FEDMM_BACKEND = js | native | gpu | auto (default auto: the CPU kernels — native if the addon loads, else js,
// with one line on stderr when the addon is built but fails to load; a FEDMM_ISA the CPU lacks is an error —
// and gpu instead only when a real GPU answers (a hardware WebGPU adapter or a GL context, see kernels/probe.ts)
// and a short calibration (src/backend/calibrate.ts) runs faster on it than on the CPU kernels). Each backend is a loader in a registry;
// registerBackend adds or replaces one. FEDMM_BACKEND=gpu without a GPU runs the same gpu.js kernels on
// gpu.js's cpu fallback (variant 'cpu-fallback').
import type { BackendName, Kernels } from './kernels.js';
import { jsKernels } from './js/index.js';
import { activeIsa, addonBuilt, IsaUnavailableError, nativeKernels } from './native.js';
import { createGpuKernels, probeGpu } from '../../kernels/index.js';
import { onRegistryChange } from './registry.js';
import { fastestBackend } from './calibrate.js';

export type { BackendName, Kernels } from './kernels.js';
export { registerKernel, registerKernels, type KernelEntry, type KernelEntries } from './registry.js';

/** Builds a backend's kernels, or throws a one-line reason why it is not available. */
export type BackendLoader = () => Kernels;

const loaders = new Map<BackendName, BackendLoader>([
  ['js', () => jsKernels],
  ['native', nativeKernels],
  ['gpu', gpuKernels],
]);

let gpu: Kernels | null = null;

/** The gpu backend, started once per process (its device thread holds the GPU). */
function gpuKernels(): Kernels {
  gpu ??= createGpuKernels('auto');
  return gpu;
}

/** Adds or replaces the loader for a backend. */
export function registerBackend(name: BackendName, loader: BackendLoader): void {
  loaders.set(name, loader);
}

export type BackendChoice = BackendName | 'auto';

let active: Kernels | null = null;
/** Whether `active` came from a loader (not from setKernels). */
let activeLoaded = false;
let autoFallbackReported = false;

function load(name: BackendName): Kernels {
  const loader = loaders.get(name);
  if (!loader) throw new Error(`unknown backend '${name}' (expected ${[...loaders.keys()].join(', ')} or auto)`);
  return loader();
}

export interface AutoChoice {
  backend: BackendName;
  /** Why the gpu backend was or was not chosen: probeGpu's one-line summary, and the calibration's figures. */
  gpu: string;
  /** Milliseconds of the calibration step per backend (calibrate.ts), when a GPU answered the probe. */
  calibrationMs?: Record<string, number>;
}

let lastAuto: AutoChoice | null = null;

/** What the last 'auto' selection chose, and why gpu was or was not used; null before one ran. */
export function autoChoice(): AutoChoice | null {
  return lastAuto;
}

function pickAuto(): Kernels {
  const probe = probeGpu();
  const cpu = pickCpu();
  if (!probe.available) {
    lastAuto = { backend: cpu.name, gpu: probe.summary };
    return cpu;
  }
  let gpu: Kernels;
  try {
    gpu = load('gpu');
  } catch (e) {
    lastAuto = { backend: cpu.name, gpu: `gpu answered the probe but did not start: ${(e as Error).message}` };
    return cpu;
  }
  const { kernels: k, ms } = fastestBackend([cpu, gpu]);
  const figures = `calibration step ${cpu.name} ${ms[cpu.name].toFixed(2)} ms, gpu ${ms.gpu.toFixed(2)} ms`;
  lastAuto = { backend: k.name, gpu: `${probe.summary}; ${figures}: ${k.name} is faster here`, calibrationMs: ms };
  return k;
}

function pickCpu(): Kernels {
  try {
    return load('native');
  } catch (e) {
    if (e instanceof IsaUnavailableError) throw e;
    if (addonBuilt() && !autoFallbackReported) {
      autoFallbackReported = true;
      process.stderr.write(`fedmm: ${(e as Error).message}; using the TypeScript backend\n`);
    }
    return jsKernels;
  }
}

/**
 * Switches the active backend: 'auto' = native if it loads, else js. Throws a one-line error if a named
 * backend is not available (the active one is then unchanged).
 */
export function useBackend(name: BackendChoice): Kernels {
  const next = name === 'auto' ? pickAuto() : load(name);
  active = next;
  activeLoaded = true;
  return next;
}

// A kernel registered after the active backend was built reaches it: the backend is rebuilt from its loader.
onRegistryChange(() => {
  if (active && activeLoaded) active = load(active.name);
});

function choiceFromEnv(): BackendChoice {
  const v = (process.env.FEDMM_BACKEND ?? 'auto').trim();
  if (v === 'auto' || loaders.has(v as BackendName)) return v as BackendChoice;
  throw new Error(`FEDMM_BACKEND: unknown backend '${v}' (expected ${[...loaders.keys()].join(', ')} or auto)`);
}

/** The kernels in use now (chosen from FEDMM_BACKEND on first call). */
export function kernels(): Kernels {
  return active ?? useBackend(choiceFromEnv());
}

/** The TypeScript reference kernels, whatever backend is active (tests compare against these). */
export function referenceKernels(): Kernels {
  return jsKernels;
}

/** Makes `k` the active backend; returns the previous one so a caller can restore it. */
export function setKernels(k: Kernels): Kernels {
  const previous = kernels();
  active = k;
  activeLoaded = false;
  return previous;
}

export interface BackendInfo {
  name: BackendName;
  /** code path: 'typescript' for js; the ISA variant ('avx512', 'avx2', 'baseline') for native; … */
  variant: string;
}

/** Which backend and which code path (ISA variant) are in use. */
export function backendInfo(): BackendInfo {
  const k = kernels();
  return { name: k.name, variant: k.name === 'native' ? activeIsa() : k.variant };
}
