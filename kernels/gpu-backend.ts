// The gpu backend: the engine's Kernels interface over gpu.js kernels running in the device process.
//
// Registered for Float32Array only: the dispatcher (src/backend/registry.ts) sends Float64Array (gradient
// checks) and problems whose arrays exceed 2^24 elements while on a GPU mode (gpu.js's generated index
// arithmetic is f32 there, exact only below that) to the TypeScript reference. Every call copies its inputs to the device process and its outputs back into the caller's
// arrays: the interface takes and returns host memory, so each kernel call ends in a readback of what it
// writes; what stays on the device is everything inside one call (see ops.ts).
import type { AdamOptions, Conv1dDims, FloatArray, GruDims, Kernels, SgdOptions } from '../src/backend/kernels.js';
import { referenceOps } from '../src/backend/js/index.js';
import { dispatchKernels, registeredKernels, type KernelEntries } from '../src/backend/registry.js';
import type { CompileRecord, DeviceMode } from './device.js';
import type { Attempt, InitAnswer, ModeRequest } from './device-host.js';
import { deviceThread } from './device-thread.js';
import type { OpName, Outputs } from './ops.js';
import type { AdapterInfo } from './webgpu-node.js';

/** Largest array a GPU mode takes (f32 index arithmetic in the generated shaders is exact below this). */
export const GPU_MAX_ELEMENTS = 1 << 24;

/** What Kernels.variant says for each gpu.js mode. */
const VARIANT: Record<DeviceMode, string> = { webgpu: 'webgpu', headlessgl: 'headlessgl', cpu: 'cpu-fallback' };

const INIT_TIMEOUT_MS = 120_000;

/** The Kernels interface plus the helpers only this backend has (aggregation, fusion, norms). */
export interface GpuKernels extends Kernels {
  readonly mode: DeviceMode;
  readonly adapter: AdapterInfo | null;
  /** What was tried on the way to this mode, and why each was used or skipped. */
  readonly attempts: readonly Attempt[];
  /** acc[P] = Σ_c weights[c]·updates[c][:] + beta·acc: all clients in one dispatch. */
  weightedAccumulate(updates: readonly Float32Array[], weights: ArrayLike<number>, beta: number, acc: Float32Array): void;
  /** c[z] = alpha·op(a[z])·op(b[z]) for z < batch (a, b, c stacked), one dispatch. */
  batchedGemm(batch: number, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    a: Float32Array, b: Float32Array, c: Float32Array): void;
  /** out[R,C] = softmax of x[R,C] over the entries with mask ≠ 0 (others 0; an all-masked row is 0). */
  maskedSoftmax(x: Float32Array, mask: Float32Array, R: number, C: number, out: Float32Array): void;
  /** out = alpha·x + beta·y (elementwise). */
  axpby(x: Float32Array, y: Float32Array, alpha: number, beta: number, out: Float32Array): void;
  /** Σ x² (partials on the device, added in float64). */
  sumSquares(x: Float32Array): number;
  /** Kernels compiled on the device so far, with the cost of each first call. */
  compiles(): CompileRecord[];
  /** Ends this backend object (later calls throw); the device process is shared and ends with this process. */
  close(): void;
}

function f32(a: FloatArray): Float32Array {
  return a as Float32Array;
}

/** Copies the answer into the caller's array (outputs are caller-provided and overwritten). */
function into(dst: FloatArray | Int32Array | null, src: Float32Array | Int32Array | number | undefined): void {
  if (dst && src !== undefined && typeof src !== 'number') dst.set(src);
}

/**
 * The gpu backend in `mode` (throws the one-line reason when that mode is not available here): 'auto' takes
 * WebGPU, else headless GL, else gpu.js's cpu fallback. Every backend of this thread shares one device process.
 */
export function createGpuKernels(mode: ModeRequest = 'auto'): GpuKernels {
  const thread = deviceThread();
  const answer = thread.call<InitAnswer>({ op: 'init', mode }, INIT_TIMEOUT_MS);
  const onGpu = answer.mode !== 'cpu';
  let closed = false;
  const call = (op: OpName, request: Record<string, unknown>): Outputs => {
    if (closed) throw new Error('gpu backend: used after close()');
    return thread.call<Outputs>({ op, mode: answer.mode, ...request });
  };
  /** Whether a problem of these array sizes runs here (else the reference takes it). */
  const fits = (...sizes: number[]): boolean => !onGpu || sizes.every((n) => n <= GPU_MAX_ELEMENTS);

  // Float32 only (the registry's default); `accepts` keeps problems within the GPU's index limit.
  const entries: KernelEntries = {
    gemm: {
      accepts: (_tA, _tB, M, N, K) => fits(M * K, K * N, M * N),
      run: (transA, transB, M, N, K, alpha, a, b, beta, c) => {
        const r = call('gemm', { transA, transB, M, N, K, alpha, a: f32(a).subarray(0, M * K), b: f32(b).subarray(0, K * N), beta,
          c: beta !== 0 ? f32(c).subarray(0, M * N) : new Float32Array(0) });
        into(c, r.c);
      },
    },
    conv1dForward: {
      accepts: (x, w, _bias, out) => fits(x.length, w.length, out.length),
      run: (x, w, bias, out, d: Conv1dDims) => into(out, call('conv1dForward', { x, w, bias, d: { ...d } }).out),
    },
    conv1dBackward: {
      accepts: (x, w, gOut) => fits(x.length, w.length, gOut.length),
      run: (x, w, gOut, gx, gw, gBias, d: Conv1dDims) => {
        const r = call('conv1dBackward', { x, w, gOut, wantGx: gx !== null, wantGw: gw !== null, wantGBias: gBias !== null, d: { ...d } });
        into(gx, r.gx);
        into(gw, r.gw);
        into(gBias, r.gBias);
      },
    },
    maxPool1dForward: {
      accepts: (_x, _out, _argmax, rows, L) => fits(rows * L),
      run: (x, out, argmax, rows, L, kernel, stride) => {
        const r = call('maxPoolForward', { x: f32(x).subarray(0, rows * L), rows, L, kernel, stride });
        into(out, r.out);
        into(argmax, r.argmax);
      },
    },
    maxPool1dBackward: {
      accepts: (_gOut, _argmax, _gx, rows, L) => fits(rows * L),
      run: (gOut, argmax, gx, rows, L, Lout) => into(gx, call('maxPoolBackward', {
        gOut: f32(gOut).subarray(0, rows * Lout), argmax: argmax.subarray(0, rows * Lout), rows, L, Lout,
      }).gx),
    },
    gruForward: {
      // the device computes the saved gates [B,T,4H] even for a forward-only call (saved null)
      accepts: (x, _lengths, _h0, wIh, wHh, _bIh, _bHh, _out, _hN, _saved, d) => fits(x.length, d.B * d.T * 4 * d.H, wIh.length, wHh.length),
      run: (x, lengths, h0, wIh, wHh, bIh, bHh, out, hN, saved, d: GruDims) => {
        const r = call('gruForward', { x, lengths, h0, wIh, wHh, bIh, bHh, d: { ...d } });
        into(out, r.out);
        into(hN, r.hN);
        into(saved, r.saved);
      },
    },
    gruBackward: {
      accepts: (x, _lengths, _h0, wIh, wHh, _out, saved, _gOut, _ghN, _gx, _gh0, _gWih, _gWhh, _gbIh, _gbHh, d) =>
        fits(x.length, saved.length, wIh.length, wHh.length, d.B * d.T * 7 * d.H),
      run: (x, lengths, h0, wIh, wHh, out, saved, gOut, ghN, gx, gh0, gWih, gWhh, gbIh, gbHh, d: GruDims) => {
        const want = { gx: gx !== null, gh0: gh0 !== null, gWih: gWih !== null, gWhh: gWhh !== null, gbIh: gbIh !== null, gbHh: gbHh !== null };
        const r = call('gruBackward', { x, lengths, h0, wIh, wHh, out, saved, gOut, ghN, want, d: { ...d } });
        into(gx, r.gx);
        into(gh0, r.gh0);
        into(gWih, r.gWih);
        into(gWhh, r.gWhh);
        into(gbIh, r.gbIh);
        into(gbHh, r.gbHh);
      },
    },
    sgdStep: {
      accepts: (param) => fits(param.length),
      run: (param, grad, momentumBuf, o: SgdOptions) => {
        if (o.momentum !== 0 && !momentumBuf) throw new Error('sgdStep: momentum needs a momentum buffer');
        const r = call('sgdStep', { param, grad, momentumBuf: o.momentum !== 0 ? momentumBuf : null, ...o });
        into(param, r.param);
        if (o.momentum !== 0) into(momentumBuf, r.momentumBuf);
      },
    },
    adamStep: {
      accepts: (param) => fits(param.length),
      run: (param, grad, expAvg, expAvgSq, o: AdamOptions) => {
        const r = call('adamStep', { param, grad, expAvg, expAvgSq, ...o });
        into(param, r.param);
        into(expAvg, r.expAvg);
        into(expAvgSq, r.expAvgSq);
      },
    },
  };
  const dispatched = dispatchKernels('gpu', () => VARIANT[answer.mode], { ...registeredKernels('gpu'), ...entries }, referenceOps);

  const extras: Omit<GpuKernels, keyof Kernels> = {
    mode: answer.mode,
    adapter: answer.adapter,
    attempts: answer.attempts,

    weightedAccumulate(updates, weights, beta, acc) {
      const P = acc.length;
      for (const [i, u] of updates.entries()) {
        if (u.length !== P) throw new Error(`weightedAccumulate: update ${i} has ${u.length} values, the accumulator ${P}`);
      }
      if (weights.length !== updates.length) {
        throw new Error(`weightedAccumulate: ${weights.length} weights for ${updates.length} updates`);
      }
      const stacked = new Float32Array(updates.length * P);
      updates.forEach((u, i) => stacked.set(u, i * P));
      if (!fits(stacked.length)) throw new Error(`weightedAccumulate: ${updates.length}×${P} values exceed the GPU limit of ${GPU_MAX_ELEMENTS} per dispatch; accumulate in groups`);
      const r = call('weightedAccumulate', {
        updates: stacked, weights: Float32Array.from(weights), clients: updates.length, P, beta, acc: beta !== 0 ? acc : null,
      });
      into(acc, r.acc);
    },

    batchedGemm(batch, transA, transB, M, N, K, alpha, a, b, c) {
      if (!fits(a.length, b.length, c.length)) throw new Error(`batchedGemm: arrays exceed the GPU limit of ${GPU_MAX_ELEMENTS} elements`);
      into(c, call('batchedGemm', { batch, transA, transB, M, N, K, alpha, a: a.subarray(0, batch * M * K), b: b.subarray(0, batch * K * N) }).c);
    },

    maskedSoftmax(x, mask, R, C, out) {
      into(out, call('maskedSoftmax', { x: x.subarray(0, R * C), mask: mask.subarray(0, R * C), R, C }).out);
    },

    axpby(x, y, alpha, beta, out) {
      into(out, call('axpby', { x, y, alpha, beta }).out);
    },

    sumSquares(x) {
      return call('sumSquares', { x }).value as number;
    },

    compiles() {
      return thread.call<CompileRecord[]>({ op: 'compiles', mode: answer.mode });
    },

    close() {
      closed = true;
    },
  };
  return Object.assign(dispatched, extras);
}
