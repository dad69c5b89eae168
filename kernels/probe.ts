// probeGpu(): whether a real GPU is there for the gpu backend, what was tried, and why each try failed or
// worked — for backend selection ('auto') and `fedmm doctor`.
import type { DeviceMode } from './device.js';
import type { Attempt, InitAnswer } from './device-host.js';
import { deviceThread, shutdownGpu } from './device-thread.js';
import { oneLine, type AdapterInfo } from './webgpu-node.js';

export interface GpuProbe {
  /** A hardware adapter (WebGPU) or a GL context answered and ran a kernel: 'auto' would use the gpu backend. */
  available: boolean;
  /** The gpu.js mode FEDMM_BACKEND=gpu would run on here. */
  mode: DeviceMode;
  adapter: AdapterInfo | null;
  attempts: Attempt[];
  /** One line: why the gpu backend is or is not chosen by 'auto'. */
  summary: string;
}

const PROBE_TIMEOUT_MS = 60_000;

let cached: GpuProbe | null = null;

function summarize(answer: InitAnswer): { available: boolean; summary: string } {
  if (answer.mode === 'webgpu' && answer.adapter?.software) {
    return { available: false, summary: `only a software WebGPU adapter (${answer.adapter.description || answer.adapter.vendor}): not a GPU` };
  }
  if (answer.mode !== 'cpu') {
    return { available: true, summary: answer.attempts.find((a) => a.ok)?.detail ?? answer.mode };
  }
  const failed = answer.attempts.filter((a) => !a.ok).map((a) => a.detail);
  return { available: false, summary: `no GPU: ${failed.join('; ')}` };
}

/**
 * Tries WebGPU (Dawn), then headless GL, in the device process; synchronous (the caller blocks), cached for
 * the process. Never throws: a failure to probe is itself the answer.
 */
export function probeGpu(): GpuProbe {
  if (cached) return cached;
  try {
    const answer = deviceThread().call<InitAnswer>({ op: 'init', mode: 'auto' }, PROBE_TIMEOUT_MS);
    cached = { ...summarize(answer), mode: answer.mode, adapter: answer.adapter, attempts: answer.attempts };
    // No GPU: the device process has nothing to keep (a forced gpu backend starts a new one).
    if (!cached.available) shutdownGpu();
  } catch (e) {
    const detail = `probe failed: ${oneLine(e)}`;
    cached = { available: false, mode: 'cpu', adapter: null, attempts: [{ backend: 'cpu', ok: false, detail }], summary: detail };
  }
  return cached;
}
