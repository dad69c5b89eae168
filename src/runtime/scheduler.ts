// runFederated: a federated run built from parts — the run's state, an executor that trains the selected
// clients (this machine's worker pool by default), `runRound` for each round, and callbacks around it for
// evaluation, checkpoint/resume, the metrics file, the trace, the run directory's files and progress
// (run-state.ts describes when each is called).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkAggregatorSpec, createAggregator } from '../aggregate/index.js';
import { Rng } from '../random.js';
import { validateLocalConfig } from '../fl/local.js';
import { getStrategy, type LocalTrainConfig, type ServerStrategy } from '../fl/strategy.js';
import { createTask, type Task } from '../fl/task.js';
import { runAsyncRound, type FedBuffConfig } from './async-round.js';
import { wallNow, type ClientAttack, type InjectedFault } from './client-job.js';
import { ClientStateStore } from './client-state.js';
import { resolveRunConfig, type RunConfig, type RunConfigInput } from './config.js';
import { parseCompression } from './compression.js';
import { createDevices } from './devices.js';
import { type ClientExecutor, type RunSpec } from './executor.js';
import { runExecutor, type RunBackend } from './batched-executor.js';
import { autoChoice, kernels } from '../backend/index.js';
import { loadBuiltins, loadPlugins } from './plugins.js';
import { setupPrivacy, type RunPrivacyWiring } from './privacy.js';
import { roundAggregator, runRound, type RoundContext, type RoundRecord } from './round.js';
import { RunInterrupted } from './train-step.js';
import { WireError } from './wire.js';
import type { RunCallback, RunResult, RunState } from './run-state.js';
import { checkpoints } from './callbacks/checkpoints.js';
import { evaluation } from './callbacks/evaluation.js';
import { metricsFile } from './callbacks/metrics-file.js';
import { progress } from './callbacks/progress.js';
import { runFiles } from './callbacks/run-files.js';
import { traceFile } from './callbacks/trace.js';
import { timeToAccuracy } from './time-to-accuracy.js';

export { type RoundRecord, type RunTotals } from './round.js';
export { sampleClients } from './selection.js';
export type { BestRound, RunResult } from './run-state.js';
export { workerFile } from './executor.js';

export interface RunHooks {
  onRound?(record: RoundRecord): void;
  signal?: AbortSignal;
  /** One-line notices (dropped updates, repeated rounds); default console.warn. */
  log?(line: string): void;
  /** More callbacks, called after the built-in ones. */
  callbacks?: readonly RunCallback[];
  /**
   * Where clients are trained; default runExecutor's choice: the batched gpu executor when the gpu backend is
   * active and takes the run, else this machine's LocalExecutor (config.workers threads).
   */
  executor?(task: Task, spec: RunSpec, config: RunConfig): ClientExecutor;
}

/** The built-in callbacks of a run, in calling order. */
function builtinCallbacks(config: RunConfig, hooks: RunHooks, privacy: RunPrivacyWiring | null): RunCallback[] {
  const out: RunCallback[] = [evaluation()];
  const dir = config.outDir;
  if (dir) out.push(checkpoints(dir));
  // After a resume restored the round records: the accountant and the clip norm are replayed from them.
  if (privacy) out.push({ onTrainBegin: (run) => privacy.restore(run.history) });
  if (dir) {
    out.push(metricsFile(dir), runFiles(dir));
    if (config.trace) out.push(traceFile(dir));
  }
  if (hooks.onRound) out.push(progress(hooks.onRound));
  return out;
}

/** Injects config.faults: the first `times` tries of a (round, client) fail as the fault's kind. */
function faultInjector(config: RunConfig): (round: number, client: number) => InjectedFault | null {
  const tries = new Map<string, number>();
  return (round, client) => {
    const f = config.faults.find((x) => x.round === round && x.client === client);
    if (!f) return null;
    const key = `${round}/${client}`;
    const n = tries.get(key) ?? 0;
    tries.set(key, n + 1);
    return n < f.times ? f.kind : null;
  };
}

/** The largest averaging weight one update may carry: a round's total over any number of clients stays finite. */
export const MAX_UPDATE_WEIGHT = 2 ** 32;

/** Refuses a run in which no client can ever train (every one lacks a modality or a labeled sample). */
function checkTrainable(task: Task, config: RunConfig): void {
  if (!task.isActive) return;
  for (let k = 0; k < task.numClients; k++) if (task.isActive(k)) return;
  throw new Error(`no client can train: each of the ${task.numClients} clients lacks a modality or a labeled sample (missing modality ${config.missingModality}, missing labels ${config.missingLabel})`);
}

/** Each client's training sample count, computed once. */
function clientSizes(task: Task): (clientId: number) => number {
  const sizes = new Map<number, number>();
  return (clientId) => {
    let n = sizes.get(clientId);
    if (n === undefined) {
      n = task.clientData(clientId).size;
      sizes.set(clientId, n);
    }
    return n;
  };
}

/** config.attack: a seeded set of round(attackers · N) clients (at least 1) that attack in every round. */
function attackers(config: RunConfig, numClients: number): (client: number) => ClientAttack | null {
  const a = config.attack;
  if (!a) return () => null;
  const k = Math.max(1, Math.round(a.attackers * numClients));
  const set = new Set(new Rng(config.seed).fork('attackers').sampleWithoutReplacement(numClients, k));
  return (client) => (set.has(client) ? { kind: a.kind, scale: a.scale } : null);
}

/**
 * An asynchronous run's FedBuff settings, or null for synchronous rounds. FedBuff's buffer is a
 * staleness-weighted mean of client deltas: a strategy that broadcasts server vectors or needs more than the
 * delta from its clients (SCAFFOLD), or brings its own aggregator, is refused, as is an executor that
 * publishes whole rounds (the cluster).
 */
function fedBuffOf(config: RunConfig, task: Task, server: ServerStrategy, executor: ClientExecutor): FedBuffConfig | null {
  if (config.asyncConcurrency === 0) return null;
  const refuse = (why: string) => new Error(`asynchronous FL (asyncConcurrency ${config.asyncConcurrency}): ${why}`);
  if (server.broadcastNames.length > 0 || server.extraNames.length > 0 || server.aggregator) {
    throw refuse(`algorithm ${config.algorithm} exchanges more than the global model and a delta; use fedavg, fedprox, fedrs or fedopt`);
  }
  if (executor.beginRound) throw refuse('it runs on the local executor only, not on a cluster');
  if (config.buffer > task.numClients) throw refuse(`buffer ${config.buffer} exceeds the ${task.numClients} clients (each reports at most once per buffer)`);
  if (config.asyncConcurrency > task.numClients) throw refuse(`concurrency ${config.asyncConcurrency} exceeds the ${task.numClients} clients`);
  return { concurrency: config.asyncConcurrency, buffer: config.buffer, stalenessExponent: config.stalenessExponent };
}

/** How the active kernels were chosen, as runExecutor needs it: gpu (forced or picked), auto where a GPU answered, or neither. */
function runBackend(): RunBackend {
  const k = kernels();
  if (k.name === 'gpu') return 'gpu';
  const auto = autoChoice();
  return auto?.calibrationMs && auto.backend === k.name ? 'auto-with-gpu' : 'cpu';
}

/** Runs a federated job to the end (or until the signal aborts it). */
export async function runFederated(input: RunConfigInput | RunConfig, hooks: RunHooks = {}): Promise<RunResult> {
  const t0 = wallNow();
  const config = resolveRunConfig(input as RunConfigInput);
  const log = hooks.log ?? ((line: string) => console.warn(line));
  await loadBuiltins();
  await loadPlugins(config.plugins);
  const task = await createTask(config.task);
  const strategy = getStrategy(config.algorithm);
  const algorithmParams = strategy.params(config.algorithmParams);
  const local: LocalTrainConfig = {
    epochs: config.localEpochs, batchSize: config.batchSize, lr: config.lr, momentum: config.momentum,
    weightDecay: config.weightDecay, gradClip: config.gradClip,
  };
  validateLocalConfig(local);
  checkTrainable(task, config);
  const P = task.numParams;
  const server = strategy.server(algorithmParams, { numParams: P, numClients: task.numClients, local, aggregator: config.aggregator });
  if (server.aggregator && config.aggregator.name !== 'mean') {
    throw new Error(`algorithm ${config.algorithm} supplies its own aggregator (${server.aggregator.name}); it does not take aggregator ${config.aggregator.name}`);
  }
  if (!server.aggregator) checkAggregatorSpec(config.aggregator, Math.max(1, Math.floor(config.clientRate * task.numClients)));
  const privacy = setupPrivacy(config, task, server, log);
  const spec: RunSpec = {
    task: config.task, algorithm: config.algorithm, algorithmParams, local, seed: config.seed, plugins: config.plugins,
    broadcastNames: server.broadcastNames, extraNames: server.extraNames, numParams: P, compression: parseCompression(config.compress),
  };
  const devices = createDevices(config.seed, config.deviceTrace, config.availabilityTrace);
  const global = task.createModel(new Rng(config.seed).fork('init')).params.slice();
  if (config.outDir) mkdirSync(config.outDir, { recursive: true });
  const run: RunState = {
    config, task, server,
    store: new ClientStateStore({ dir: config.outDir ? join(config.outDir, 'client-state') : null, budgetBytes: config.clientStateBudgetBytes }),
    global,
    executor: hooks.executor ? hooks.executor(task, spec, config) : await runExecutor(task, spec, config, runBackend(), global, log),
    completedRounds: 0,
    history: [],
    best: null,
    totals: { updates: 0, dropped: 0, retried: 0, repeatedRounds: 0, bytesDown: 0, bytesUp: 0, virtualTime: 0 },
    trace: null,
    async: null,
    log,
  };

  const ctx: RoundContext = {
    task, server, config, log, executor: run.executor, store: run.store, numParams: P, extraNames: server.extraNames,
    window: config.window, retryFailed: config.retryFailed, faultFor: faultInjector(config), attackFor: attackers(config, task.numClients),
    downlink: parseCompression(config.compressDown), uplink: spec.compression,
    devices,
    newAggregator: privacy ? privacy.newAggregator : roundAggregator(server.aggregator
      ?? createAggregator(config.aggregator, { numParams: P, vectorNames: ['delta', ...server.extraNames], threads: config.aggregateThreads })),
    ...(privacy?.selectClients ? { selectClients: privacy.selectClients } : {}),
    clientTimeoutMs: config.clientTimeoutMs, signal: hooks.signal ?? null, clientSize: clientSizes(task),
    checkUpdate(u) {
      const w = server.weight(u);
      if (!(w > 0 && w <= MAX_UPDATE_WEIGHT)) throw new WireError(`averaging weight ${w} is outside (0, ${MAX_UPDATE_WEIGHT}]`);
    },
    get trace() {
      return run.trace;
    },
  };
  const callbacks = [...builtinCallbacks(config, hooks, privacy), ...(hooks.callbacks ?? [])];

  let result: RunResult | null = null;
  try {
    const fedbuff = fedBuffOf(config, task, server, run.executor);
    if (fedbuff) run.async = { schedule: { inFlight: [], dispatched: 0 }, versions: new Map() };
    for (const cb of callbacks) await cb.onTrainBegin?.(run);
    let aborted = false;
    for (let round = run.completedRounds; round < config.rounds; round++) {
      if (hooks.signal?.aborted) {
        aborted = true;
        break;
      }
      const start = wallNow();
      let record: RoundRecord;
      try {
        record = fedbuff && run.async
          ? await runAsyncRound(ctx, fedbuff, run.async, round, run.global, run.totals)
          : await runRound(ctx, round, run.global, run.totals);
      } catch (e) {
        if (!(e instanceof RunInterrupted)) throw e;
        // The round did not reach its server step: the global model and client states are the last completed round's.
        run.store.discard();
        aborted = true;
        break;
      }
      run.history.push(record);
      run.completedRounds = round + 1;
      for (const cb of callbacks) await cb.afterRound?.(run, record);
      const { phases } = record;
      phases.round = wallNow() - start;
      const work = phases.round - phases.evaluate - phases.checkpoint;
      record.overheadShare = work > 0 ? Math.max(0, 1 - phases.localTrain / (run.executor.lanes * work)) : 0;
      for (const cb of callbacks) await cb.onRoundEnd?.(run, record);
    }
    if (!aborted && run.totals.updates === 0) {
      throw new Error(`no client update was accepted in ${run.completedRounds} round${run.completedRounds === 1 ? '' : 's'}: the model was never trained`);
    }
    result = {
      config, completedRounds: run.completedRounds, aborted, weights: run.global, best: run.best, headlineMetric: task.headlineMetric,
      history: run.history, totals: run.totals, timeToAccuracy: timeToAccuracy(run.history, task.headlineMetric, config.accuracyTargets),
      elapsedMs: wallNow() - t0, outDir: config.outDir,
      ...(privacy ? { privacy: privacy.summary(run.history) } : {}),
    };
    return result;
  } finally {
    await run.executor.close();
    for (const cb of callbacks) await cb.onTrainEnd?.(run, result);
  }
}
