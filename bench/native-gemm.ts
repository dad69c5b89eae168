// Native SGEMM throughput per ISA variant at 512² and at the model shapes, as GFLOP/s and as a fraction
// of one core's theoretical peak for that variant at the nominal clock (/proc/cpuinfo "cpu MHz"; turbo can
// run above it): AVX-512 = 2 FMA pipes × 16 lanes × 2 flops = 64 flops/cycle, AVX2 = 32 flops/cycle.
// The baseline (SSE2, no FMA) is shown in GFLOP/s only. The ratio column compares each variant with the
// baseline build measured in the same run.
import { readFileSync } from 'node:fs';
import { loadAddon, tryLoadAddon, type IsaVariant } from '../src/backend/native.js';
import { randomArray } from '../src/bench/measure.js';
import { Rng } from '../src/random.js';
import { meanMs } from './common.js';

interface Shape {
  label: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

const SHAPES: Shape[] = [
  { label: '512² · 512²', transA: false, transB: false, M: 512, N: 512, K: 512 },
  { label: 'GRU input proj [16·128,128]·[384,128]ᵀ', transA: false, transB: true, M: 16 * 128, N: 384, K: 128 },
  { label: 'GRU step [32,64]·[192,64]ᵀ', transA: false, transB: true, M: 32, N: 192, K: 64 },
  { label: 'conv im2col [16·64, 32·5]·[32·5, 64]', transA: false, transB: false, M: 16 * 64, N: 64, K: 32 * 5 },
  { label: 'conv weight grad [64,64]·[160,64]ᵀ', transA: false, transB: true, M: 64, N: 160, K: 64 },
];

const PEAK_FLOPS_PER_CYCLE: Partial<Record<IsaVariant, number>> = { avx512: 64, avx2: 32 };

function nominalGHz(): number | null {
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? Number(m[1]) / 1000 : null;
  } catch {
    return null;
  }
}

export async function run(): Promise<void> {
  if (!tryLoadAddon()) {
    console.log('native-gemm: native addon not built; skipped');
    return;
  }
  const addon = loadAddon();
  const variants = addon.info().supported;
  const ghz = nominalGHz();
  console.log(`native-gemm: variants ${variants.join(', ')}; nominal clock ${ghz ?? '?'} GHz`);
  const rows: Record<string, string | number>[] = [];
  try {
    for (const s of SHAPES) {
      const rng = new Rng(3);
      const a = randomArray(s.M * s.K, rng), b = randomArray(s.K * s.N, rng), c = new Float32Array(s.M * s.N);
      const gflops: Partial<Record<IsaVariant, number>> = {};
      for (const v of variants) {
        addon.setVariant(v);
        const ms = await meanMs(() => addon.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, a, b, 0, c), 300, 10, 3);
        gflops[v] = (2 * s.M * s.N * s.K) / (ms * 1e6);
      }
      for (const v of variants) {
        const g = gflops[v]!;
        const peak = PEAK_FLOPS_PER_CYCLE[v];
        rows.push({
          shape: s.label,
          variant: v,
          'GFLOP/s': +g.toFixed(1),
          'of peak': peak && ghz ? `${((100 * g) / (peak * ghz)).toFixed(0)}%` : '—',
          'vs baseline': +(g / gflops.baseline!).toFixed(2),
        });
      }
    }
  } finally {
    addon.setVariant(variants[0]);
  }
  console.table(rows);
}
