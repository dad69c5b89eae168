// The caller's side of the device thread: spawn it, send a request, block until the answer is there.
//
// postMessage delivers to the worker without this thread's event loop; the worker posts the answer on a
// MessageChannel and flips a shared Int32 flag; Atomics.wait sleeps on the flag and receiveMessageOnPort
// takes the answer synchronously. That is what lets asynchronous WebGPU sit behind the synchronous Kernels
// interface.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Longest a single request may take before the caller gives up (the first WebGPU init compiles shaders). */
const ANSWER_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The compiled worker entry. Next to this module once built (dist/kernels/); when this module runs from
 * its TypeScript source (vitest), the built copy in dist/ — `npm test` builds first.
 */
export function deviceHostPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'device-host.js');
  if (existsSync(sibling)) return sibling;
  const built = join(here, '..', 'dist', 'kernels', 'device-host.js');
  if (existsSync(built)) return built;
  throw new Error(`gpu backend: the device thread's entry is not built (looked for ${sibling} and ${built}; run npm run build)`);
}

export class DeviceThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(deviceHostPath(), {
      workerData: { port: port2, flag: this.flag.buffer },
      transferList: [port2],
    });
    // The thread holds no work of its own between requests: it must not keep the process alive.
    this.worker.unref();
    this.port.unref();
  }

  /** Sends one request and waits for its answer; throws the device thread's one-line error. */
  call<T>(request: { op: string } & Record<string, unknown>, transfer: ArrayBuffer[] = [], timeoutMs = ANSWER_TIMEOUT_MS): T {
    if (this.closed) throw new Error('gpu backend: the device thread was closed');
    Atomics.store(this.flag, 0, 0);
    this.worker.postMessage(request, transfer);
    const waited = Atomics.wait(this.flag, 0, 0, timeoutMs);
    const message = receiveMessageOnPort(this.port);
    if (!message) {
      throw new Error(waited === 'timed-out'
        ? `gpu backend: device thread did not answer '${request.op}' within ${timeoutMs / 1000} s`
        : `gpu backend: device thread answered '${request.op}' with nothing`);
    }
    const answer = message.message as { ok?: T; error?: string };
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.ok as T;
  }

  close(): Promise<number> {
    this.closed = true;
    return this.worker.terminate();
  }
}
