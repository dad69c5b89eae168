// gpu.js kernels and the gpu backend (see gpu-backend.ts); probeGpu for backend selection and `fedmm doctor`.
export { createGpuKernels, GPU_MAX_ELEMENTS, type GpuKernels } from './gpu-backend.js';
export { probeGpu, type GpuProbe } from './probe.js';
export { shutdownGpu } from './device-thread.js';
export type { Attempt, ModeRequest } from './device-host.js';
export type { CompileRecord, DeviceMode } from './device.js';
export type { AdapterInfo } from './webgpu-node.js';
