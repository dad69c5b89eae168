// Backend selection (FEDMM_BACKEND, useBackend, registerBackend) and ISA forcing (FEDMM_ISA, useIsa).
// Each case re-imports the modules with a fresh environment, as a new process would see them.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nativeBuilt, skipReason } from './helpers/native.js';

type BackendModule = typeof import('../src/backend/index.js');

async function freshBackend(env: Record<string, string | undefined>): Promise<BackendModule> {
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return import('../src/backend/index.js');
}

const saved = { FEDMM_BACKEND: process.env.FEDMM_BACKEND, FEDMM_ISA: process.env.FEDMM_ISA };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  vi.resetModules();
});

describe('backend selection', () => {
  it('FEDMM_BACKEND=js selects the TypeScript kernels', async () => {
    const b = await freshBackend({ FEDMM_BACKEND: 'js', FEDMM_ISA: undefined });
    expect(b.backendInfo()).toEqual({ name: 'js', variant: 'typescript' });
  });

  it('a failing loader leaves the active backend unchanged; unknown names are refused; loaders can be replaced', async () => {
    const b = await freshBackend({ FEDMM_BACKEND: 'js', FEDMM_ISA: undefined });
    b.registerBackend('gpu', () => { throw new Error('gpu backend not available'); });
    expect(() => b.useBackend('gpu')).toThrow('gpu backend not available');
    expect(b.kernels().name).toBe('js');
    b.registerBackend('gpu', () => ({ ...b.referenceKernels(), name: 'gpu', variant: 'test-double' }));
    expect(b.useBackend('gpu').variant).toBe('test-double');
    const c = await freshBackend({ FEDMM_BACKEND: 'cuda' });
    expect(() => c.kernels()).toThrow(/FEDMM_BACKEND: unknown backend 'cuda'/);
  });

  it('an addon older than any of its sources (binding.gyp, native/**) is stale, named by the newer file', async () => {
    const { sourceNewerThan } = await import('../src/backend/native.js');
    const root = mkdtempSync(join(tmpdir(), 'fedmm-stale-'));
    try {
      mkdirSync(join(root, 'build', 'Release'), { recursive: true });
      mkdirSync(join(root, 'native', 'isa'), { recursive: true });
      const addonFile = join(root, 'build', 'Release', 'fedmm.node');
      const at = (file: string, seconds: number) => { writeFileSync(file, ''); utimesSync(file, seconds, seconds); };
      at(join(root, 'binding.gyp'), 1000);
      at(join(root, 'native', 'isa', 'gemm.cc'), 1000);
      at(addonFile, 2000);
      expect(sourceNewerThan(addonFile)).toBeNull();
      at(join(root, 'native', 'isa', 'fused.cc'), 3000);
      expect(sourceNewerThan(addonFile)).toBe(join('native', 'isa', 'fused.cc'));
      rmSync(join(root, 'native'), { recursive: true });
      expect(sourceNewerThan(addonFile)).toBeNull(); // a package shipped without its sources
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.skipIf(nativeBuilt)('auto falls back to js when the addon is not built', async () => {
    const b = await freshBackend({ FEDMM_BACKEND: undefined, FEDMM_ISA: undefined });
    expect(b.backendInfo().name).toBe('js');
    expect(() => b.useBackend('native')).toThrow(/native addon not built/);
  });
});

describe.skipIf(!nativeBuilt)(`native backend selection (${nativeBuilt ? 'addon built' : skipReason})`, () => {
  it('auto (the default) picks native with the best ISA variant', async () => {
    const b = await freshBackend({ FEDMM_BACKEND: undefined, FEDMM_ISA: undefined });
    const n = await import('../src/backend/native.js');
    expect(b.backendInfo()).toEqual({ name: 'native', variant: n.supportedIsas()[0] });
  });

  it('FEDMM_ISA forces each supported variant; an unknown one is an error, not a silent fallback', async () => {
    const first = await freshBackend({ FEDMM_BACKEND: 'native', FEDMM_ISA: undefined });
    const n = await import('../src/backend/native.js');
    expect(first.kernels().name).toBe('native');
    for (const isa of n.supportedIsas()) {
      const b = await freshBackend({ FEDMM_BACKEND: 'auto', FEDMM_ISA: isa });
      expect(b.backendInfo()).toEqual({ name: 'native', variant: isa });
    }
    const bad = await freshBackend({ FEDMM_BACKEND: 'auto', FEDMM_ISA: 'avx1024' });
    expect(() => bad.kernels()).toThrow(/FEDMM_ISA: unknown ISA variant 'avx1024'/);
  });

  it('the variant is per thread: a worker loading the addon starts on the best one', async () => {
    const n = await import('../src/backend/native.js');
    const path = n.addonPath()!;
    n.useIsa('baseline');
    try {
      const code = `const a = require(${JSON.stringify(path)}); const x = new Float32Array([1, 2]);
        require('node:worker_threads').parentPort.postMessage([a.info().active, a.sumSquares(x)]);`;
      const [variant, squares] = await new Promise<[string, number]>((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(variant).toBe(n.supportedIsas()[0]);
      expect(squares).toBe(5);
      expect(n.activeIsa()).toBe('baseline');
    } finally {
      n.useIsa(n.supportedIsas()[0]);
    }
  });

  it('useIsa switches the variant reported by backendInfo and the kernels', async () => {
    const b = await freshBackend({ FEDMM_BACKEND: 'native', FEDMM_ISA: undefined });
    const n = await import('../src/backend/native.js');
    n.useIsa('baseline');
    expect(b.backendInfo().variant).toBe('baseline');
    expect(b.kernels().variant).toBe('baseline');
    n.useIsa(n.supportedIsas()[0]);
    expect(b.backendInfo().variant).toBe(n.supportedIsas()[0]);
  });
});
