// The Piscina worker entry (loaded from dist/src/runtime/worker.js): runs one client job and moves the
// encoded update's ArrayBuffer back to the main thread without copying.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { runClientJob, type ClientJob, type ClientJobResult } from './client-job.js';

export default async function clientWorker(job: ClientJob): Promise<unknown> {
  const result: ClientJobResult = await runClientJob(job);
  return move({
    get [transferableSymbol]() {
      return [result.update];
    },
    get [valueSymbol]() {
      return result;
    },
  } as unknown as ArrayBuffer);
}
