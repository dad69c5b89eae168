// The device thread: a worker that owns gpu.js and the GPU, and answers one request at a time.
//
// The Kernels interface is synchronous and WebGPU is not (every readback is a mapAsync), so the GPU lives on
// this thread and the caller blocks on an Atomics flag until the answer is posted (device-thread.ts). Each
// request is { op, ...fields }; the answer { ok } or { error } goes to the reply port, then the flag flips.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Device, type DeviceMode, gpuJs } from './device.js';
import { OPS, type OpName } from './ops.js';
import { bringUpWebGpu, oneLine, type AdapterInfo } from './webgpu-node.js';

/** Which modes the caller accepts: 'auto' = webgpu, else headlessgl, else cpu; the others force one. */
export type ModeRequest = 'auto' | DeviceMode;

export interface Attempt {
  backend: DeviceMode;
  ok: boolean;
  /** Why it was used or skipped, in one line. */
  detail: string;
}

export interface InitAnswer {
  mode: DeviceMode;
  adapter: AdapterInfo | null;
  attempts: Attempt[];
}

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const signal = new Int32Array(flag);
let device: Device | null = null;

/** A tiny resident round trip proves the whole chain (device, shader compile, dispatch, readback). */
async function smokeTest(dev: Device): Promise<void> {
  const x = Float32Array.from([1, -2, 3]);
  const y = Float32Array.from([0.5, 0.25, -1]);
  const h = await dev.run('axpby', [3], [x, y, 2, 4]);
  const got = await dev.read(h, 3);
  dev.release(h);
  if (got[0] !== 4 || got[1] !== -3 || got[2] !== 2) throw new Error(`smoke kernel returned ${Array.from(got).join(',')}`);
}

async function tryMode(mode: DeviceMode): Promise<Device> {
  const dev = new Device(mode);
  await smokeTest(dev);
  return dev;
}

async function init(request: ModeRequest): Promise<InitAnswer> {
  const attempts: Attempt[] = [];
  let adapter: AdapterInfo | null = null;
  if (request === 'auto' || request === 'webgpu') {
    const up = await bringUpWebGpu();
    if (!up.ok) {
      attempts.push({ backend: 'webgpu', ok: false, detail: up.reason });
    } else {
      adapter = up.adapter;
      try {
        device = await tryMode('webgpu');
        const kind = up.adapter.software ? 'software adapter' : 'adapter';
        attempts.push({ backend: 'webgpu', ok: true, detail: `${kind}: ${up.adapter.vendor} ${up.adapter.architecture} ${up.adapter.description}`.trim() });
        return { mode: 'webgpu', adapter, attempts };
      } catch (e) {
        attempts.push({ backend: 'webgpu', ok: false, detail: `webgpu: adapter answered but a kernel failed: ${oneLine(e)}` });
      }
    }
    if (request === 'webgpu') throw new Error(attempts[attempts.length - 1].detail);
  }
  if (request === 'auto' || request === 'headlessgl') {
    if (!gpuJs().GPU.isHeadlessGLSupported) {
      attempts.push({ backend: 'headlessgl', ok: false, detail: "headlessgl: no GL context (the optional 'gl' package is not installed or cannot open a context)" });
    } else {
      try {
        device = await tryMode('headlessgl');
        attempts.push({ backend: 'headlessgl', ok: true, detail: 'headlessgl: GL context created' });
        return { mode: 'headlessgl', adapter, attempts };
      } catch (e) {
        attempts.push({ backend: 'headlessgl', ok: false, detail: `headlessgl: ${oneLine(e)}` });
      }
    }
    if (request === 'headlessgl') throw new Error(attempts[attempts.length - 1].detail);
  }
  device = await tryMode('cpu');
  attempts.push({ backend: 'cpu', ok: true, detail: "cpu: gpu.js's JavaScript fallback (same kernels, no GPU)" });
  return { mode: 'cpu', adapter, attempts };
}

async function handle(request: { op: string; mode?: ModeRequest } & Record<string, unknown>): Promise<unknown> {
  if (request.op === 'init') return init(request.mode ?? 'auto');
  if (request.op === 'compiles') return device?.compiles ?? [];
  if (!device) throw new Error('gpu device thread: not initialised');
  const op = OPS[request.op as OpName];
  if (!op) throw new Error(`gpu device thread: unknown op '${request.op}'`);
  return op(device, request as never);
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

parentPort!.on('message', (request: { op: string } & Record<string, unknown>) => {
  handle(request).then(
    (ok) => port.postMessage({ ok }, transferables(ok)),
    (e: unknown) => port.postMessage({ error: oneLine(e) }),
  ).finally(() => {
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
});
