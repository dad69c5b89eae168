// The privacy guarantee of a DP-FedAvg run, round by round, from the RDP accountant.
//
// Central mode: one step per round of the Poisson-subsampled Gaussian mechanism with rate q (the client
// sampling rate: each client joins a round independently with probability q) and noise multiplier σ;
// neighbouring datasets differ by adding or removing one client's data (client-level DP).
// Local mode: what a single client's released updates reveal to the server about its data, whatever the
// server does: each update is a Gaussian mechanism with sensitivity 2C (the client's data replaced) and
// noise σC, i.e. multiplier σ/2, without amplification (the server knows who took part); composed over
// the rounds of the client that took part most often so far.
import { DEFAULT_ORDERS, RdpAccountant, epsilonFromRdp, noiseForEpsilon, rdpComposed, type PrivacySpent } from './rdp.js';

export type DpMode = 'central' | 'local';

/** δ when none is given: 1e−5, or 1/N^1.1 when that is smaller (so δ < 1/N for any population). */
export function defaultDelta(population: number): number {
  return Math.min(1e-5, population ** -1.1);
}

/** σ such that `rounds` rounds end at ε ≤ target (central: at rate q; local: every round, multiplier σ/2). */
export function noiseForTarget(mode: DpMode, targetEpsilon: number, samplingRate: number, rounds: number, delta: number): number {
  return mode === 'central'
    ? noiseForEpsilon(targetEpsilon, samplingRate, rounds, delta)
    : 2 * noiseForEpsilon(targetEpsilon, 1, rounds, delta);
}

export class RunPrivacy {
  private readonly central = new RdpAccountant();
  private readonly localStep: Float64Array;
  private readonly participations = new Map<number, number>();
  private mostParticipations = 0;

  constructor(readonly mode: DpMode, readonly samplingRate: number, readonly noiseMultiplier: number, readonly delta: number) {
    if (!(delta > 0 && delta < 1)) throw new Error(`dp: δ must be in (0, 1), got ${delta}`);
    this.localStep = rdpComposed(1, noiseMultiplier / 2, 1);
  }

  /** Records one round in which `clients` took part. */
  recordRound(clients: Iterable<number>): void {
    if (this.mode === 'central') {
      this.central.step(this.samplingRate, this.noiseMultiplier);
      return;
    }
    for (const c of clients) {
      const k = (this.participations.get(c) ?? 0) + 1;
      this.participations.set(c, k);
      this.mostParticipations = Math.max(this.mostParticipations, k);
    }
  }

  spent(): PrivacySpent {
    if (this.mode === 'central') return this.central.spent(this.delta);
    if (this.mostParticipations === 0) return { epsilon: 0, order: NaN };
    return epsilonFromRdp(DEFAULT_ORDERS, this.localStep.map((r) => r * this.mostParticipations), this.delta);
  }

  /** Checkpoint state: the central RDP curve and the local participation counts. */
  saveState(): { rdp: number[]; steps: number; participations: [number, number][] } {
    return { rdp: [...this.central.curve()], steps: this.central.totalSteps, participations: [...this.participations] };
  }

  loadState(state: { rdp: number[]; steps: number; participations: [number, number][] }): void {
    this.central.restore(state.rdp, state.steps);
    this.participations.clear();
    this.mostParticipations = 0;
    for (const [c, k] of state.participations) {
      this.participations.set(c, k);
      this.mostParticipations = Math.max(this.mostParticipations, k);
    }
  }
}
