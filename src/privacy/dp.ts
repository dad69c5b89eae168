// Client-level differential privacy for federated averaging (DP-FedAvg, McMahan et al. 2018): the parts of
// the mechanism, independent of the run loop.
//
// Central mode: each client's model delta is clipped to L2 norm C; the server sums the clipped deltas, adds
// N(0, σ²C²) to every coordinate of the sum and divides by the expected cohort size m = qN (the fixed-
// denominator estimator, whose sensitivity is C/m whoever is sampled). Adaptive clipping (Andrew et al.
// 2021, "Differentially private learning with adaptive clipping"): each client also reports
// b = [‖Δ‖ ≤ C]; the server estimates the unclipped fraction b̄ = (Σb + N(0, σ_b²))/m and moves C
// geometrically towards the target quantile γ: C ← C·exp(−η(b̄ − γ)). Spending part of the budget on the
// count, the delta gets noise multiplier σ_Δ = (σ⁻² − (2σ_b)⁻²)^(−1/2), so that the pair is as private as one
// Gaussian mechanism with multiplier σ (their Theorem 1) and the accountant tracks σ alone.
//
// Local mode: each client clips and adds N(0, σ²C²) itself; the server averages what it receives.
import { clipByNorm } from '../aggregate/norms.js';
import type { Rng } from '../random.js';

export type ClipRule =
  | { readonly kind: 'fixed'; readonly norm: number }
  /** Andrew et al.: target quantile γ, initial norm, geometric learning rate η, count noise σ_b (absolute). */
  | { readonly kind: 'adaptive'; readonly quantile: number; readonly initialNorm: number; readonly learningRate: number; readonly countNoise: number | null };

/** Andrew et al.'s defaults: C₀ = 0.1, η = 0.2, σ_b = m/20 (at least σ here, see ClipNorm.countNoise). */
export const ADAPTIVE_DEFAULTS = { initialNorm: 0.1, learningRate: 0.2, countNoiseFraction: 1 / 20 } as const;

/** x[P] += N(0, std²) per coordinate. */
export function addGaussianNoise(x: Float32Array | Float64Array, std: number, rng: Rng): void {
  if (!(std >= 0) || !Number.isFinite(std)) throw new Error(`addGaussianNoise: std must be a finite number ≥ 0, got ${std}`);
  if (std === 0) return;
  for (let i = 0; i < x.length; i++) x[i] += rng.normal(0, std);
}

/**
 * The delta's noise multiplier when the clipped-count estimate takes noise σ_b and the pair must be as
 * private as one Gaussian mechanism with multiplier σ: σ_Δ = (σ⁻² − (2σ_b)⁻²)^(−1/2); needs σ_b > σ/2.
 */
export function deltaNoiseMultiplier(sigma: number, countNoise: number): number {
  if (sigma === 0) return 0;
  const rest = sigma ** -2 - (2 * countNoise) ** -2;
  if (!(rest > 0)) {
    throw new Error(`adaptive clipping: the count noise σ_b = ${countNoise} must exceed σ/2 = ${sigma / 2} (raise σ_b or lower the noise)`);
  }
  return rest ** -0.5;
}

/** The clip norm of one run: fixed, or adapted after every round from the noisy unclipped fraction. */
export class ClipNorm {
  private norm: number;

  constructor(readonly rule: ClipRule) {
    this.norm = rule.kind === 'fixed' ? rule.norm : rule.initialNorm;
    if (!(this.norm > 0) || !Number.isFinite(this.norm)) throw new Error(`dp: clip norm must be a finite number > 0, got ${this.norm}`);
    if (rule.kind === 'adaptive' && !(rule.quantile >= 0 && rule.quantile <= 1)) throw new Error(`dp: adaptive clipping quantile must be in [0, 1], got ${rule.quantile}`);
  }

  get value(): number {
    return this.norm;
  }

  /**
   * Count noise σ_b for an expected cohort m (absolute, in clients) and the run's σ: given, else Andrew et
   * al.'s m/20 — raised to σ for small cohorts, since the split needs σ_b > σ/2 (σ_b = σ costs the delta
   * a factor 2/√3 ≈ 1.15 in noise).
   */
  countNoise(expectedCohort: number, sigma: number): number {
    if (this.rule.kind !== 'adaptive') return 0;
    return this.rule.countNoise ?? Math.max(expectedCohort * ADAPTIVE_DEFAULTS.countNoiseFraction, sigma);
  }

  /** After a round: `unclipped` clients of expected cohort m had ‖Δ‖ ≤ C; returns the noisy fraction used. */
  update(unclipped: number, expectedCohort: number, sigma: number, rng: Rng): number {
    if (this.rule.kind !== 'adaptive') return NaN;
    const fraction = (unclipped + rng.normal(0, this.countNoise(expectedCohort, sigma))) / expectedCohort;
    this.norm *= Math.exp(-this.rule.learningRate * (fraction - this.rule.quantile));
    return fraction;
  }

  /** For checkpoints. */
  restore(norm: number): void {
    if (!(norm > 0) || !Number.isFinite(norm)) throw new Error(`dp: restored clip norm must be > 0, got ${norm}`);
    this.norm = norm;
  }
}

/** What the server learns about the clipping of a round. */
export interface ClipStats {
  /** Clients whose delta was within the clip norm. */
  readonly unclipped: number;
  readonly clients: number;
}

/**
 * The central-DP sum of one round: clipped deltas accumulated in float64, then noised and divided by the
 * expected cohort size.
 */
export class ClippedSum {
  private readonly sum: Float64Array;
  private count = 0;
  private unclipped = 0;

  constructor(readonly length: number, readonly clip: number) {
    this.sum = new Float64Array(length);
  }

  /** Clips `delta` in place to ‖·‖ ≤ C and adds it; returns its norm before clipping. */
  add(delta: Float32Array): number {
    if (delta.length !== this.length) throw new Error(`dp: update has ${delta.length} values, expected ${this.length}`);
    const norm = clipByNorm(delta, this.clip);
    for (let i = 0; i < delta.length; i++) this.sum[i] += delta[i];
    this.count++;
    if (norm <= this.clip) this.unclipped++;
    return norm;
  }

  /** Adds an already-clipped sum of `clients` deltas (e.g. the unmasked secure sum) with its clip statistics. */
  addSum(sum: Float32Array, stats: ClipStats): void {
    if (sum.length !== this.length) throw new Error(`dp: sum has ${sum.length} values, expected ${this.length}`);
    for (let i = 0; i < sum.length; i++) this.sum[i] += sum[i];
    this.count += stats.clients;
    this.unclipped += stats.unclipped;
  }

  get stats(): ClipStats {
    return { unclipped: this.unclipped, clients: this.count };
  }

  /** (Σ clipped + N(0, (σC)²)) / m into out[P]. */
  noisyMean(noiseMultiplier: number, expectedCohort: number, rng: Rng, out: Float32Array = new Float32Array(this.length)): Float32Array {
    if (!(expectedCohort > 0)) throw new Error(`dp: expected cohort size must be > 0, got ${expectedCohort}`);
    addGaussianNoise(this.sum, noiseMultiplier * this.clip, rng);
    for (let i = 0; i < this.length; i++) out[i] = this.sum[i] / expectedCohort;
    return out;
  }
}

/** Local DP: a client clips its own delta to C and adds N(0, (σC)²) before it leaves the client. */
export function privatizeLocally(delta: Float32Array, clip: number, noiseMultiplier: number, rng: Rng): number {
  const norm = clipByNorm(delta, clip);
  addGaussianNoise(delta, noiseMultiplier * clip, rng);
  return norm;
}
