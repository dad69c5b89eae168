// The device: one gpu.js GPU instance in a fixed mode, a cache of compiled kernels, and the three moves the
// operations are made of — run a kernel (resident: its result stays on the device as a pipeline handle), read
// a result back into a Float32Array, release a handle.
//
// Every call is awaited: webgpu kernels return Promises, the cpu and GL ones return values (awaiting those
// costs nothing), so one orchestration serves every mode. Runs in the device process (device-host.ts).
import { createRequire } from 'node:module';
import { KERNEL_SOURCES, type KernelName } from './sources.js';

/** gpu.js modes the backend runs on: WebGPU (Dawn), headless WebGL, or gpu.js's own JavaScript fallback. */
export type DeviceMode = 'webgpu' | 'headlessgl' | 'cpu';

/** A device-resident result (WebGPU buffer, GL texture) or, on the cpu fallback, a plain array. */
export type DeviceValue = object;
/** What a kernel argument may be: host data, a resident result, or a number. */
export type KernelArg = Float32Array | DeviceValue | number;

interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): GpuJsKernel;
}
interface GpuJsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernel;
}
interface GpuJsModule {
  GPU: {
    new (settings: { mode: string }): GpuJsInstance;
    readonly isHeadlessGLSupported: boolean;
  };
}

const require = createRequire(import.meta.url);

/** gpu.js, loaded on first use (only the device process needs it). */
export function gpuJs(): GpuJsModule {
  return require('gpu.js') as GpuJsModule;
}

/** Longest loop any kernel runs (gpu.js caps every loop at a compile-time bound; the default is 1000). */
const LOOP_MAX = 1 << 24;

interface Handle {
  toArray?: () => unknown;
  delete?: () => void;
}

/** Copies a gpu.js result (Float32Array, or nested arrays of them for 2-D/3-D outputs) into out from offset. */
function flattenInto(value: unknown, out: Float32Array, offset: number): number {
  if (ArrayBuffer.isView(value)) {
    const v = value as Float32Array;
    out.set(v, offset);
    return offset + v.length;
  }
  let o = offset;
  for (const part of value as unknown[]) o = flattenInto(part, out, o);
  return o;
}

export interface CompileRecord {
  kernel: string;
  resident: boolean;
  /** Milliseconds the first call took (translation, shader compile, pipeline creation, and the run). */
  firstCallMs: number;
}

export class Device {
  private readonly gpu: GpuJsInstance;
  private readonly cache = new Map<string, GpuJsKernel>();
  /** Kernels compiled so far and what each first call cost (bench/gpu-check prints these). */
  readonly compiles: CompileRecord[] = [];

  constructor(readonly mode: DeviceMode) {
    const { GPU } = gpuJs();
    this.gpu = new GPU({ mode });
  }

  /**
   * One kernel per (source, resident): dynamicOutput and dynamicArguments let a compiled kernel serve every
   * shape, so each source compiles once per process. Resident kernels run in pipeline mode with immutable
   * results: each call gets its own buffer, so a step may read the previous step's result of the same kernel.
   */
  private kernel(name: KernelName, resident: boolean): { fn: GpuJsKernel; fresh: boolean } {
    const key = `${name}:${resident ? 'resident' : 'read'}`;
    const cached = this.cache.get(key);
    if (cached) return { fn: cached, fresh: false };
    const src = KERNEL_SOURCES[name];
    const fn = this.gpu.createKernel(src.source, {
      argumentTypes: { ...src.args },
      dynamicOutput: true,
      dynamicArguments: true,
      pipeline: resident,
      immutable: resident,
      loopMaxIterations: LOOP_MAX,
      precision: 'single',
      tactic: 'precision',
      output: [1],
    });
    this.cache.set(key, fn);
    return { fn, fresh: true };
  }

  /** Runs `name` over output [x, y?, z?] with args in the source's order; resident keeps the result on the device. */
  async run(name: KernelName, output: number[], args: KernelArg[], resident = true): Promise<DeviceValue> {
    const { fn, fresh } = this.kernel(name, resident);
    const started = fresh ? performance.now() : 0;
    fn.setOutput(output);
    let result = (await fn(...args)) as DeviceValue;
    if (fresh) this.compiles.push({ kernel: name, resident, firstCallMs: performance.now() - started });
    // The cpu fallback hands back 2-D/3-D results as nested rows; kernels read their arguments flat, so a
    // resident result there becomes one flat array (on a GPU it is already one flat buffer).
    if (resident && Array.isArray(result)) {
      const flat = new Float32Array(output.reduce((p, v) => p * v, 1));
      flattenInto(result, flat, 0);
      result = flat;
    }
    return result;
  }

  /** Runs `name` and reads its result straight back (no resident buffer is kept). */
  async runRead(name: KernelName, output: number[], args: KernelArg[], into?: Float32Array): Promise<Float32Array> {
    const n = output.reduce((p, v) => p * v, 1);
    const out = into ?? new Float32Array(n);
    const result = await this.run(name, output, args, false);
    flattenInto(result, out, 0);
    return out;
  }

  /** Reads a resident result (n values) into out at offset. */
  async read(value: DeviceValue, n: number, out = new Float32Array(n), offset = 0): Promise<Float32Array> {
    const h = value as Handle;
    const data = h.toArray && !ArrayBuffer.isView(value) && !Array.isArray(value) ? await h.toArray() : value;
    const end = flattenInto(data, out, offset);
    if (end - offset !== n) throw new Error(`gpu device: read ${end - offset} values, expected ${n}`);
    return out;
  }

  /** Frees a resident result's device memory (a no-op for the cpu fallback's plain arrays). */
  release(value: DeviceValue | null | undefined): void {
    const h = value as Handle | null | undefined;
    if (h && typeof h.delete === 'function' && !ArrayBuffer.isView(h)) h.delete();
  }
}
