// Module loading shared by the main thread and the workers: the built-in tasks and strategies, and the
// run's plugin modules (each registers tasks or strategies when imported).
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';

let builtins: Promise<void> | null = null;
const plugins = new Map<string, Promise<unknown>>();

export function loadBuiltins(): Promise<void> {
  builtins ??= Promise.all([import('../fl/strategies/index.js'), import('../fl/logistic.js'), import('../fl/fedmultimodal.js')]).then(() => undefined);
  return builtins;
}

/** Imports each plugin (a module URL, or an absolute file path) once per thread. */
export async function loadPlugins(list: readonly string[]): Promise<void> {
  for (const spec of list) {
    const url = isAbsolute(spec) ? pathToFileURL(spec).href : spec;
    let p = plugins.get(url);
    if (!p) {
      p = import(url).catch((e: Error) => {
        throw new Error(`plugin '${spec}' failed to load: ${e.message.split('\n')[0]}`);
      });
      plugins.set(url, p);
    }
    await p;
  }
}
