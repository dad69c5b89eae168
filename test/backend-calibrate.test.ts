// The calibration behind 'auto': the same kernel calls on every backend, timed; the faster backend wins.
import { describe, expect, it } from 'vitest';
import { referenceKernels, type Kernels } from '../src/backend/index.js';
import { calibrationMs, calibrationStep, fastestBackend } from '../src/backend/calibrate.js';

/** A backend whose calibration calls only busy-wait `delayMs` each (no arithmetic, so the timing is the delay). */
function waiting(name: string, delayMs: number): Kernels {
  const wait = () => {
    const until = performance.now() + delayMs;
    while (performance.now() < until);
  };
  return { ...referenceKernels(), name: name as Kernels['name'], variant: `waits ${delayMs} ms`, gemm: wait, gruForward: wait, gruBackward: wait };
}

describe('backend calibration', () => {
  it('the step calls the GRU forward, three GEMMs and the GRU backward, with finite results', () => {
    const calls: string[] = [];
    const ref = referenceKernels();
    const spy: Kernels = {
      ...ref,
      gemm: (...a) => { calls.push('gemm'); ref.gemm(...a); },
      gruForward: (...a) => { calls.push('gruForward'); ref.gruForward(...a); },
      gruBackward: (...a) => {
        calls.push('gruBackward');
        ref.gruBackward(...a);
        const gWhh = a[12] as Float32Array;
        expect(gWhh.every(Number.isFinite)).toBe(true);
        expect(gWhh.some((v) => v !== 0)).toBe(true);
      },
    };
    calibrationStep(spy)();
    expect(calls).toEqual(['gruForward', 'gemm', 'gemm', 'gemm', 'gruBackward']);
  });

  it('picks the faster backend whichever comes first, and reports every figure', () => {
    const fast = waiting('native', 0);
    const slow = waiting('gpu', 40);
    for (const order of [[fast, slow], [slow, fast]]) {
      const { kernels, ms } = fastestBackend(order, 3);
      expect(kernels.name).toBe('native');
      expect(Object.keys(ms).sort()).toEqual(['gpu', 'native']);
      expect(ms.gpu).toBeGreaterThanOrEqual(200); // 5 calls × 40 ms
    }
    expect(calibrationMs(slow, 1)).toBeGreaterThanOrEqual(200);
    expect(() => fastestBackend([])).toThrow(/no candidate backend/);
  });
});
