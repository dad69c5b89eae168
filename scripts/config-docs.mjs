// Rewrites the RunConfig option table of docs/runtime.md from the config table (src/runtime/config.ts).
// Needs the compiled sources (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { configOptionTable } = await import(join(root, 'dist/src/runtime/config.js'));
const path = join(root, 'docs/runtime.md');
const text = readFileSync(path, 'utf8');
const block = /(<!-- config-table:[^\n]*-->\n)[\s\S]*?(\n<!-- \/config-table -->)/;
if (!block.test(text)) throw new Error(`${path}: the config-table markers are missing`);
writeFileSync(path, text.replace(block, (_m, open, close) => open + configOptionTable() + close));
