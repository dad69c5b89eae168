// TensorFlow.js on its WebAssembly backend (one thread), the peer baseline of the benchmarks. The wasm
// binary ships inside @tensorflow/tfjs-backend-wasm and is loaded from node_modules.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';

export interface Tfjs {
  tf: typeof TF;
  /** e.g. 'SIMD, 1 thread(s)'. */
  flavour: string;
}

/** TF.js on its wasm backend with one thread, or a reason it could not start. */
export async function loadTfjs(): Promise<Tfjs | string> {
  let tf: typeof TF;
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return `tfjs not installed (${(e as Error).message.split('\n')[0]})`;
  }
  // Another benchmark of the same run may have started the backend already; its settings hold.
  if (!tf.findBackend('wasm')) {
    wasm.setWasmPaths(join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')), '/'));
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend('wasm'))) return 'tfjs wasm backend failed to initialise';
  await tf.ready();
  if (tf.getBackend() !== 'wasm') return `tfjs runs on '${tf.getBackend()}', not wasm`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { tf, flavour: `${simd ? 'SIMD' : 'no SIMD'}, ${wasm.getThreadsCount()} thread(s)` };
}
