// Brings up WebGPU in Node for gpu.js: Dawn through the `webgpu` package, exposed as navigator.gpu.
//
// Loading is lazy and fails cleanly: the Dawn binary (webgpu/dist/<platform>-<arch>.dawn.node) needs a
// recent glibc/libstdc++ and a Vulkan loader with a driver; whichever of those is missing comes back as one
// line saying why, and the caller moves on to the next backend.

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU rasterizer (llvmpipe/lavapipe, SwiftShader) or an adapter that says it is a fallback. */
  software: boolean;
}

export type WebGpuBringUp = { ok: true; adapter: AdapterInfo } | { ok: false; reason: string };

interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}
interface DawnGpu {
  requestAdapter(options?: unknown): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  isFallbackAdapter?: boolean;
  requestDevice(descriptor?: unknown): Promise<object>;
}

/** The first line of an error's message. */
export function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

/**
 * gpu.js assigns `device.onuncapturederror = fn`; Dawn's Node binding rejects plain functions for that
 * attribute ("object is not of the correct interface type"). An own accessor on each device takes the
 * assignment instead; Dawn still prints uncaptured errors to stderr itself, and gpu.js surfaces failures
 * through its own error scopes.
 */
function patchAdapter(adapter: DawnAdapter): DawnAdapter {
  const requestDevice = adapter.requestDevice.bind(adapter);
  adapter.requestDevice = async (descriptor?: unknown) => {
    const device = await requestDevice(descriptor);
    let handler: unknown = null;
    Object.defineProperty(device, 'onuncapturederror', {
      configurable: true,
      get: () => handler,
      set: (fn: unknown) => { handler = fn; },
    });
    return device;
  };
  return adapter;
}

let bringUp: Promise<WebGpuBringUp> | null = null;

/** Loads Dawn, installs navigator.gpu and requests an adapter; once per process. */
export function bringUpWebGpu(): Promise<WebGpuBringUp> {
  bringUp ??= (async (): Promise<WebGpuBringUp> => {
    let dawn: DawnModule;
    try {
      const specifier = 'webgpu';
      dawn = (await import(specifier)) as DawnModule;
    } catch (e) {
      return { ok: false, reason: `webgpu: Dawn (webgpu/dist/${process.platform}-${process.arch}.dawn.node) did not load: ${oneLine(e)}` };
    }
    let gpu: DawnGpu;
    let adapter: DawnAdapter | null;
    try {
      Object.assign(globalThis, dawn.globals);
      gpu = dawn.create([]);
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (e) {
      return { ok: false, reason: `webgpu: adapter request failed: ${oneLine(e)}` };
    }
    if (!adapter) {
      return { ok: false, reason: 'webgpu: Dawn loaded but no adapter answered (no Vulkan loader or driver: libvulkan.so.1 and an ICD)' };
    }
    const info = adapter.info ?? {};
    const description = info.description || info.device || '';
    const vendor = info.vendor ?? '';
    const architecture = info.architecture ?? '';
    const software = adapter.isFallbackAdapter === true || SOFTWARE.test(`${vendor} ${architecture} ${description}`);
    const shim = {
      requestAdapter: async (options?: unknown) => {
        const a = await gpu.requestAdapter(options ?? { powerPreference: 'high-performance' });
        return a ? patchAdapter(a) : a;
      },
    };
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(globalThis as { navigator?: object }).navigator, gpu: shim },
      configurable: true,
      writable: true,
    });
    return { ok: true, adapter: { vendor, architecture, description, software } };
  })();
  return bringUp;
}
