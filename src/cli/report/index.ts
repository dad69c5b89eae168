// fedmm report: collects the experiments under a directory and writes report.html into it.
import { writeFileAtomic } from '../../io/atomic-file.js';
import { basename, join, resolve } from 'node:path';
import { collectExperiments } from './collect.js';
import { renderReport } from './html.js';

/** Writes <dir>/report.html (or `out`) and returns its path. */
export function writeReport(dir: string, out?: string): string {
  const root = resolve(dir);
  const exps = collectExperiments(root);
  const path = resolve(out ?? join(root, 'report.html'));
  writeFileAtomic(path, renderReport(exps, `fedmm: ${basename(root)}`, new Date()));
  return path;
}
