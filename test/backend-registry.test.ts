// The kernel registry's dispatcher: it alone decides between a backend's entry and the TypeScript reference
// (float64 call, a size the entry refuses, an op the backend lacks), and a registered kernel reaches the
// active backend.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { referenceOps } from '../src/backend/js/index.js';
import type { KernelOps } from '../src/backend/kernels.js';
import { dispatchKernels, type KernelEntries } from '../src/backend/registry.js';
import { nativeBuilt, skipReason } from './helpers/native.js';

/** Entries that record each call and write a marker value, so the test sees which implementation ran. */
function markingEntries(calls: string[]): KernelEntries {
  return {
    gemm: {
      accepts: (_tA, _tB, M) => M <= 4,
      run: (_tA, _tB, M, N, _K, _alpha, _a, _b, _beta, c) => {
        calls.push('gemm');
        c.fill(7, 0, M * N);
      },
    },
    sgdStep: {
      float64: true,
      run: (param) => {
        calls.push('sgd');
        param.fill(3);
      },
    },
  };
}

describe('dispatchKernels', () => {
  const calls: string[] = [];
  const k = dispatchKernels('native', () => 'test', markingEntries(calls), referenceOps);
  const ref: KernelOps = referenceOps;

  afterEach(() => {
    calls.length = 0;
  });

  it('runs the entry on float32 calls it accepts', () => {
    const c = new Float32Array(4);
    k.gemm(false, false, 2, 2, 1, 1, Float32Array.of(1, 2), Float32Array.of(3, 4), 0, c);
    expect(calls).toEqual(['gemm']);
    expect([...c]).toEqual([7, 7, 7, 7]);
    expect(k.name).toBe('native');
    expect(k.variant).toBe('test');
  });

  it('sends float64 calls of a float32 entry to the reference', () => {
    const c = new Float64Array(4);
    k.gemm(false, false, 2, 2, 1, 1, Float64Array.of(1, 2), Float64Array.of(3, 4), 0, c);
    expect(calls).toEqual([]);
    expect([...c]).toEqual([3, 4, 6, 8]);
  });

  it('sends calls the entry does not accept (size) to the reference', () => {
    const a = Float32Array.from({ length: 5 }, (_, i) => i + 1);
    const c = new Float32Array(5);
    k.gemm(false, false, 5, 1, 1, 1, a, Float32Array.of(2), 0, c);
    expect(calls).toEqual([]);
    expect([...c]).toEqual([2, 4, 6, 8, 10]);
  });

  it('an entry that declares float64 gets float64 calls', () => {
    const p = new Float64Array(3);
    k.sgdStep(p, new Float64Array(3), null, { lr: 1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, hasMomentumBuffer: false });
    expect(calls).toEqual(['sgd']);
    expect([...p]).toEqual([3, 3, 3]);
  });

  it('an op the backend lacks is the reference itself', () => {
    expect(k.conv1dForward).toBe(ref.conv1dForward);
    expect(Object.keys(k).filter((op) => op !== 'name' && op !== 'variant').sort()).toEqual(Object.keys(ref).sort());
  });
});

describe.skipIf(!nativeBuilt)(`registerKernel (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  afterEach(() => {
    vi.resetModules();
  });

  it('a kernel registered for the active backend reaches its next call; float64 still goes to the reference', async () => {
    vi.resetModules();
    const b = await import('../src/backend/index.js');
    b.useBackend('native');
    let called = 0;
    b.registerKernel('native', 'maxPool1dForward', { run: (_x, out) => { called++; out.fill(9); } });
    const out = new Float32Array(1);
    b.kernels().maxPool1dForward(Float32Array.of(1, 2), out, new Int32Array(1), 1, 2, 2, 2);
    expect(called).toBe(1);
    expect(out[0]).toBe(9);
    const out64 = new Float64Array(1);
    b.kernels().maxPool1dForward(Float64Array.of(1, 2), out64, new Int32Array(1), 1, 2, 2, 2);
    expect(called).toBe(1);
    expect(out64[0]).toBe(2);
  });
});
