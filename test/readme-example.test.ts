// Runs the README's example code itself (its import line swapped for the source) and checks the loss falls.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

function readmeExample(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.indexOf('## Example: train a small GRU classifier');
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(section));
  if (section < 0 || !match) throw new Error('README.md: example section with a ```ts block not found');
  return match[1];
}

describe('README example', () => {
  it('imports only the public API, is at most 10 lines, and its loss falls', () => {
    const code = readmeExample();
    const lines = code.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(lines[0]).toBe("import { Tensor, nn, F, optim, manualSeed } from 'fedmm';");
    const logged: string[] = [];
    const body = `${lines.slice(1).join('\n')}\nreturn losses;`;
    const run = new Function('Tensor', 'nn', 'F', 'optim', 'manualSeed', 'console', body) as (...args: unknown[]) => number[];
    const losses = run(api.Tensor, api.nn, api.F, api.optim, api.manualSeed, { log: (s: string) => logged.push(s) });
    expect(losses).toHaveLength(60);
    expect(losses[0]).toBeGreaterThan(1);
    expect(losses[59]).toBeLessThan(0.5 * losses[0]);
    expect(logged).toEqual([`loss ${losses[0].toFixed(3)} → ${losses[59].toFixed(3)}`]);
  });
});
