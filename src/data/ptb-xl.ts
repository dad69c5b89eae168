// PTB-XL from its release (ptbxl_database.csv, scp_statements.csv, records100/…), as FedMultimodal's
// data_partitioning/ptb-xl/data_partition.py and feature_processing/ptb-xl/extract_feature.py read it:
// records without a site are dropped; the labels are the diagnostic superclasses (NORM, MI, STTC, CD, HYP) of
// the scp_codes with likelihood 100 whose statement has diagnostic = 1 (multi-hot; none is all zeros); the 100 Hz
// record (filename_lr) gives limb leads I, II, III, AVR, AVL, AVF and chest leads V1–V6, each set z-normalised
// per lead over the record; strat_fold 1–8 train (one client per site), 9 dev, 10 test.
// Records are read from disk when a sample is first used.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleSource } from './client-dataset.js';
import { column, parseCsv } from './csv.js';
import { zNormalizeColumns } from './normalize.js';
import { parseFloat32Decimal, parseDecimalInteger } from '../io/decimal.js';
import type { SampleModality } from './types.js';
import { OFFICIAL_DEV, POOL, TEST, type Universe } from './universe.js';
import { readWfdbRecord } from './wfdb.js';

export const PTB_XL_CLASSES = ['NORM', 'MI', 'STTC', 'CD', 'HYP'] as const;
export const PTB_XL_LEADS = [['I', 'II', 'III', 'AVR', 'AVL', 'AVF'], ['V1', 'V2', 'V3', 'V4', 'V5', 'V6']] as const;
const RELEASE_FOLDER = 'ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.3';

export interface PtbXlData {
  readonly root: string;
  readonly n: number;
  /** filename_lr per record (relative to root, no extension). */
  readonly files: readonly string[];
  /** Multi-hot [n, 5]. */
  readonly multi: Uint8Array;
  readonly sites: readonly string[];
  readonly folds: Int32Array;
}

/** The release folder under `path`: itself, or the PhysioNet folder name below it (or below ptb-xl/). */
export function ptbXlRoot(path: string): string | null {
  const root = resolve(path);
  return [root, join(root, RELEASE_FOLDER), join(root, 'ptb-xl', RELEASE_FOLDER)].find((d) => existsSync(join(d, 'ptbxl_database.csv'))) ?? null;
}

const SCP = /^\{\s*(?:'[^']*'\s*:\s*[-+0-9.eE]+\s*(?:,\s*'[^']*'\s*:\s*[-+0-9.eE]+\s*)*)?\}$/;

/** scp_codes ("{'NORM': 100.0, 'SR': 0.0}") as code → likelihood. */
function parseScpCodes(text: string, where: string): Map<string, number> {
  if (!SCP.test(text.trim())) throw new Error(`${where}: scp_codes '${text}' is not a {'CODE': likelihood, …} dictionary`);
  const out = new Map<string, number>();
  for (const m of text.matchAll(/'([^']*)'\s*:\s*([-+0-9.eE]+)/g)) {
    const v = parseFloat32Decimal(m[2]);
    if (v === null) throw new Error(`${where}: scp_codes likelihood '${m[2]}' of ${m[1]} is not a number`);
    out.set(m[1], v);
  }
  return out;
}

/** Diagnostic statement → superclass, from scp_statements.csv (rows with diagnostic = 1). */
function readStatements(file: string): Map<string, string> {
  if (!existsSync(file)) throw new Error(`PTB-XL: missing ${file}`);
  const t = parseCsv(file, readFileSync(file, 'utf8'));
  const diag = column(t, 'diagnostic');
  const cls = column(t, 'diagnostic_class');
  const out = new Map<string, string>();
  for (const r of t.rows) {
    const d = r.cells[diag].trim();
    if (d === '') continue;
    const v = parseFloat32Decimal(d);
    if (v === null) throw new Error(`${file}:${r.line}: diagnostic '${d}' is not a number`);
    if (v !== 1) continue;
    const c = r.cells[cls].trim();
    if (!(PTB_XL_CLASSES as readonly string[]).includes(c)) throw new Error(`${file}:${r.line}: diagnostic_class '${c}' of ${r.cells[0]} is none of ${PTB_XL_CLASSES.join(', ')}`);
    out.set(r.cells[0], c);
  }
  return out;
}

const cache = new Map<string, PtbXlData>();

/** Reads the record table of PTB-XL under `path` (the signals are read per sample). Cached per process. */
export function loadPtbXl(path: string): PtbXlData {
  const root = ptbXlRoot(path);
  if (!root) throw new Error(`PTB-XL: no ptbxl_database.csv in ${resolve(path)} (nor in ${RELEASE_FOLDER}/ below it)`);
  const hit = cache.get(root);
  if (hit) return hit;
  const statements = readStatements(join(root, 'scp_statements.csv'));
  const dbFile = join(root, 'ptbxl_database.csv');
  const t = parseCsv(dbFile, readFileSync(dbFile, 'utf8'));
  const [scp, site, fold, fileCol] = ['scp_codes', 'site', 'strat_fold', 'filename_lr'].map((c) => column(t, c));
  const files: string[] = [];
  const sites: string[] = [];
  const folds: number[] = [];
  const multi: number[] = [];
  for (const r of t.rows) {
    const where = `${dbFile}:${r.line}`;
    const s = r.cells[site].trim();
    if (s === '') continue; // dropna(subset=['site'])
    if (parseFloat32Decimal(s) === null) throw new Error(`${where}: site '${s}' is not a number`);
    const f = parseDecimalInteger(r.cells[fold].trim());
    if (f === null || f < 1 || f > 10) throw new Error(`${where}: strat_fold '${r.cells[fold]}' is not an integer in 1..10`);
    const name = r.cells[fileCol].trim();
    if (name === '' || name.includes('..')) throw new Error(`${where}: bad filename_lr '${name}'`);
    const y = new Array<number>(PTB_XL_CLASSES.length).fill(0);
    for (const [code, likelihood] of parseScpCodes(r.cells[scp], where)) {
      const c = statements.get(code);
      if (c !== undefined && likelihood === 100) y[PTB_XL_CLASSES.indexOf(c as (typeof PTB_XL_CLASSES)[number])] = 1;
    }
    files.push(name);
    sites.push(String(parseFloat32Decimal(s)));
    folds.push(f);
    multi.push(...y);
  }
  if (files.length === 0) throw new Error(`${dbFile}: no record with a site`);
  const data: PtbXlData = { root, n: files.length, files, multi: Uint8Array.from(multi), sites, folds: Int32Array.from(folds) };
  cache.set(root, data);
  return data;
}

/** Reads record i's two lead sets, z-normalised per lead: float32 [samples, 6] each. */
export function ptbXlFeatures(data: PtbXlData, i: number): Float32Array[] {
  const path = join(data.root, data.files[i]);
  const { header, signal } = readWfdbRecord(path);
  const names = header.signals.map((s) => s.name);
  const S = names.length;
  const N = header.samples;
  return PTB_XL_LEADS.map((leads) => {
    const cols = leads.map((l) => {
      const k = names.indexOf(l);
      if (k < 0) throw new Error(`${path}.hea: no lead ${l} (leads: ${names.join(', ')})`);
      return k;
    });
    const x = new Float64Array(N * 6);
    for (let t = 0; t < N; t++) for (let j = 0; j < 6; j++) x[t * 6 + j] = signal[t * S + cols[j]];
    const out = new Float32Array(N * 6);
    zNormalizeColumns(x, N, 6, out);
    return out;
  });
}

/** The label table (sites as groups; strat_fold 9 official dev, 10 test) and the lazily read samples. */
export function ptbXlSource(data: PtbXlData, maxLens: readonly number[]): { universe: Universe; source: SampleSource } {
  const siteNames = Array.from(new Set(data.sites)).sort((a, b) => Number(a) - Number(b));
  const groupOf = new Map(siteNames.map((s, g) => [s, g]));
  const C = PTB_XL_CLASSES.length;
  const universe: Universe = {
    n: data.n,
    numClasses: C,
    labels: new Int32Array(data.n).fill(-1),
    multi: data.multi,
    group: Int32Array.from(data.sites, (s) => groupOf.get(s)!),
    numGroups: siteNames.length,
    groupNames: siteNames.map((s) => `site-${s}`),
    // the original keys clients by pandas' float site: str(2.0) = '2.0'
    originalGroupNames: siteNames.map((s) => (Number.isInteger(Number(s)) ? `${s}.0` : s)),
    split: Uint8Array.from(data.folds, (f) => (f === 10 ? TEST : f === 9 ? OFFICIAL_DEV : POOL)),
  };
  const source: SampleSource = {
    size: data.n,
    numClasses: C,
    multiLabel: true,
    maxLens,
    dims: [6, 6],
    label: () => {
      throw new Error('PTB-XL is multi-label');
    },
    multiHot: (i) => data.multi.subarray(i * C, (i + 1) * C),
    features: (i): SampleModality[] => ptbXlFeatures(data, i).map((x, m) => {
      const len = Math.min(x.length / 6, maxLens[m]);
      return { data: x.subarray(0, len * 6), length: len, dim: 6 };
    }),
  };
  return { universe, source };
}
