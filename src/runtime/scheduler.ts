// The federated run loop on the main thread.
//
// Each round: sample int(rate·N) clients (generator seeded by the round number, so every algorithm sees the
// same schedule), write the global weights once into a SharedArrayBuffer, dispatch the clients' local
// training to a Piscina pool (or run them one by one on the main thread with workers: 0), decode and
// validate each returning update, fold it into the round's sums in client-id order through a small reorder
// buffer (so the result does not depend on arrival order or the number of workers), apply the server step,
// evaluate every evalEvery rounds, and keep the best-dev round's test metrics.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Rng } from '../random.js';
import { validateLocalConfig } from '../fl/local.js';
import { getStrategy, type LocalTrainConfig, type ServerStrategy } from '../fl/strategy.js';
import { createTask, type EvalPart, type Metrics, type Task } from '../fl/task.js';
import { broadcastViews, runClientJob, wallNow, type ClientJob, type ClientJobResult, type EvalJob, type InjectedFault, type RunSetup } from './client-job.js';
import { ClientStateStore } from './client-state.js';
import { readLatestCheckpoint, writeCheckpoint, writeWeights, CHECKPOINT_VERSION } from './checkpoint.js';
import { resolveRunConfig, type RunConfig, type RunConfigInput } from './config.js';
import { ReorderBuffer, RoundAccumulator } from './fold.js';
import { loadBuiltins, loadPlugins } from './plugins.js';
import { emptyTimings, TraceWriter, type PhaseTimings } from './profile.js';
import { decodeUpdate, WireError, type DecodedUpdate } from './wire.js';

/** One line of metrics.jsonl. */
export interface RoundRecord {
  /** Round index, 0-based. */
  round: number;
  /** Tries this round took (> 1 when a short round was repeated). */
  attempts: number;
  /** Clients sampled, of those skipped as inactive (no modality or no labeled sample), updates accepted,
   *  updates dropped, jobs retried (in the accepted attempt). */
  sampled: number;
  skipped: number;
  accepted: number;
  dropped: number;
  retried: number;
  /** Sample-weighted mean local training loss of the accepted updates. */
  trainLoss: number;
  /** Present in evaluation rounds. */
  dev?: Metrics;
  test?: Metrics;
  phases: PhaseTimings;
  /** 1 − Σ local-train time / (parallel lanes × round time without evaluation and checkpoint). */
  overheadShare: number;
  droppedClients: { client: number; reason: string }[];
}

export interface BestRound {
  round: number;
  dev: Metrics;
  test: Metrics;
}

export interface RunTotals {
  updates: number;
  dropped: number;
  retried: number;
  repeatedRounds: number;
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
  elapsedMs: number;
  outDir: string | null;
}

export interface RunHooks {
  onRound?(record: RoundRecord): void;
  signal?: AbortSignal;
  /** One-line notices (dropped updates, repeated rounds); default console.warn. */
  log?(line: string): void;
}

/** The round's clients: int(rate·N) (at least 1) drawn without replacement by a generator seeded with the round, ascending. */
export function sampleClients(round: number, numClients: number, rate: number): Int32Array {
  const k = Math.max(1, Math.floor(rate * numClients));
  return new Rng(round).sampleWithoutReplacement(numClients, k).sort();
}

/** dist/src/runtime/worker.js, whether this module runs compiled or from the TypeScript sources. */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js') ? join(dirname(here), 'worker.js') : resolve(dirname(here), '../../dist/src/runtime/worker.js');
  if (!existsSync(file)) throw new Error(`runtime: worker script ${file} is missing; build first (npx tsc -p tsconfig.json)`);
  return file;
}

interface RoundOutcome {
  acc: RoundAccumulator;
  trainLoss: number;
  retried: number;
  dropped: { client: number; reason: string }[];
  timings: PhaseTimings;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** Config fields that change results (a resume with different ones is refused; `rounds` may grow). */
function digest(c: RunConfig): string {
  return JSON.stringify({
    task: c.task, algorithm: c.algorithm, algorithmParams: c.algorithmParams, clientRate: c.clientRate,
    localEpochs: c.localEpochs, batchSize: c.batchSize, lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay,
    gradClip: c.gradClip, seed: c.seed, evalEvery: c.evalEvery, minClientFraction: c.minClientFraction,
  });
}

/** Runs a federated job to the end (or until the signal aborts it). */
export async function runFederated(input: RunConfigInput | RunConfig, hooks: RunHooks = {}): Promise<RunResult> {
  const t0 = wallNow();
  const config = resolveRunConfig(input as RunConfigInput);
  const log = hooks.log ?? ((line: string) => console.warn(line));
  await loadBuiltins();
  await loadPlugins(config.plugins);
  const task: Task = await createTask(config.task);
  const strategy = getStrategy(config.algorithm);
  const algorithmParams = strategy.params(config.algorithmParams);
  const local: LocalTrainConfig = {
    epochs: config.localEpochs, batchSize: config.batchSize, lr: config.lr, momentum: config.momentum,
    weightDecay: config.weightDecay, gradClip: config.gradClip,
  };
  validateLocalConfig(local);
  const P = task.numParams;
  const N = task.numClients;
  const server: ServerStrategy = strategy.server(algorithmParams, { numParams: P, numClients: N, local });
  const global = task.createModel(new Rng(config.seed).fork('init')).params.slice();
  const evalModel = task.createModel(new Rng(config.seed).fork('eval-model'));
  const setup: RunSetup = {
    runId: randomUUID(),
    task: config.task,
    algorithm: config.algorithm,
    algorithmParams,
    local,
    seed: config.seed,
    plugins: config.plugins,
    broadcast: new SharedArrayBuffer(4 * P * (1 + server.broadcastNames.length)),
    broadcastNames: server.broadcastNames,
    numParams: P,
  };
  const shared = broadcastViews(setup);
  const outDir = config.outDir;
  if (outDir) mkdirSync(outDir, { recursive: true });
  const store = new ClientStateStore({ dir: outDir ? join(outDir, 'client-state') : null, budgetBytes: config.clientStateBudgetBytes });

  let history: RoundRecord[] = [];
  let best: BestRound | null = null;
  const totals: RunTotals = { updates: 0, dropped: 0, retried: 0, repeatedRounds: 0 };
  let startRound = 0;
  if (config.resume) {
    const ck = readLatestCheckpoint<RoundRecord>(outDir!, P);
    if (ck) {
      if (ck.meta.configDigest !== digest(config)) throw new Error(`resume: ${ck.dir} was written by a run with a different config`);
      global.set(ck.global);
      server.loadState(ck.server);
      store.restore(ck.clientStateDir);
      history = ck.meta.history;
      best = ck.meta.best as BestRound | null;
      Object.assign(totals, ck.meta.totals);
      startRound = ck.meta.completedRounds;
    } else log(`resume: no checkpoint in ${outDir}; starting from round 0`);
  }
  // A fresh run must not inherit an earlier run's checkpoints (their rotation is by name).
  if (outDir && startRound === 0) rmSync(join(outDir, 'checkpoints'), { recursive: true, force: true });
  const metricsPath = outDir ? join(outDir, 'metrics.jsonl') : null;
  if (metricsPath) writeFileSync(metricsPath, history.map((r) => JSON.stringify(r) + '\n').join(''));
  if (outDir) writeFileSync(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const trace = config.trace ? new TraceWriter(join(outDir!, 'trace.json')) : null;

  const lanes = Math.max(1, config.workers);
  const pool = config.workers > 0
    ? new Piscina<ClientJob | EvalJob, ClientJobResult | EvalPart>({ filename: workerFile(), minThreads: config.workers, maxThreads: config.workers, idleTimeout: 30_000 })
    : null;
  const execute = (job: ClientJob): Promise<ClientJobResult> => (pool ? pool.run(job) as Promise<ClientJobResult> : runClientJob(job));

  /**
   * Dev and test metrics of the global weights. With workers and a task that evaluates in parts, each split's
   * batches are cut into one contiguous range per worker and scored on the main thread in batch order, which
   * gives the same bits as evaluating on the main thread.
   */
  const evaluate = async (weights: Float32Array): Promise<{ dev: Metrics; test: Metrics }> => {
    if (!pool || !task.evalBatches || !task.predictBatches || !task.scoreEval) {
      evalModel.params.set(weights);
      return { dev: task.evaluate(evalModel, 'dev'), test: task.evaluate(evalModel, 'test') };
    }
    shared.global.set(weights);
    const inParts = async (split: 'dev' | 'test'): Promise<Metrics> => {
      const n = task.evalBatches!(split);
      const k = Math.max(1, Math.min(lanes, n));
      const jobs: Promise<EvalPart>[] = [];
      for (let i = 0; i < k; i++) {
        const job: EvalJob = { kind: 'eval', setup, split, from: Math.floor((i * n) / k), to: Math.floor(((i + 1) * n) / k) };
        jobs.push(pool.run(job) as Promise<EvalPart>);
      }
      return task.scoreEval!(split, await Promise.all(jobs));
    };
    const [dev, test] = await Promise.all([inParts('dev'), inParts('test')]);
    return { dev, test };
  };
  const faultTries = new Map<string, number>();
  const faultFor = (round: number, client: number): InjectedFault | null => {
    const f = config.faults.find((x) => x.round === round && x.client === client);
    if (!f) return null;
    const key = `${round}/${client}`;
    const tries = faultTries.get(key) ?? 0;
    faultTries.set(key, tries + 1);
    return tries < f.times ? f.kind : null;
  };

  const runClients = (round: number, ids: Int32Array): Promise<RoundOutcome> => {
    const n = ids.length;
    const window = config.window || 4 * lanes;
    const timings = emptyTimings();
    const acc = new RoundAccumulator(P, server.extraNames);
    const dropped: { client: number; reason: string }[] = [];
    let lossSum = 0;
    let sampleSum = 0;
    let retried = 0;
    const reorder = new ReorderBuffer<DecodedUpdate>(n, (_slot, u) => {
      if (!u) return;
      const a = wallNow();
      acc.add(u, server.weight(u));
      if (server.nextClientState) store.stage(u.clientId, server.nextClientState(store.get(u.clientId), u));
      lossSum += u.loss * u.numSamples;
      sampleSum += u.numSamples;
      const b = wallNow();
      timings.aggregate += b - a;
      trace?.span(0, `fold ${u.clientId}`, 'aggregate', a, b);
    });
    return new Promise<RoundOutcome>((resolvePromise, reject) => {
      let next = 0;
      let inFlight = 0;
      let done = 0;
      const drop = (slot: number, reason: string) => {
        dropped.push({ client: ids[slot], reason });
        log(`round ${round}: dropped client ${ids[slot]}: ${reason}`);
        reorder.deliver(slot, null);
      };
      const pump = (): void => {
        if (done === n) {
          resolvePromise({ acc, trainLoss: sampleSum > 0 ? lossSum / sampleSum : NaN, retried, dropped, timings });
          return;
        }
        while (next < n && next < reorder.cursor + window && (pool !== null || inFlight === 0)) launch(next++, 0);
      };
      const launch = (slot: number, attempt: number): void => {
        inFlight++;
        const clientId = ids[slot];
        const job: ClientJob = { setup, round, clientId, state: store.get(clientId), fault: faultFor(round, clientId) };
        execute(job).then(
          (res) => {
            const received = wallNow();
            timings.localTrain += res.trainEnd - res.start;
            timings.encode += res.end - res.trainEnd;
            timings.transfer += Math.max(0, received - res.end);
            trace?.span(res.thread, `client ${clientId}`, 'train', res.start, res.trainEnd, { round });
            trace?.span(res.thread, `encode ${clientId}`, 'encode', res.trainEnd, res.end);
            let update: DecodedUpdate | null = null;
            try {
              update = decodeUpdate(res.update, { round, clientId, numParams: P, extraNames: server.extraNames });
            } catch (e) {
              if (!(e instanceof WireError)) throw e;
              const end = wallNow();
              timings.decode += end - received;
              inFlight--;
              done++;
              drop(slot, e.reason);
              return;
            }
            const end = wallNow();
            timings.decode += end - received;
            trace?.span(0, `decode ${clientId}`, 'decode', received, end);
            inFlight--;
            done++;
            reorder.deliver(slot, update);
          },
          (err: unknown) => {
            inFlight--;
            if (config.retryFailed && attempt === 0) {
              retried++;
              log(`round ${round}: client ${clientId} failed (${firstLine(err)}); retrying once`);
              launch(slot, 1);
              return;
            }
            done++;
            drop(slot, `worker failed: ${firstLine(err)}`);
          },
        ).then(pump).catch(reject);
      };
      pump();
    });
  };

  let completed = startRound;
  let aborted = false;
  try {
    for (let round = startRound; round < config.rounds; round++) {
      if (hooks.signal?.aborted) {
        aborted = true;
        break;
      }
      const roundStart = wallNow();
      const sampled = sampleClients(round, N, config.clientRate);
      const ids = task.isActive ? sampled.filter((k) => task.isActive!(k)) : sampled;
      const need = Math.ceil(config.minClientFraction * ids.length);
      let outcome: RoundOutcome | null = null;
      let attempts = 0;
      let broadcastMs = 0;
      while (outcome === null) {
        attempts++;
        const b0 = wallNow();
        shared.global.set(global);
        for (const name of server.broadcastNames) shared.vectors[name].set(server.broadcast(name));
        const b1 = wallNow();
        broadcastMs += b1 - b0;
        trace?.span(0, `broadcast ${round}`, 'broadcast', b0, b1);
        const o = await runClients(round, ids);
        totals.dropped += o.dropped.length;
        totals.retried += o.retried;
        if (o.acc.participants >= need) {
          outcome = o;
          break;
        }
        store.discard();
        const msg = `round ${round}: only ${o.acc.participants} of ${ids.length} client updates accepted (need ${need})`;
        if (config.onShortRound === 'stop' || attempts >= config.maxRoundAttempts) {
          throw new Error(`${msg}; stopping after ${attempts} attempt${attempts > 1 ? 's' : ''}`);
        }
        totals.repeatedRounds++;
        log(`${msg}; repeating the round`);
      }
      const timings = outcome.timings;
      timings.broadcast = broadcastMs;
      const s0 = wallNow();
      if (outcome.acc.participants > 0) server.step(global, outcome.acc.means());
      store.commit();
      const s1 = wallNow();
      timings.serverStep = s1 - s0;
      trace?.span(0, `server step ${round}`, 'serverStep', s0, s1);
      totals.updates += outcome.acc.participants;
      const record: RoundRecord = {
        round,
        attempts,
        sampled: sampled.length,
        skipped: sampled.length - ids.length,
        accepted: outcome.acc.participants,
        dropped: outcome.dropped.length,
        retried: outcome.retried,
        trainLoss: outcome.trainLoss,
        phases: timings,
        overheadShare: 0,
        droppedClients: outcome.dropped,
      };
      if (config.evalEvery > 0 && ((round + 1) % config.evalEvery === 0 || round === config.rounds - 1)) {
        const e0 = wallNow();
        const { dev, test } = await evaluate(global);
        record.dev = dev;
        record.test = test;
        const h = task.headlineMetric;
        if (best === null || record.dev[h] > best.dev[h]) best = { round, dev: record.dev, test: record.test };
        const e1 = wallNow();
        timings.evaluate = e1 - e0;
        trace?.span(0, `evaluate ${round}`, 'evaluate', e0, e1);
      }
      const work = wallNow() - roundStart - timings.evaluate;
      record.overheadShare = work > 0 ? Math.max(0, 1 - timings.localTrain / (lanes * work)) : 0;
      history.push(record);
      completed = round + 1;
      if (config.checkpointEvery > 0 && completed % config.checkpointEvery === 0) {
        const c0 = wallNow();
        writeCheckpoint(outDir!, {
          version: CHECKPOINT_VERSION, completedRounds: completed, configDigest: digest(config), seed: config.seed,
          history, best, totals: { ...totals },
        }, global, server.saveState(), store);
        const c1 = wallNow();
        timings.checkpoint = c1 - c0;
        trace?.span(0, `checkpoint ${completed}`, 'checkpoint', c0, c1);
      }
      timings.round = wallNow() - roundStart;
      trace?.span(0, `round ${round}`, 'round', roundStart, roundStart + timings.round, { accepted: record.accepted, dropped: record.dropped });
      trace?.flush();
      if (metricsPath) appendFileSync(metricsPath, JSON.stringify(record) + '\n');
      hooks.onRound?.(record);
    }
  } finally {
    await pool?.destroy();
    trace?.close();
  }
  const result: RunResult = {
    config, completedRounds: completed, aborted, weights: global, best, headlineMetric: task.headlineMetric,
    history, totals, elapsedMs: wallNow() - t0, outDir,
  };
  if (outDir) {
    writeWeights(join(outDir, 'model.bin'), global);
    const { weights: _w, history: _h, ...summary } = result;
    writeFileSync(join(outDir, 'result.json'), JSON.stringify({ ...summary, numParams: P }, null, 2) + '\n');
  }
  return result;
}
