// The round aggregator of a private run: DP-FedAvg (central or local), secure aggregation, or both.
//
// What each side does, for one round with cohort S (the clients sampled this round):
//   client side  clip Δ to ‖Δ‖ ≤ C (DP) · add N(0, σ²C²) (local DP) · fixed-point encode and mask (SecAgg)
//   server side  sum (plain, or the masked sum unmasked by SecAgg) · add N(0, σ²C²) (central DP) · divide:
//                central DP by the expected cohort m = qN, local DP by the number of updates, plain SecAgg
//                by the securely summed weights.
// Without DP, SecAgg keeps FedAvg's sample weighting: a client sends (w/W)·Δ and w/W, W = the weight cap (a
// public bound on sample counts). With adaptive clipping each client also sends b = [‖Δ‖ ≤ C] (summed in the
// clear, or as one more masked coordinate under SecAgg).
// The "client side" runs here on the main thread when the client's update arrives — the simulator's
// stand-in for the client's device; the server side only touches sums (and, with SecAgg, masked vectors).
import type { ClientUpdate, RoundMeans } from '../fl/strategy.js';
import { Rng } from '../random.js';
import { decodeFixedSum, encodeFixed, fixedPoint, type FixedPoint } from '../secagg/fixed-point.js';
import { SecAggAbort } from '../secagg/protocol.js';
import { SecAggSession } from '../secagg/session.js';
import { clipByNorm } from '../aggregate/norms.js';
import type { RunPrivacy } from './accounting.js';
import { ClipNorm, ClippedSum, addGaussianNoise, deltaNoiseMultiplier, type ClipRule } from './dp.js';
import type { DpMode } from './accounting.js';

export interface DpSettings {
  readonly mode: DpMode;
  readonly clip: ClipRule;
  /** σ of the whole mechanism (the accountant's); with adaptive clipping the delta gets σ_Δ ≥ σ. */
  readonly noiseMultiplier: number;
  readonly delta: number;
  /** The target ε σ was derived from, or null when σ was given. */
  readonly targetEpsilon: number | null;
}

export interface SecAggSettings {
  /** SecAgg+ neighbours per client; null = defaultNeighbors(cohort). */
  readonly neighbors: number | null;
  /** Shares needed to rebuild a secret: a count, or a fraction in (0, 1) of the k + 1 holders; null = a strict majority. */
  readonly threshold: number | null;
  /** Probability that a client vanishes after sharing its keys, before sending its masked input. */
  readonly dropout: number;
  /** Fixed-point range without DP: each coordinate of (w/W)·Δ is clipped to [−range, range]. */
  readonly range: number;
}

export interface PrivacySettings {
  readonly dp: DpSettings | null;
  readonly secagg: SecAggSettings | null;
}

/** State that lives across rounds: the clip norm, the accountant, the seed of the noise streams. */
export class PrivacyState {
  readonly clip: ClipNorm | null;

  constructor(readonly settings: PrivacySettings, readonly accountant: RunPrivacy | null, readonly seed: number) {
    this.clip = settings.dp ? new ClipNorm(settings.dp.clip) : null;
  }
}

/** What a round reports in metrics.jsonl. */
export interface PrivacyRoundReport {
  epsilon?: number;
  delta?: number;
  /** The clip norm of this round, and of the next (adaptive clipping moves it). */
  clipNorm?: number;
  nextClipNorm?: number;
  /** The noisy unclipped fraction that moved an adaptive clip norm. */
  unclippedFraction?: number;
  /** Local DP: the clients whose noised updates were released (the per-client accounting replays them on resume). */
  contributors?: number[];
  secagg?: {
    survivors: number;
    /** Simulated dropouts plus clients whose training failed. */
    dropped: number;
    neighbors: number;
    threshold: number;
    /** Coordinates clipped by the fixed-point range (no DP). */
    clippedCoordinates: number;
    /** Mean protocol bytes per surviving client (beyond the float32-sized masked vector and the model). */
    overheadBytesPerClient: number;
    clientCpuMs: number;
    serverCpuMs: number;
    aborted?: string;
  };
}

export interface PrivateRoundOptions {
  readonly round: number;
  /** The round's sampled clients, ascending. */
  readonly cohort: Int32Array;
  readonly numParams: number;
  /** Expected cohort size m = qN (central DP's denominator). */
  readonly expectedCohort: number;
  /** Public bound on an update's sample count (SecAgg without DP). */
  readonly weightCap: number;
  /** One-line notices. */
  readonly log: (line: string) => void;
}

export class PrivateRoundAggregator {
  private readonly dp: DpSettings | null;
  private readonly clipNorm: number;
  private readonly plainSum: ClippedSum | null = null;
  private readonly session: SecAggSession | null = null;
  private readonly fixed: FixedPoint | null = null;
  private readonly partyOf = new Map<number, number>();
  private readonly vanished = new Set<number>();
  private readonly clientRng: Rng;
  /** Coordinates appended to the delta under SecAgg: the weight (no DP) or the unclipped bit (adaptive). */
  private readonly extra: 'weight' | 'unclipped' | null;
  private added = 0;
  /** Clients whose update went into the sum, in arrival order. */
  private readonly contributors: number[] = [];
  private unclippedClear = 0;
  private clippedCoordinates = 0;
  private result: RoundMeans | null = null;
  /** Why SecAgg could not even be set up for this cohort (the round then aborts). */
  private setupFailure: string | null = null;
  readonly privacyReport: PrivacyRoundReport = {};

  constructor(private readonly state: PrivacyState, private readonly options: PrivateRoundOptions) {
    const { settings } = state;
    const P = options.numParams;
    this.dp = settings.dp;
    this.clipNorm = state.clip?.value ?? NaN;
    const root = new Rng(state.seed).fork(`privacy/${options.round}`);
    this.clientRng = root.fork('clients');
    this.extra = settings.secagg ? (this.dp ? (this.dp.clip.kind === 'adaptive' ? 'unclipped' : null) : 'weight') : null;
    if (settings.secagg) {
      const n = options.cohort.length;
      const width = P + (this.extra ? 1 : 0);
      const range = this.dp ? this.secAggRange() : settings.secagg.range;
      this.fixed = fixedPoint(range, Math.max(1, n));
      if (n > 0) {
        try {
          this.session = new SecAggSession({
            parties: n, length: width, rng: root.fork('graph'),
            ...(settings.secagg.neighbors !== null ? { neighbors: settings.secagg.neighbors } : {}),
            ...(settings.secagg.threshold !== null ? { threshold: settings.secagg.threshold } : {}),
          });
        } catch (e) {
          // E.g. a threshold above a small (Poisson-sampled) cohort's share holders: this round cannot run.
          this.setupFailure = `secure aggregation aborted: cohort of ${n}: ${(e as Error).message.replace(/^secagg: /, '')}`;
        }
      }
      options.cohort.forEach((client, party) => this.partyOf.set(client, party));
      const drops = root.fork('dropout');
      for (const client of options.cohort) if (drops.bernoulli(settings.secagg.dropout)) this.vanished.add(client);
    } else if (this.dp) {
      this.plainSum = new ClippedSum(P, this.clipNorm);
    } else {
      throw new Error('PrivateRoundAggregator: neither DP nor secure aggregation is enabled');
    }
  }

  /** Fixed-point range under DP: C bounds every coordinate of a clipped delta; local noise adds up to 8σC. */
  private secAggRange(): number {
    const dp = this.dp!;
    return dp.mode === 'local' ? this.clipNorm * (1 + 8 * dp.noiseMultiplier) : this.clipNorm;
  }

  /** A client's update arrives: the client-side steps, then the server's part. */
  add(update: ClientUpdate, weight: number): void {
    if (this.result) throw new Error('private aggregator: the round is already closed');
    const delta = Float32Array.from(update.delta);
    let unclipped = 0;
    if (this.dp) {
      const norm = clipByNorm(delta, this.clipNorm);
      unclipped = norm <= this.clipNorm ? 1 : 0;
      if (this.dp.mode === 'local') addGaussianNoise(delta, this.dp.noiseMultiplier * this.clipNorm, this.clientRng.fork(update.clientId));
    }
    if (this.setupFailure) return;
    if (this.session) {
      const party = this.partyOf.get(update.clientId);
      if (party === undefined) throw new Error(`private aggregator: client ${update.clientId} is not in round ${this.options.round}'s cohort`);
      if (this.vanished.has(update.clientId)) return; // dropped out after ShareKeys
      const width = delta.length + (this.extra ? 1 : 0);
      const plain = new Float32Array(width);
      const range = this.fixed!.range;
      if (this.extra === 'weight') {
        if (!(weight >= 0 && weight <= this.options.weightCap)) throw new Error(`secagg: client ${update.clientId}'s weight ${weight} is outside [0, ${this.options.weightCap}] (the weight cap)`);
        const w = weight / this.options.weightCap;
        for (let i = 0; i < delta.length; i++) plain[i] = w * delta[i];
        plain[delta.length] = w * range;
      } else {
        plain.set(delta);
        if (this.extra === 'unclipped') plain[delta.length] = unclipped * range;
      }
      const encoded = new Uint32Array(width);
      this.clippedCoordinates += encodeFixed(plain, this.fixed!, encoded);
      this.session.submit(party, encoded);
    } else {
      this.plainSum!.addSum(delta, { unclipped, clients: 1 });
      this.unclippedClear += unclipped;
    }
    this.added++;
    this.contributors.push(update.clientId);
  }

  /** Updates in the round's sum; closes the round (SecAgg unmasks), 0 when the protocol aborted. */
  get participants(): number {
    return this.close().participants;
  }

  means(): RoundMeans {
    return this.close();
  }

  private close(): RoundMeans {
    if (this.result) return this.result;
    const P = this.options.numParams;
    let sum: Float32Array | null = null;
    if (this.setupFailure) {
      this.options.log(`round ${this.options.round}: ${this.setupFailure}`);
      this.privacyReport.secagg = {
        survivors: 0, dropped: this.options.cohort.length, neighbors: 0, threshold: 0, clippedCoordinates: 0,
        overheadBytesPerClient: 0, clientCpuMs: 0, serverCpuMs: 0, aborted: this.setupFailure,
      };
      this.result = { delta: new Float32Array(P), extras: {}, participants: 0, totalWeight: 0 };
      return this.result;
    }
    let unclipped = this.unclippedClear;
    let sumWeight = 0;
    if (this.session) {
      const silent = this.options.cohort.length - this.added;
      const base = {
        survivors: this.added, dropped: silent, neighbors: this.session.neighbors, threshold: this.session.params.threshold,
        clippedCoordinates: this.clippedCoordinates,
      };
      let unmasked: Uint32Array;
      try {
        unmasked = this.session.finish();
      } catch (e) {
        if (!(e instanceof SecAggAbort)) throw e;
        this.options.log(`round ${this.options.round}: ${e.message}`);
        this.privacyReport.secagg = { ...base, overheadBytesPerClient: 0, clientCpuMs: 0, serverCpuMs: this.session.cpu.serverMs, aborted: e.message };
        this.result = { delta: new Float32Array(P), extras: {}, participants: 0, totalWeight: 0 };
        return this.result;
      }
      const decoded = decodeFixedSum(unmasked, this.fixed!, new Float32Array(unmasked.length));
      sum = decoded.subarray(0, P);
      if (this.extra === 'unclipped') unclipped = Math.round(decoded[P] / this.fixed!.range);
      if (this.extra === 'weight') sumWeight = (decoded[P] / this.fixed!.range) * this.options.weightCap;
      // Overhead per surviving client: every protocol byte except the masked vector's float32-sized payload.
      let overhead = 0;
      let clientMs = 0;
      for (const client of this.contributors) {
        const party = this.partyOf.get(client)!;
        const t = this.session.traffic[party];
        overhead += t.up + t.down - 4 * P;
        clientMs += this.session.cpu.clientMs[party];
      }
      const k = Math.max(1, this.added);
      this.privacyReport.secagg = { ...base, overheadBytesPerClient: Math.round(overhead / k), clientCpuMs: clientMs / k, serverCpuMs: this.session.cpu.serverMs };
    }
    const stats = { unclipped, clients: this.added };
    let mean: Float32Array;
    if (!this.dp) {
      // SecAgg alone: Σ(w/W)Δ / Σ(w/W).
      const norm = sumWeight / this.options.weightCap;
      mean = Float32Array.from(sum!, (v) => (norm > 0 ? v / norm : 0));
    } else {
      const dp = this.dp;
      const noiseRng = new Rng(this.state.seed).fork(`privacy/${this.options.round}`).fork('server-noise');
      const total = this.plainSum ?? new ClippedSum(P, this.clipNorm);
      if (sum) total.addSum(sum, stats);
      if (dp.mode === 'central') {
        const sigmaDelta = dp.clip.kind === 'adaptive'
          ? deltaNoiseMultiplier(dp.noiseMultiplier, this.state.clip!.countNoise(this.options.expectedCohort, dp.noiseMultiplier))
          : dp.noiseMultiplier;
        mean = total.noisyMean(sigmaDelta, this.options.expectedCohort, noiseRng);
      } else {
        mean = total.noisyMean(0, Math.max(1, this.added), noiseRng);
      }
      this.privacyReport.clipNorm = this.clipNorm;
      if (dp.clip.kind === 'adaptive') {
        const m = dp.mode === 'central' ? this.options.expectedCohort : Math.max(1, this.added);
        this.privacyReport.unclippedFraction = this.state.clip!.update(unclipped, m, dp.noiseMultiplier, noiseRng.fork('count'));
      }
      this.privacyReport.nextClipNorm = this.state.clip!.value;
      this.state.accountant!.recordRound(this.contributors);
      if (dp.mode === 'local') this.privacyReport.contributors = [...this.contributors];
      const spent = this.state.accountant!.spent();
      this.privacyReport.epsilon = spent.epsilon;
      this.privacyReport.delta = dp.delta;
    }
    this.result = { delta: mean, extras: {}, participants: this.added, totalWeight: this.dp ? this.added : sumWeight };
    return this.result;
  }
}
