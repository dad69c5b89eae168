// The gpu backend's selection and fallbacks: auto never picks a backend that cannot run (on a machine
// without a GPU it picks native or js and says why gpu was skipped), FEDMM_BACKEND=gpu runs the gpu.js
// kernels on gpu.js's cpu fallback there, a forced WebGPU mode fails in one line, Float64Array goes to the
// reference, and bad input is refused in one line.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createGpuKernels, probeGpu, shutdownGpu, type GpuKernels } from '../kernels/index.js';
import { jsKernels } from '../src/backend/js/index.js';

type BackendModule = typeof import('../src/backend/index.js');

const savedEnv = process.env.FEDMM_BACKEND;
async function freshBackend(choice: string | undefined): Promise<BackendModule> {
  vi.resetModules();
  if (choice === undefined) delete process.env.FEDMM_BACKEND;
  else process.env.FEDMM_BACKEND = choice;
  return import('../src/backend/index.js');
}
afterEach(() => {
  if (savedEnv === undefined) delete process.env.FEDMM_BACKEND;
  else process.env.FEDMM_BACKEND = savedEnv;
  vi.resetModules();
});

const opened: GpuKernels[] = [];
afterAll(() => {
  for (const k of opened) k.close();
});

const probe = probeGpu();

describe('probeGpu', () => {
  it('reports every attempt in one line each, and a mode that can run', () => {
    expect(probe.attempts.length).toBeGreaterThan(0);
    for (const a of probe.attempts) expect(a.detail).not.toMatch(/\n/);
    expect(probe.summary).not.toMatch(/\n/);
    expect(probe.attempts.some((a) => a.backend === 'webgpu')).toBe(true);
    if (!probe.available) {
      expect(probe.attempts.find((a) => a.backend === 'webgpu')!.ok && !probe.adapter?.software).toBe(false);
      expect(probe.summary).toMatch(/^(no GPU: |only a software WebGPU adapter)/);
    }
  });
});

describe('backend selection with the gpu loader', () => {
  it('auto uses gpu only when the probe found a GPU and the calibration runs faster on it, and says why', async () => {
    const b = await freshBackend(undefined);
    const chosen = b.backendInfo().name;
    const choice = b.autoChoice();
    expect(choice).not.toBeNull();
    expect(choice!.backend).toBe(chosen);
    if (!probe.available) {
      expect(choice!.gpu).toBe(probe.summary);
      expect(choice!.calibrationMs).toBeUndefined();
      expect(['native', 'js']).toContain(chosen);
      return;
    }
    const ms = choice!.calibrationMs!;
    const cpu = Object.keys(ms).find((name) => name !== 'gpu')!;
    expect(chosen).toBe(ms.gpu < ms[cpu] ? 'gpu' : cpu);
    expect(choice!.gpu).toMatch(new RegExp(`^${probe.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; calibration step `));
  });

  it('FEDMM_BACKEND=gpu runs the gpu.js kernels (cpu fallback when there is no GPU)', async () => {
    const b = await freshBackend('gpu');
    const info = b.backendInfo();
    expect(info.name).toBe('gpu');
    expect(info.variant).toBe(probe.mode === 'cpu' ? 'cpu-fallback' : probe.mode);
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const w = Float32Array.from([0.5, -1, 2, 0, 1, 1]);
    const c = new Float32Array(4);
    b.kernels().gemm(false, false, 2, 2, 3, 1, a, w, 0, c);
    expect(Array.from(c)).toEqual([7.5, 2, 18, 2]);
    expect(b.useBackend('gpu')).toBe(b.kernels());
  });
});

describe('gpu backend', () => {
  it('a forced WebGPU mode without an adapter fails with the one-line reason', () => {
    if (probe.mode === 'webgpu') return;
    expect(() => createGpuKernels('webgpu')).toThrow(/^webgpu: /);
    try {
      createGpuKernels('webgpu');
    } catch (e) {
      expect((e as Error).message).not.toMatch(/\n/);
      expect((e as Error).message).toBe(probe.attempts.find((a) => a.backend === 'webgpu')!.detail);
    }
  });

  it('delegates Float64Array to the reference (bit-identical results)', () => {
    const k = createGpuKernels('cpu');
    opened.push(k);
    const a = Float64Array.from({ length: 15 }, (_, i) => Math.sin(i) / 3);
    const b = Float64Array.from({ length: 20 }, (_, i) => Math.cos(i) / 7);
    const c = new Float64Array(12);
    const ref = new Float64Array(12);
    k.gemm(false, true, 3, 4, 5, 1.25, a, b, 0, c);
    jsKernels.gemm(false, true, 3, 4, 5, 1.25, a, b, 0, ref);
    expect(Array.from(c)).toEqual(Array.from(ref));
  });

  it('handles empty problems and refuses mismatched accumulation input in one line', () => {
    const k = createGpuKernels('cpu');
    opened.push(k);
    const c = Float32Array.from([3, 4]);
    k.gemm(false, false, 1, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, c);
    expect(Array.from(c)).toEqual([1.5, 2]);
    const acc = new Float32Array(3);
    expect(() => k.weightedAccumulate([new Float32Array(3), new Float32Array(2)], [1, 1], 0, acc))
      .toThrow('weightedAccumulate: update 1 has 2 values, the accumulator 3');
    expect(() => k.weightedAccumulate([new Float32Array(3)], [1, 2], 0, acc)).toThrow('weightedAccumulate: 2 weights for 1 updates');
    const out = new Float32Array(0), hN = Float32Array.from([0.25]), saved = new Float32Array(0);
    k.gruForward(new Float32Array(0), Int32Array.from([0]), Float32Array.from([0.25]), new Float32Array(3), new Float32Array(3),
      null, null, out, hN, saved, { B: 1, T: 0, I: 1, H: 1 });
    expect(hN[0]).toBe(0.25);
  });

  it('shutdownGpu ends the device process; a backend made afterwards starts a new one, the old one is refused', () => {
    const before = createGpuKernels('cpu');
    opened.push(before);
    shutdownGpu();
    expect(() => before.sumSquares(Float32Array.of(3))).toThrow('gpu backend: the device process was shut down');
    const after = createGpuKernels('cpu');
    opened.push(after);
    expect(after.sumSquares(Float32Array.of(3, 4))).toBe(25);
  });
});
