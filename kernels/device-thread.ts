// The caller's side of the device: start it, send a request, block until the answer is there.
//
// The GPU lives in a child process (device-host.ts) reached through a relay worker (device-relay.ts).
// postMessage delivers to the relay without this thread's event loop; the relay posts the answer on a
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
 * A compiled entry (device-host.js, device-relay.js). Next to this module once built (dist/kernels/); when
 * this module runs from its TypeScript source (vitest), the built copy in dist/ — `npm test` builds first.
 */
function builtEntry(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, name);
  if (existsSync(sibling)) return sibling;
  const built = join(here, '..', 'dist', 'kernels', name);
  if (existsSync(built)) return built;
  throw new Error(`gpu backend: ${name} is not built (looked for ${sibling} and ${built}; run npm run build)`);
}

/**
 * How to start the device process: this node, or FEDMM_GPU_NODE (a JSON array: a command prefix such as a
 * dynamic loader with its library path, then node) where node must run under other libraries than the
 * caller's (bench/gpu-check.sh sets it when Dawn needs a newer glibc than the system has).
 */
function hostCommand(): string[] {
  const env = process.env.FEDMM_GPU_NODE;
  let prefix = [process.execPath];
  if (env) {
    const parsed: unknown = JSON.parse(env);
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) {
      throw new Error(`FEDMM_GPU_NODE: expected a JSON array of strings (a command), got ${env}`);
    }
    prefix = parsed as string[];
  }
  return [...prefix, builtEntry('device-host.js')];
}

let shared: DeviceThread | null = null;

/**
 * This thread's device connection, started on first use and shared by every gpu backend and the probe (one
 * device process, one GPU context). When this process ends, the device process releases the GPU and ends too.
 */
export function deviceThread(): DeviceThread {
  if (!shared || shared.isClosed) shared = new DeviceThread();
  return shared;
}

/** Releases the GPU now and ends the device process; a later gpu backend starts a new one. */
export function shutdownGpu(): void {
  shared?.shutdown();
}

export class DeviceThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(builtEntry('device-relay.js'), {
      workerData: { port: port2, flag: this.flag.buffer, command: hostCommand() },
      transferList: [port2],
    });
    // Between requests nothing is in flight: the relay and the device process must not keep this one alive.
    this.worker.unref();
    this.port.unref();
  }

  /** Sends one request and waits for its answer; throws the device process's one-line error. */
  call<T>(request: { op: string } & Record<string, unknown>, timeoutMs = ANSWER_TIMEOUT_MS): T {
    if (this.closed) throw new Error('gpu backend: the device process was shut down');
    Atomics.store(this.flag, 0, 0);
    this.worker.postMessage(request);
    const waited = Atomics.wait(this.flag, 0, 0, timeoutMs);
    const message = receiveMessageOnPort(this.port);
    if (!message) {
      throw new Error(waited === 'timed-out'
        ? `gpu backend: device process did not answer '${request.op}' within ${timeoutMs / 1000} s`
        : `gpu backend: device process answered '${request.op}' with nothing`);
    }
    const answer = message.message as { ok?: T; error?: string };
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.ok as T;
  }

  /** Ends the device process (releasing the GPU with it) and the relay. */
  shutdown(): void {
    if (this.closed) return;
    try {
      this.call({ op: 'shutdown' }, 30_000);
    } finally {
      this.closed = true;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
