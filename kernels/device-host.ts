// The device process: a child Node process that owns gpu.js and the GPU, and answers one request at a time
// over its IPC channel (requests and answers are V8-serialized: typed arrays travel as such).
//
// Its own process, not a thread of the caller's: Dawn's Node binding keeps per-process state (a second
// thread loading it crashes) and aborts the process when a thread holding it is torn down. Here Dawn lives on
// the main thread of a process that exits when its parent goes (the IPC channel closes). Each request is
// { op, mode, ...fields }; the answer is { ok } or { error } (one line). One process serves every mode the
// caller asks for, with one Device each.
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

/** One Device per gpu.js mode in use; init answers cached per requested mode. */
const devices = new Map<DeviceMode, Device>();
const answers = new Map<ModeRequest, InitAnswer>();

/** A tiny resident round trip proves the whole chain (device, shader compile, dispatch, readback). */
async function smokeTest(dev: Device): Promise<void> {
  const x = Float32Array.from([1, -2, 3]);
  const y = Float32Array.from([0.5, 0.25, -1]);
  const h = await dev.run('axpby', [3], [x, y, 2, 4]);
  const got = await dev.read(h, 3);
  dev.release(h);
  if (got[0] !== 4 || got[1] !== -3 || got[2] !== 2) throw new Error(`smoke kernel returned ${Array.from(got).join(',')}`);
}

async function tryMode(mode: DeviceMode): Promise<void> {
  if (devices.has(mode)) return;
  const dev = new Device(mode);
  await smokeTest(dev);
  devices.set(mode, dev);
}

async function init(request: ModeRequest): Promise<InitAnswer> {
  let answer = answers.get(request);
  if (!answer) {
    answer = await select(request);
    answers.set(request, answer);
  }
  return answer;
}

async function select(request: ModeRequest): Promise<InitAnswer> {
  const attempts: Attempt[] = [];
  let adapter: AdapterInfo | null = null;
  if (request === 'auto' || request === 'webgpu') {
    const up = await bringUpWebGpu();
    if (!up.ok) {
      attempts.push({ backend: 'webgpu', ok: false, detail: up.reason });
    } else {
      adapter = up.adapter;
      try {
        await tryMode('webgpu');
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
        await tryMode('headlessgl');
        attempts.push({ backend: 'headlessgl', ok: true, detail: 'headlessgl: GL context created' });
        return { mode: 'headlessgl', adapter, attempts };
      } catch (e) {
        attempts.push({ backend: 'headlessgl', ok: false, detail: `headlessgl: ${oneLine(e)}` });
      }
    }
    if (request === 'headlessgl') throw new Error(attempts[attempts.length - 1].detail);
  }
  await tryMode('cpu');
  attempts.push({ backend: 'cpu', ok: true, detail: "cpu: gpu.js's JavaScript fallback (same kernels, no GPU)" });
  return { mode: 'cpu', adapter, attempts };
}

async function handle(request: { op: string; mode?: ModeRequest } & Record<string, unknown>): Promise<unknown> {
  if (request.op === 'init') return init(request.mode ?? 'auto');
  if (request.op === 'shutdown') return null;
  const device = devices.get(request.mode as DeviceMode);
  if (!device) throw new Error(`gpu device process: mode '${request.mode}' not initialised`);
  if (request.op === 'compiles') return device.compiles;
  const op = OPS[request.op as OpName];
  if (!op) throw new Error(`gpu device process: unknown op '${request.op}'`);
  return op(device, request as never);
}

// The GPU is released by this process ending, not by tearing Dawn down first: on the H100 (driver 580)
// an explicit device.destroy() before exit aborted the process (SIGABRT).
process.on('message', (request: { op: string } & Record<string, unknown>) => {
  handle(request).then(
    (ok) => process.send!({ ok }, () => {
      if (request.op === 'shutdown') process.exit(0);
    }),
    (e: unknown) => process.send!({ error: oneLine(e) }),
  );
});

// The caller went away: end, and the GPU with it.
process.on('disconnect', () => process.exit(0));
