// The relay: a worker thread between the synchronous caller (device-thread.ts) and the device process
// (device-host.ts). The caller blocks on an Atomics flag; this thread forwards each request to the device
// process, and posts the answer (or why none came: the process exited) on the reply port, then flips the flag.
// It never loads Dawn itself, so it can be torn down at any time.
import { spawn } from 'node:child_process';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

interface RelayData {
  port: MessagePort;
  flag: SharedArrayBuffer;
  /** argv of the device process: the node command (with any loader prefix) and the device-host script. */
  command: string[];
}

const { port, flag, command } = workerData as RelayData;
const signal = new Int32Array(flag);

function answer(reply: { ok?: unknown; error?: string }): void {
  port.postMessage(reply, transferables(reply.ok));
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function transferables(value: unknown): ArrayBuffer[] {
  if (!value || typeof value !== 'object') return [];
  const list: ArrayBuffer[] = [];
  for (const v of Object.values(value)) {
    if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
      list.push(v.buffer);
    }
  }
  return list;
}

const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced' });
let pending: string | null = null;
let gone: string | null = null;

child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
child.on('message', (reply: { ok?: unknown; error?: string }) => {
  const op = pending;
  pending = null;
  answer(reply);
  if (op === 'shutdown') {
    // The device process ends now; whatever Dawn prints on the way out is not this caller's business.
    child.stderr!.destroy();
    child.disconnect();
    port.close();
    parentPort!.close();
  }
});
function lost(why: string): void {
  if (gone !== null) return;
  gone = `gpu device process ${why}`;
  if (pending !== null) {
    pending = null;
    answer({ error: gone });
  }
}
child.on('error', (e) => lost(`could not start: ${e.message}`));
child.on('exit', (code, sig) => lost(`exited (${sig ?? `code ${code}`})`));

parentPort!.on('message', (request: { op: string } & Record<string, unknown>) => {
  if (gone !== null) {
    answer({ error: gone });
    return;
  }
  pending = request.op;
  child.send(request);
});
