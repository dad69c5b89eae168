// The kernel registry: implementations keyed by (op, backend), and the one dispatcher that decides, per call,
// which of them runs.
//
// A backend registers only the ops it implements (`registerKernel`, or a table of entries for a backend that
// is built per instance, like gpu); each entry says which dtypes it takes (float32 unless it says float64)
// and, optionally, which problem sizes (`accepts`). `dispatchKernels` turns a backend's entries into a full
// `Kernels` object: for every op it calls the backend's entry when that entry takes the call, and the
// TypeScript reference otherwise — a float64 call, a size the entry refuses, an op the backend lacks. No other
// place in the engine chooses between a backend and the reference, so a new kernel is one entry per backend
// (plus its reference in src/backend/js and its parity test).
import type { BackendName, KernelOps, Kernels, OpName } from './kernels.js';

export interface KernelEntry<Op extends OpName> {
  readonly run: KernelOps[Op];
  /** Takes Float64Array arrays too (default: float32 only; a call with any Float64Array goes to the reference). */
  readonly float64?: boolean;
  /** Whether this implementation takes a call of these arguments (e.g. a size limit); default: all. */
  readonly accepts?: (...args: Parameters<KernelOps[Op]>) => boolean;
}

/** A backend's implementations: any subset of the ops. */
export type KernelEntries = { [Op in OpName]?: KernelEntry<Op> };

const registered = new Map<BackendName, KernelEntries>();
const listeners: (() => void)[] = [];

/** Adds or replaces `backend`'s implementation of `op` (backends built from the registry pick it up). */
export function registerKernel<Op extends OpName>(backend: BackendName, op: Op, entry: KernelEntry<Op>): void {
  let entries = registered.get(backend);
  if (!entries) registered.set(backend, (entries = {}));
  (entries as Record<string, unknown>)[op] = entry;
  for (const l of listeners) l();
}

/** Registers every entry of a table for `backend`. */
export function registerKernels(backend: BackendName, entries: KernelEntries): void {
  for (const op of Object.keys(entries) as OpName[]) registerKernel(backend, op, entries[op] as KernelEntry<typeof op>);
}

/** What `backend` has registered (a copy). */
export function registeredKernels(backend: BackendName): KernelEntries {
  return { ...registered.get(backend) };
}

/** Calls `fn` whenever a registration changes (the backend index drops its dispatchers then). */
export function onRegistryChange(fn: () => void): void {
  listeners.push(fn);
}

function anyFloat64(args: readonly unknown[]): boolean {
  for (let i = 0; i < args.length; i++) if (args[i] instanceof Float64Array) return true;
  return false;
}

/** One op's dispatcher: the entry when it takes the call, else the reference. */
function dispatchOp<Op extends OpName>(entry: KernelEntry<Op> | undefined, reference: KernelOps[Op]): KernelOps[Op] {
  if (!entry) return reference;
  const run = entry.run as (...a: unknown[]) => unknown;
  const ref = reference as (...a: unknown[]) => unknown;
  const accepts = entry.accepts as ((...a: unknown[]) => boolean) | undefined;
  const float64 = entry.float64 === true;
  const fn = (...args: unknown[]): unknown => {
    if ((!float64 && anyFloat64(args)) || (accepts && !accepts(...args))) return ref(...args);
    return run(...args);
  };
  return fn as unknown as KernelOps[Op];
}

/**
 * A backend's complete `Kernels`: its entries where they take a call, `reference` (every op, every dtype)
 * otherwise. `variant` is read on each access (a backend's code path can change, e.g. the native ISA).
 */
export function dispatchKernels(name: BackendName, variant: () => string, entries: KernelEntries, reference: KernelOps): Kernels {
  const k: Record<string, unknown> = {};
  Object.defineProperty(k, 'name', { value: name, enumerable: true });
  Object.defineProperty(k, 'variant', { get: variant, enumerable: true });
  for (const op of Object.keys(reference) as OpName[]) {
    k[op] = dispatchOp(entries[op] as KernelEntry<typeof op> | undefined, reference[op]);
  }
  return k as unknown as Kernels;
}
