// The privacy options of a run as a user gives them (config `dp` / `secagg`, CLI --dp-* / --secagg-*),
// validated with one-line errors, and resolved at the start of a run — when the population N is known —
// into the settings the aggregator uses (σ from a target ε, the default δ).
import { defaultDelta, noiseForTarget, type DpMode } from './accounting.js';
import { ADAPTIVE_DEFAULTS, type ClipRule } from './dp.js';
import type { DpSettings, PrivacySettings, SecAggSettings } from './private-aggregator.js';

/** `dp` as configured: the clip rule, and σ directly or a target ε. */
export interface DpConfig {
  readonly mode: DpMode;
  readonly clip: ClipRule;
  /** σ (noise multiplier), or null when `epsilon` picks it. */
  readonly noise: number | null;
  /** Target ε at the end of the planned rounds, or null when `noise` is given. */
  readonly epsilon: number | null;
  /** δ, or null for the default min(1e−5, N^−1.1). */
  readonly delta: number | null;
}

export interface SecAggConfig {
  /** SecAgg+ neighbours; null = 3⌈log₂ n⌉ (even, ≤ n − 1). */
  readonly neighbors: number | null;
  /** Shares to rebuild a secret: an integer count, or a fraction in (0, 1) of the k + 1 holders; null = majority. */
  readonly threshold: number | null;
  /** Simulated dropout after key sharing, in [0, 1). */
  readonly dropout: number;
  /** Fixed-point range without DP (coordinates of the sample-weighted delta are clipped to ±range). */
  readonly range: number;
}

function fail(field: string, rule: string, value: unknown): never {
  throw new Error(`config: ${field} must be ${rule}, got ${JSON.stringify(value) ?? String(value)}`);
}

function positive(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) fail(field, 'a finite number > 0', v);
  return v;
}

/** 'adaptive:<quantile>', a norm > 0, or an already-parsed rule (a resolved config read back). */
export function parseClip(field: string, v: unknown): ClipRule {
  if (typeof v === 'number') return { kind: 'fixed', norm: positive(field, v) };
  if (v !== null && typeof v === 'object') {
    const r = v as Record<string, unknown>;
    if (r.kind === 'fixed') return { kind: 'fixed', norm: positive(`${field}.norm`, r.norm) };
    if (r.kind === 'adaptive') {
      const rule = parseClip(field, `adaptive:${String(r.quantile)}`) as Extract<ClipRule, { kind: 'adaptive' }>;
      return {
        ...rule, initialNorm: positive(`${field}.initialNorm`, r.initialNorm ?? rule.initialNorm), learningRate: positive(`${field}.learningRate`, r.learningRate ?? rule.learningRate),
        countNoise: r.countNoise === undefined || r.countNoise === null ? null : positive(`${field}.countNoise`, r.countNoise),
      };
    }
  }
  if (typeof v === 'string') {
    const m = /^adaptive:(.+)$/.exec(v);
    if (m) {
      const q = Number(m[1]);
      if (!(q > 0 && q < 1)) fail(field, "'adaptive:<quantile>' with a quantile in (0, 1)", v);
      return { kind: 'adaptive', quantile: q, initialNorm: ADAPTIVE_DEFAULTS.initialNorm, learningRate: ADAPTIVE_DEFAULTS.learningRate, countNoise: null };
    }
    if (v.trim() !== '' && Number.isFinite(Number(v))) return { kind: 'fixed', norm: positive(field, Number(v)) };
  }
  return fail(field, "a clip norm > 0 or 'adaptive:<quantile>'", v);
}

const DP_KEYS = ['mode', 'clip', 'noise', 'epsilon', 'delta'];
const SECAGG_KEYS = ['neighbors', 'threshold', 'dropout', 'range'];

function onlyKeys(field: string, raw: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(raw)) if (raw[k] !== undefined && !known.includes(k)) throw new Error(`config: ${field}.${k} is not an option (known: ${known.join(', ')})`);
}

/** `dp` config: null/undefined = off. */
export function parseDpConfig(raw: unknown): DpConfig | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('dp', 'an object { clip, noise | epsilon, mode?, delta? } or null', raw);
  const r = raw as Record<string, unknown>;
  onlyKeys('dp', r, DP_KEYS);
  const mode = r.mode ?? 'central';
  if (mode !== 'central' && mode !== 'local') fail('dp.mode', "'central' or 'local'", mode);
  if (r.clip === undefined) throw new Error("config: dp.clip is required (a clip norm or 'adaptive:<quantile>')");
  const clip = parseClip('dp.clip', r.clip);
  if (mode === 'local' && clip.kind === 'adaptive') throw new Error('config: dp.clip adaptive needs the central mode (the server adapts the norm from all clients)');
  const noise = r.noise === undefined || r.noise === null ? null : r.noise === 0 ? 0 : positive('dp.noise', r.noise);
  const epsilon = r.epsilon === undefined || r.epsilon === null ? null : positive('dp.epsilon', r.epsilon);
  if ((noise === null) === (epsilon === null)) throw new Error('config: dp needs exactly one of noise (σ) and epsilon (a target ε)');
  let delta: number | null = null;
  if (r.delta !== undefined && r.delta !== null) {
    if (typeof r.delta !== 'number' || !(r.delta > 0 && r.delta < 1)) fail('dp.delta', 'in (0, 1)', r.delta);
    delta = r.delta;
  }
  return { mode, clip, noise, epsilon, delta };
}

/** `secagg` config: null/undefined/false = off, true = defaults. */
export function parseSecAggConfig(raw: unknown): SecAggConfig | null {
  if (raw === undefined || raw === null || raw === false) return null;
  const r = (raw === true ? {} : raw) as Record<string, unknown>;
  if (typeof r !== 'object' || Array.isArray(r)) fail('secagg', 'true, an object { neighbors?, threshold?, dropout?, range? } or null', raw);
  onlyKeys('secagg', r, SECAGG_KEYS);
  let neighbors: number | null = null;
  if (r.neighbors !== undefined && r.neighbors !== null) {
    if (typeof r.neighbors !== 'number' || !Number.isInteger(r.neighbors) || r.neighbors < 1) fail('secagg.neighbors', 'an integer ≥ 1', r.neighbors);
    neighbors = r.neighbors;
  }
  let threshold: number | null = null;
  if (r.threshold !== undefined && r.threshold !== null) {
    const t = r.threshold;
    if (typeof t !== 'number' || !(t > 0) || (t >= 1 && !Number.isInteger(t))) fail('secagg.threshold', 'an integer ≥ 1 or a fraction in (0, 1)', t);
    threshold = t;
  }
  const dropout = r.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail('secagg.dropout', 'in [0, 1)', dropout);
  const range = r.range === undefined ? 1 : positive('secagg.range', r.range);
  return { neighbors, threshold, dropout, range };
}

/** What resolving needs to know about the run. */
export interface PlannedRun {
  readonly rounds: number;
  /** q: each client joins a round with this probability under DP. */
  readonly clientRate: number;
  /** N, the number of training clients. */
  readonly population: number;
}

export function resolveDp(dp: DpConfig, run: PlannedRun): DpSettings {
  const delta = dp.delta ?? defaultDelta(run.population);
  const noiseMultiplier = dp.noise ?? noiseForTarget(dp.mode, dp.epsilon!, run.clientRate, run.rounds, delta);
  return { mode: dp.mode, clip: dp.clip, noiseMultiplier, delta, targetEpsilon: dp.epsilon };
}

export function resolvePrivacy(dp: DpConfig | null, secagg: SecAggConfig | null, run: PlannedRun): PrivacySettings {
  return { dp: dp ? resolveDp(dp, run) : null, secagg: secagg satisfies SecAggSettings | null };
}
