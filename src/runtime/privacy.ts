// A run's privacy wiring: from the config's `dp` / `secagg` to the round's client selection (Poisson under
// DP), the private round aggregator, the state restored on resume (replayed from the round records), and the
// summary written to result.json. Null for a run with neither.
import { aggregateOps } from '../aggregate/ops.js';
import type { ServerStrategy } from '../fl/strategy.js';
import type { Task } from '../fl/task.js';
import { RunPrivacy } from '../privacy/accounting.js';
import { PrivacyState, PrivateRoundAggregator, type PrivacySettings } from '../privacy/private-aggregator.js';
import { resolvePrivacy } from '../privacy/settings.js';
import type { RunConfig } from './config.js';
import { poissonSampleClients, type RoundAggregator, type RoundRecord } from './round.js';

/** result.json's `privacy`: what was guaranteed and how. */
export interface PrivacySummary {
  dp: {
    mode: 'central' | 'local';
    /** The accountant's assumption: each client joins a round independently with probability q. */
    sampling: 'poisson';
    samplingRate: number;
    noiseMultiplier: number;
    targetEpsilon: number | null;
    epsilon: number;
    delta: number;
    clip: string;
    finalClipNorm: number;
  } | null;
  secagg: { neighbors: number | 'default'; threshold: number | 'default'; dropout: number; abortedRounds: number } | null;
}

export interface RunPrivacyWiring {
  readonly settings: PrivacySettings;
  selectClients?(round: number): Int32Array;
  newAggregator(round: number, clients: Int32Array): RoundAggregator;
  /** Resume: rebuilds the accountant and the clip norm from the restored round records. */
  restore(history: readonly RoundRecord[]): void;
  summary(history: readonly RoundRecord[]): PrivacySummary;
}

export function setupPrivacy(config: RunConfig, task: Task, server: ServerStrategy, log: (line: string) => void): RunPrivacyWiring | null {
  if (!config.dp && !config.secagg) return null;
  if (server.extraNames.length > 0) {
    throw new Error(`config: dp and secagg aggregate the model delta only; algorithm '${config.algorithm}' also sends ${server.extraNames.join(', ')} (use fedavg, fedprox, fedrs or fedopt)`);
  }
  // DP's sensitivity bound and SecAgg's masked sum both need the plain (clipped) sum: a robust rule cannot run on it.
  if (config.aggregator.name !== 'mean' || server.aggregator) {
    const which = server.aggregator ? `algorithm '${config.algorithm}' brings its own aggregator (${server.aggregator.name})` : `aggregator '${config.aggregator.name}'`;
    throw new Error(`config: dp and secagg aggregate with their own private mean; ${which} cannot be combined with them (use aggregator 'mean')`);
  }
  const N = task.numClients;
  const settings = resolvePrivacy(config.dp, config.secagg, { rounds: config.rounds, clientRate: config.clientRate, population: N });
  const makeAccountant = (): RunPrivacy | null => (settings.dp ? new RunPrivacy(settings.dp.mode, config.clientRate, settings.dp.noiseMultiplier, settings.dp.delta) : null);
  let state = new PrivacyState(settings, makeAccountant(), config.seed);
  // SecAgg without DP sends (w/W)·Δ: W, the largest client's sample count, is public and fixed for the run.
  let weightCap = 1;
  if (settings.secagg && !settings.dp) for (let k = 0; k < N; k++) weightCap = Math.max(weightCap, task.clientData(k).size);
  if (settings.dp) {
    log(`dp: ${settings.dp.mode} mode, noise multiplier σ = ${settings.dp.noiseMultiplier.toPrecision(4)}` +
      `${settings.dp.targetEpsilon !== null ? ` (for ε ≤ ${settings.dp.targetEpsilon} after ${config.rounds} rounds)` : ''}, δ = ${settings.dp.delta}, Poisson sampling q = ${config.clientRate}`);
  }
  return {
    settings,
    ...(settings.dp ? { selectClients: (round: number) => poissonSampleClients(round, N, config.clientRate) } : {}),
    newAggregator(round, clients) {
      const agg = new PrivateRoundAggregator(state, {
        round, cohort: clients, numParams: task.numParams, expectedCohort: config.clientRate * N, weightCap, log,
      });
      return {
        // The private aggregator sums every update it is given; a non-finite one is refused before it can reach the sum.
        add(u, w) {
          const bad = aggregateOps().findNonFinite(u.delta);
          if (bad >= 0) return [{ tag: u.clientId, rejected: `delta[${bad}] is ${u.delta[bad]}` }];
          agg.add(u, w);
          return [{ tag: u.clientId, rejected: null }];
        },
        finish: () => ({ decisions: [], means: agg.means() }),
        get privacyReport() {
          return agg.privacyReport;
        },
      };
    },
    restore(history) {
      state = new PrivacyState(settings, makeAccountant(), config.seed);
      for (const r of history) {
        if (!r.privacy || r.privacy.epsilon === undefined) continue;
        state.accountant!.recordRound(r.privacy.contributors ?? []);
        if (r.privacy.nextClipNorm !== undefined) state.clip!.restore(r.privacy.nextClipNorm);
      }
    },
    summary(history) {
      const dp = settings.dp;
      const spent = state.accountant?.spent();
      return {
        dp: dp ? {
          mode: dp.mode, sampling: 'poisson', samplingRate: config.clientRate, noiseMultiplier: dp.noiseMultiplier, targetEpsilon: dp.targetEpsilon,
          epsilon: spent!.epsilon, delta: dp.delta, clip: dp.clip.kind === 'fixed' ? String(dp.clip.norm) : `adaptive:${dp.clip.quantile}`,
          finalClipNorm: state.clip!.value,
        } : null,
        secagg: settings.secagg ? {
          neighbors: settings.secagg.neighbors ?? 'default', threshold: settings.secagg.threshold ?? 'default', dropout: settings.secagg.dropout,
          abortedRounds: history.filter((r) => r.privacy?.secagg?.aborted !== undefined).length,
        } : null,
      };
    },
  };
}
