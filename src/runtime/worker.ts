// The Piscina worker entry (loaded from dist/src/runtime/worker.js): runs one client job, moving the
// encoded update's ArrayBuffer back to the main thread without copying, or one evaluation job.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { runClientJob, runEvalJob, type ClientJob, type EvalJob } from './client-job.js';

/** `value`, returned with `buffers` moved (not copied) to the main thread. */
function moved(value: unknown, buffers: ArrayBufferLike[]): unknown {
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return value;
    },
  } as unknown as ArrayBuffer);
}

export default async function clientWorker(job: ClientJob | EvalJob): Promise<unknown> {
  if ('kind' in job) {
    const part = await runEvalJob(job);
    return moved(part, [part.scores.buffer, part.labels.buffer, part.batchLosses.buffer]);
  }
  const result = await runClientJob(job);
  return moved(result, [result.update, ...Object.values(result.clientState ?? {}).map((v) => v.buffer)]);
}
