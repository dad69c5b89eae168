// npm run bench [name…]: runs every benchmark module (or the named ones) in turn.
import * as engine from './engine.js';

const modules: { name: string; run: () => Promise<void> }[] = [
  { name: 'engine', run: engine.run },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !modules.some((m) => m.name === w));
if (unknown.length) throw new Error(`bench: unknown module ${unknown.join(', ')} (known: ${modules.map((m) => m.name).join(', ')})`);
for (const m of modules) {
  if (wanted.length && !wanted.includes(m.name)) continue;
  console.log(`\n## ${m.name}`);
  await m.run();
}
