// Every gpu.js kernel, through the gpu backend on gpu.js's cpu fallback, against the TypeScript reference
// (float64) on random small shapes with odd sizes: gemm in all four transpose combinations with beta 0 and
// ≠ 0, batched gemm, conv1d forward/backward with padding and stride, max-pool with ties and colliding
// windows, GRU forward/backward with mixed lengths (including 0) and partial gradient requests, SGD
// (momentum, dampening, Nesterov, weight decay) and Adam/AdamW, weighted accumulation, masked softmax, axpby
// and the sum-of-squares reduction. Cases and tolerances: bench/gpu-parity.ts (|gpu − ref| ≤ 1e-4 + 1e-4·|ref|,
// argmax exact). The device thread runs the built dist/kernels/device-host.js: `npm test` builds first.
import { afterAll, describe, expect, it } from 'vitest';
import { createGpuKernels } from '../kernels/index.js';
import { runParity, type ParityResult } from '../bench/gpu-parity.js';

const k = createGpuKernels('cpu');
afterAll(() => {
  k.close();
});

const results = runParity(k);

function failures(prefix: string): string[] {
  return results.filter((r) => r.name.startsWith(prefix) && !r.ok)
    .map((r: ParityResult) => `${r.name}: worst ${r.worst.toExponential(2)} of tolerance, max |Δ| ${r.maxAbs.toExponential(2)}`);
}

describe('gpu.js kernels on the cpu fallback match the reference', () => {
  it('runs on the cpu fallback mode and covers every case', () => {
    expect(k.variant).toBe('cpu-fallback');
    expect(results.length).toBe(38);
  });
  for (const prefix of ['gemm', 'batchedGemm', 'conv1d forward', 'conv1d backward', 'maxpool forward', 'maxpool backward',
    'gru forward', 'gru backward', 'sgd', 'adam', 'weighted accumulation', 'masked softmax', 'axpby', 'sum of squares']) {
    it(prefix, () => {
      expect(results.some((r) => r.name.startsWith(prefix))).toBe(true);
      expect(failures(prefix)).toEqual([]);
    });
  }

  it('compiles each kernel once and reuses it across shapes', () => {
    const compiled = k.compiles().map((c) => `${c.kernel}:${c.resident}`);
    expect(new Set(compiled).size).toBe(compiled.length);
    expect(compiled).toContain('gemm:false');
    expect(compiled).toContain('gruGates:true');
  });
});
