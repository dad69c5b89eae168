// Rényi differential privacy of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
// "Rényi Differential Privacy of the Sampled Gaussian Mechanism", §3.3), its composition over steps, and the
// (ε, δ) conversion of Balle et al. 2020 ("Hypothesis testing interpretations and Rényi DP", Thm 21), as
// Opacus and TF Privacy compute them.
//
// The mechanism: each record (here: each client) joins a step with probability q; the sum of the joined
// contributions, each of L2 norm ≤ C, gets N(0, σ²C²) noise. With μ0 = N(0, σ²), μ1 = N(1, σ²) and
// μ = (1−q)μ0 + qμ1, its RDP at order α is
//     RDP(α) = log(A_α) / (α − 1),   A_α = E_{z∼μ0}[(μ(z)/μ0(z))^α]
// (the paper shows this direction dominates the reverse one). Integer α: the binomial expansion
//     A_α = Σ_{i=0..α} C(α,i) (1−q)^(α−i) q^i exp((i² − i)/(2σ²)).
// Fractional α: the two convergent series of §3.3 with erfc tails, summed until the terms fall below e^−30
// of the total's scale. Everything is in log space so that α up to 1024 and q near 1 do not overflow.
import { logAdd, logErfc, logSub } from './log-math.js';

/**
 * The default order grid: 1.1…10.9 in steps of 0.1, 11…63, then 64…1024 in growing steps. Opacus's grid
 * extended past 256 so that small-σ, many-step runs still find their optimal order inside the grid.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => Math.round((1.1 + k * 0.1) * 10) / 10),
  ...Array.from({ length: 53 }, (_, k) => 11 + k),
  64, 72, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 512, 768, 1024,
]);

function checkMechanism(q: number, sigma: number, where: string): void {
  if (!(q >= 0 && q <= 1)) throw new Error(`${where}: sampling rate q must be in [0, 1], got ${q}`);
  if (!(sigma >= 0) || Number.isNaN(sigma)) throw new Error(`${where}: noise multiplier σ must be ≥ 0, got ${sigma}`);
}

/** log A_α for integer α ≥ 2 by the binomial expansion. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logA = -Infinity;
  let logBinom = 0; // log C(α, i)
  for (let i = 0; i <= alpha; i++) {
    const term = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
    logBinom += Math.log(alpha - i) - Math.log(i + 1);
  }
  return logA;
}

/** log A_α for fractional α > 1: Mironov et al. 2019 §3.3, the series split at z0 = σ² log(1/q − 1) + 1/2. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const s2 = sigma * Math.SQRT2;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let logAbsBinom = 0; // log |C(α, i)|
  let binomSign = 1;
  for (let i = 0; ; i++) {
    const j = alpha - i;
    const logT0 = logAbsBinom + i * logQ + j * log1mQ;
    const logT1 = logAbsBinom + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / s2);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / s2);
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (binomSign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30 && i > alpha) break;
    if (i > 100_000) throw new Error(`rdp: the series for α = ${alpha}, q = ${q}, σ = ${sigma} did not converge`);
    // C(α, i+1) = C(α, i)·(α − i)/(i + 1): the sign flips each time α − i is negative.
    if (j < 0) binomSign = -binomSign;
    logAbsBinom += Math.log(Math.abs(j)) - Math.log(i + 1);
  }
  return logAdd(logA0, logA1);
}

/** RDP at order α > 1 of one step of the Poisson-subsampled Gaussian mechanism with rate q and noise multiplier σ. */
export function rdpSampledGaussian(q: number, sigma: number, alpha: number): number {
  checkMechanism(q, sigma, 'rdpSampledGaussian');
  if (!(alpha > 1) || !Number.isFinite(alpha)) throw new Error(`rdpSampledGaussian: order α must be a finite number > 1, got ${alpha}`);
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP over `orders` of `steps` compositions of the mechanism (RDP adds up over adaptive compositions). */
export function rdpComposed(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): Float64Array {
  if (!(steps >= 0) || !Number.isInteger(steps)) throw new Error(`rdpComposed: steps must be an integer ≥ 0, got ${steps}`);
  return Float64Array.from(orders, (a) => (steps === 0 ? 0 : steps * rdpSampledGaussian(q, sigma, a)));
}

export interface PrivacySpent {
  readonly epsilon: number;
  /** The order at which the conversion is tightest. */
  readonly order: number;
}

/**
 * (ε, δ) from RDP curve values: Balle et al. 2020, Theorem 21,
 *     ε = RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1),
 * minimised over the grid (never below 0). The optimum on the grid's last order means the grid is too short.
 */
export function epsilonFromRdp(orders: readonly number[], rdp: ArrayLike<number>, delta: number): PrivacySpent {
  if (!(delta > 0 && delta < 1)) throw new Error(`epsilonFromRdp: δ must be in (0, 1), got ${delta}`);
  if (orders.length !== rdp.length || orders.length === 0) throw new Error(`epsilonFromRdp: ${orders.length} orders but ${rdp.length} RDP values`);
  let best: PrivacySpent = { epsilon: Infinity, order: NaN };
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k];
    const r = rdp[k];
    if (!(a > 1)) throw new Error(`epsilonFromRdp: order ${a} is not > 1`);
    if (!(r >= 0)) throw new Error(`epsilonFromRdp: RDP at order ${a} is ${r}, expected ≥ 0`);
    const eps = r + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  }
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/** ε after `steps` steps at rate q and noise multiplier σ, for a given δ. */
export function epsilonSampledGaussian(q: number, sigma: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): PrivacySpent {
  return epsilonFromRdp(orders, rdpComposed(q, sigma, steps, orders), delta);
}

/**
 * The smallest noise multiplier σ (to a relative 1e−4) whose `steps` steps at rate q end at ε ≤ target for δ:
 * ε is decreasing in σ, so a doubling bracket then bisection.
 */
export function noiseForEpsilon(targetEpsilon: number, q: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon)) throw new Error(`noiseForEpsilon: target ε must be a finite number > 0, got ${targetEpsilon}`);
  checkMechanism(q, 1, 'noiseForEpsilon');
  if (q === 0 || steps === 0) return 0;
  const eps = (sigma: number): number => epsilonSampledGaussian(q, sigma, steps, delta, orders).epsilon;
  let hi = 1;
  while (eps(hi) > targetEpsilon) {
    hi *= 2;
    if (hi > 1e6) throw new Error(`noiseForEpsilon: no σ ≤ 1e6 reaches ε = ${targetEpsilon} over ${steps} steps at q = ${q}, δ = ${delta}`);
  }
  let lo = hi / 2;
  if (eps(lo) <= targetEpsilon) lo = 0;
  while (hi - lo > 1e-4 * hi) {
    const mid = (lo + hi) / 2;
    if (eps(mid) <= targetEpsilon) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Tracks the RDP curve of a training run whose steps may change q or σ (adaptive clipping spends part of the
 * budget on its own noisy count): `step` adds one or more steps, `spent` converts the running total.
 */
export class RdpAccountant {
  readonly orders: readonly number[];
  private readonly rdp: Float64Array;
  private steps = 0;

  constructor(orders: readonly number[] = DEFAULT_ORDERS) {
    if (orders.length === 0 || orders.some((a) => !(a > 1) || !Number.isFinite(a))) throw new Error('RdpAccountant: every order must be a finite number > 1');
    this.orders = [...orders];
    this.rdp = new Float64Array(orders.length);
  }

  /** Adds `count` steps of the sampled Gaussian mechanism with rate q and noise multiplier σ. */
  step(q: number, sigma: number, count = 1): void {
    const add = rdpComposed(q, sigma, count, this.orders);
    for (let k = 0; k < add.length; k++) this.rdp[k] += add[k];
    this.steps += count;
  }

  /** Adds an arbitrary RDP curve (one value per order), e.g. of a Gaussian count with a different σ. */
  addCurve(curve: ArrayLike<number>): void {
    if (curve.length !== this.rdp.length) throw new Error(`RdpAccountant.addCurve: ${curve.length} values for ${this.rdp.length} orders`);
    for (let k = 0; k < curve.length; k++) this.rdp[k] += curve[k];
  }

  get totalSteps(): number {
    return this.steps;
  }

  spent(delta: number): PrivacySpent {
    return epsilonFromRdp(this.orders, this.rdp, delta);
  }

  /** The running RDP curve (for checkpoints). */
  curve(): Float64Array {
    return this.rdp.slice();
  }

  /** Restores a curve saved by `curve()` with the step count it covered. */
  restore(curve: ArrayLike<number>, steps: number): void {
    if (curve.length !== this.rdp.length) throw new Error(`RdpAccountant.restore: ${curve.length} values for ${this.rdp.length} orders`);
    this.rdp.set(curve);
    this.steps = steps;
  }
}
