// What a run's callbacks see and may change: the run's state between rounds, and the callback interface
// (after pfl-research's TrainingProcessCallback). The run loop calls, in the order the callbacks are given:
//   onTrainBegin   before the first round (resume restores the state here; files are opened)
//   afterRound     after each round's server step: work that belongs to the round and is timed into it
//                  (evaluation, checkpoint); it may fill in the round's record
//   onRoundEnd     with the round's finished record (metrics file, trace, progress)
//   onTrainEnd     once, when the loop ends — with the result, or null when the run failed (close files)
import type { ServerStrategy } from '../fl/strategy.js';
import type { Metrics, Task } from '../fl/task.js';
import type { AsyncRunState } from './async-round.js';
import type { ClientStateStore } from './client-state.js';
import type { RunConfig } from './config.js';
import type { ClientExecutor } from './executor.js';
import type { PrivacySummary } from './privacy.js';
import type { TraceWriter } from './profile.js';
import type { RoundRecord, RunTotals } from './round.js';
import type { TargetReached } from './time-to-accuracy.js';

export interface BestRound {
  round: number;
  dev: Metrics;
  test: Metrics;
}

export interface RunState {
  readonly config: RunConfig;
  readonly task: Task;
  readonly server: ServerStrategy;
  readonly store: ClientStateStore;
  readonly executor: ClientExecutor;
  /** The global weights, updated in place by each round's server step. */
  readonly global: Float32Array;
  /** Rounds completed: the next round's index. */
  completedRounds: number;
  history: RoundRecord[];
  /** The evaluation round with the best dev headline metric, and its test metrics. */
  best: BestRound | null;
  totals: RunTotals;
  /** Chrome trace of the run, when one is written. */
  trace: TraceWriter | null;
  /** Asynchronous runs (FedBuff): the jobs in flight and the model versions they train from; null when synchronous. */
  async: AsyncRunState | null;
  log(line: string): void;
}

export interface RunResult {
  config: RunConfig;
  completedRounds: number;
  /** True when the signal stopped the run early. */
  aborted: boolean;
  /** Final global weights. */
  weights: Float32Array;
  /** The evaluation round with the best dev headline metric, and its test metrics. */
  best: BestRound | null;
  headlineMetric: string;
  history: RoundRecord[];
  totals: RunTotals;
  /** Per accuracy target: the first round reaching it on dev, its virtual time and bytes. */
  timeToAccuracy: TargetReached[];
  elapsedMs: number;
  outDir: string | null;
  /** Private runs: the guarantee (final ε, δ, σ, sampling) and the SecAgg settings. */
  privacy?: PrivacySummary;
}

export interface RunCallback {
  onTrainBegin?(run: RunState): void | Promise<void>;
  afterRound?(run: RunState, record: RoundRecord): void | Promise<void>;
  onRoundEnd?(run: RunState, record: RoundRecord): void | Promise<void>;
  onTrainEnd?(run: RunState, result: RunResult | null): void | Promise<void>;
}
