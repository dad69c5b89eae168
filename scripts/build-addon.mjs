// `npm install` hook: builds the native addon (binding.gyp) with the node-gyp that npm bundles, against
// the installed Node headers (no download). A failed build prints one line and exits 0, so the install
// still succeeds and fedmm runs on the TypeScript backend. FEDMM_SKIP_NATIVE_BUILD=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = join(root, 'build', 'node-gyp.log');

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

function headerArgs() {
  if (process.env.npm_config_nodedir) return []; // node-gyp reads it from the environment
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function main() {
  if (process.env.FEDMM_SKIP_NATIVE_BUILD === '1') {
    console.log('fedmm: native addon build skipped (FEDMM_SKIP_NATIVE_BUILD=1); using the TypeScript backend');
    return;
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    console.log('fedmm: native addon not built (node-gyp not found); using the TypeScript backend');
    return;
  }
  const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs=2', ...headerArgs()], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
  if (r.status === 0) console.log('fedmm: native addon built (build/Release/fedmm.node)');
  else console.log(`fedmm: native addon build failed (node-gyp exit ${r.status ?? r.signal}; log: build/node-gyp.log); using the TypeScript backend`);
}

main();
