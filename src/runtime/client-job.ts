// One client's local training as a job: the same code runs inside a Piscina worker and, with workers: 0,
// on the main thread, so both modes give the same bits.
//
// The worker keeps, per run, the task (its data generator), the strategy's client hooks and ONE model
// instance, reused for every client; the global weights are read from the round's SharedArrayBuffer.
import { performance } from 'node:perf_hooks';
import { isMainThread, threadId } from 'node:worker_threads';
import { Rng } from '../random.js';
import { trainLocal } from '../fl/local.js';
import { getStrategy, type ClientContext, type LocalTrainConfig, type Strategy, type StrategyParams, type Vectors } from '../fl/strategy.js';
import { createTask, type EvalPart, type Task, type TaskSpec, type TrainableModel } from '../fl/task.js';
import { compressForUpload, type Compression } from './compression.js';
import { encodeUpdate } from './wire.js';
import { loadBuiltins, loadPlugins } from './plugins.js';

/** Faults a test or a resilience drill can inject into one client's job. */
export type InjectedFault = 'throw' | 'crash' | 'malformed' | 'nan';

/**
 * A simulated Byzantine client (RunConfig.attack): its delta is replaced before sending by −scale·Δ
 * (sign-flip), scale·Δ (scaled) or N(0, scale²) noise drawn from the run's seed, round and client (gaussian).
 */
export interface ClientAttack {
  readonly kind: 'sign-flip' | 'gaussian' | 'scaled';
  readonly scale: number;
}

/** Applies `attack` to delta[P] in place (seeded by the run's seed, the round and the client). */
export function applyAttack(attack: ClientAttack, delta: Float32Array, seed: number, round: number, clientId: number): void {
  if (attack.kind === 'sign-flip') for (let i = 0; i < delta.length; i++) delta[i] *= -attack.scale;
  else if (attack.kind === 'scaled') for (let i = 0; i < delta.length; i++) delta[i] *= attack.scale;
  else {
    const rng = new Rng(seed).fork(`attack/${round}/${clientId}`);
    for (let i = 0; i < delta.length; i++) delta[i] = attack.scale * rng.normal();
  }
}

/** What a run's clients need to know, the same for every job of the run. */
export interface RunSpec {
  readonly task: TaskSpec;
  readonly algorithm: string;
  readonly algorithmParams: StrategyParams;
  readonly local: LocalTrainConfig;
  readonly seed: number;
  /** Module URLs that register extra tasks or strategies. */
  readonly plugins: readonly string[];
  readonly broadcastNames: readonly string[];
  readonly numParams: number;
  /** How clients compress their update vectors for upload. */
  readonly compression: Compression;
}

/** What a worker needs to run any client of a run (identical for every job of the run). */
export interface RunSetup extends RunSpec {
  /** Distinguishes runs that share a worker pool. */
  readonly runId: string;
  /** [global P][broadcast vector 0 P][broadcast vector 1 P]… as float32, rewritten once per round. */
  readonly broadcast: SharedArrayBuffer;
}

/** One client's training in a round, as the run loop hands it to a ClientExecutor. */
export interface ClientWork {
  readonly round: number;
  readonly clientId: number;
  /** The client's persistent state (its buffers are transferred to the worker). */
  readonly state: Vectors | null;
  readonly fault: InjectedFault | null;
  /** Set to 1 (on shared memory) when the job has its run loaded and starts training: the client timeout counts from then. */
  readonly started?: Int32Array;
  /** Set when this client simulates an attacker. */
  readonly attack?: ClientAttack | null;
}

/** A ClientWork with the run's setup: the message a worker receives. */
export interface ClientJob extends ClientWork {
  readonly setup: RunSetup;
}

/** Outputs of the global model on evaluation batches [from, to) of a split (Task.predictBatches). */
export interface EvalJob {
  readonly kind: 'eval';
  readonly setup: RunSetup;
  readonly split: 'dev' | 'test';
  readonly from: number;
  readonly to: number;
}

/** Wall-clock instants (ms since the Unix epoch, comparable across threads), the encoded update, and the
 *  client's new private state (its compression residuals; never sent), if it keeps any. */
export interface ClientJobResult {
  readonly update: ArrayBuffer;
  readonly clientState: Vectors | null;
  readonly thread: number;
  readonly start: number;
  readonly trainEnd: number;
  readonly end: number;
}

interface RunContext {
  task: Task;
  strategy: Strategy;
  model: TrainableModel;
  momentum: Float32Array;
  delta: Float32Array;
}

let current: { runId: string; ctx: Promise<RunContext> } | null = null;

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

async function context(setup: RunSetup): Promise<RunContext> {
  if (current?.runId !== setup.runId) {
    current = {
      runId: setup.runId,
      ctx: (async () => {
        await loadBuiltins();
        await loadPlugins(setup.plugins);
        const task = await createTask(setup.task);
        if (task.numParams !== setup.numParams) throw new Error(`worker: task has ${task.numParams} parameters, run expects ${setup.numParams}`);
        const model = task.createModel(new Rng(setup.seed).fork('worker-model'));
        return { task, strategy: getStrategy(setup.algorithm), model, momentum: new Float32Array(task.numParams), delta: new Float32Array(task.numParams) };
      })(),
    };
  }
  return current.ctx;
}

/** Views of the broadcast buffer: the global weights and each broadcast vector. */
export function broadcastViews(setup: Pick<RunSetup, 'broadcast' | 'broadcastNames' | 'numParams'>): { global: Float32Array; vectors: Record<string, Float32Array> } {
  const P = setup.numParams;
  const global = new Float32Array(setup.broadcast, 0, P);
  const vectors: Record<string, Float32Array> = {};
  setup.broadcastNames.forEach((name, i) => (vectors[name] = new Float32Array(setup.broadcast, 4 * P * (i + 1), P)));
  return { global, vectors };
}

/** Runs one client's local training and returns its encoded update. */
export async function runClientJob(job: ClientJob): Promise<ClientJobResult> {
  const start = wallNow();
  const { setup, round, clientId } = job;
  if (job.fault === 'throw') throw new Error(`injected fault: client ${clientId} throws in round ${round}`);
  if (job.fault === 'crash') {
    if (!isMainThread) process.exit(70);
    throw new Error(`injected fault: client ${clientId} crashes in round ${round}`);
  }
  const ctx = await context(setup);
  if (job.started) Atomics.store(job.started, 0, 1);
  const { global, vectors } = broadcastViews(setup);
  const data = ctx.task.clientData(clientId);
  const clientCtx: ClientContext = {
    round,
    clientId,
    numClasses: ctx.task.numClasses,
    labelHistogram: data.labelHistogram,
    global,
    broadcast: vectors,
    state: job.state,
    local: setup.local,
    params: setup.algorithmParams,
  };
  const rng = new Rng(setup.seed).fork(`local/${round}/${clientId}`);
  const hooks = ctx.strategy.client;
  const result = trainLocal(ctx.model, data, clientCtx, hooks, rng, ctx.momentum);
  const { delta } = ctx;
  const params = ctx.model.params;
  for (let i = 0; i < delta.length; i++) delta[i] = params[i] - global[i];
  if (job.attack) applyAttack(job.attack, delta, setup.seed, round, clientId);
  if (job.fault === 'nan') delta[delta.length >> 1] = NaN;
  const extras = hooks.extras ? hooks.extras(clientCtx, { delta, steps: result.steps }) : {};
  const trainEnd = wallNow();
  const { sent, residuals } = compressForUpload({ ...extras, delta }, setup.compression, job.state, new Rng(setup.seed).fork(`compress/${round}/${clientId}`));
  const { delta: sentDelta, ...sentExtras } = sent;
  const update = job.fault === 'malformed'
    ? new Uint8Array([0x93, 0xc0, 0xc0, 0xc0]).buffer
    : encodeUpdate({ clientId, round, numSamples: result.numSamples, steps: result.steps, loss: result.loss, metrics: {}, delta: sentDelta, extras: sentExtras });
  return { update, clientState: residuals, thread: isMainThread ? 0 : threadId, start, trainEnd, end: wallNow() };
}

/**
 * Runs the global weights (the broadcast buffer, rewritten after the server step) over a range of a split's
 * evaluation batches on this thread's model instance.
 */
export async function runEvalJob(job: EvalJob): Promise<EvalPart> {
  const ctx = await context(job.setup);
  const { task, model } = ctx;
  if (!task.predictBatches) throw new Error('worker: this task does not evaluate in parts');
  model.params.set(broadcastViews(job.setup).global);
  return task.predictBatches(model, job.split, job.from, job.to);
}
