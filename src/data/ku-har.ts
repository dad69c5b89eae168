// KU-HAR from its released time-domain CSVs, windowed as FedMultimodal reads them
// (features/data_partitioning/ku-har/data_partition.py and feature_processing/ku-har/extract_feature.py):
//   Trimmed_interpolated_data/<class folder>/<subject>_<...>.csv, 8 columns per row:
//   acc time, acc x, y, z, gyro time, gyro x, y, z (read without a header; the first column is the index).
// Eight class folders are used (the others are skipped, as in the original); subject 1101 is dropped.
// A file of R rows gives floor(ceil(R / 2) / 128) windows; window w is rows [256·w, 256·w + 128) taking every
// second row: 64 steps. acc and gyro are z-normalised per window and axis. Subjects (sorted as strings) are the
// natural clients; fold k (KFold(5), no shuffle) holds out the k-th fifth of them as the test set.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleSource } from './client-dataset.js';
import { zNormalizeColumns } from './normalize.js';
import { parseFloat32Decimal } from '../io/decimal.js';
import type { SampleModality } from './types.js';
import { POOL, TEST, type Universe } from './universe.js';

/** The original's label_dict: class folder → class index. */
export const KU_HAR_CLASS_FOLDERS = ['0.Stand', '1.Sit', '11.Walk', '5.Lay', '8.Jump', '14.Run', '15.Stair-up', '16.Stair-down'] as const;
export const KU_HAR_STEPS = 64;
const COLUMNS = 8;
const SKIPPED_SUBJECT = '1101';
const FOLDS = 5;

export interface KuHarData {
  readonly root: string;
  readonly n: number;
  /** [n, 64, 3] each, z-normalised per window. */
  readonly acc: Float32Array;
  readonly gyro: Float32Array;
  readonly labels: Int32Array;
  /** Subject id (as in the file name) per window. */
  readonly subjects: readonly string[];
  /** The original's partition key per window: '<class folder>/<file>-<window>'. */
  readonly keys: readonly string[];
}

/** The folder holding Trimmed_interpolated_data/ under `path` (itself, or ku-har/), or null. */
export function kuHarRoot(path: string): string | null {
  const root = resolve(path);
  return [root, join(root, 'ku-har')].find((d) => existsSync(join(d, 'Trimmed_interpolated_data'))) ?? null;
}

/** Parses one CSV into rows of 8 numbers (float64 [R, 8]); errors name the file and line. */
function readCsv(file: string): { rows: number; values: Float64Array } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const values = new Float64Array(lines.length * COLUMNS);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    if (cells.length !== COLUMNS) throw new Error(`${file}:${r + 1}: expected ${COLUMNS} comma-separated values, got ${cells.length}`);
    for (let c = 0; c < COLUMNS; c++) {
      const v = parseFloat32Decimal(cells[c].trim());
      if (v === null) throw new Error(`${file}:${r + 1}: bad number '${cells[c]}' (column ${c + 1})`);
      values[r * COLUMNS + c] = v;
    }
  });
  return { rows: lines.length, values };
}

const cache = new Map<string, KuHarData>();

/** Reads every window of KU-HAR under `path`. Cached per process. */
export function loadKuHar(path: string): KuHarData {
  const root = kuHarRoot(path);
  if (!root) throw new Error(`KU-HAR: no Trimmed_interpolated_data/ in ${resolve(path)} (nor in its ku-har/)`);
  const hit = cache.get(root);
  if (hit) return hit;
  const base = join(root, 'Trimmed_interpolated_data');
  const acc: number[] = [];
  const gyro: number[] = [];
  const labels: number[] = [];
  const subjects: string[] = [];
  const keys: string[] = [];
  const window = new Float64Array(KU_HAR_STEPS * 3);
  const out = new Float32Array(KU_HAR_STEPS * 3);
  let folders = 0;
  KU_HAR_CLASS_FOLDERS.forEach((folder, label) => {
    const dir = join(base, folder);
    if (!existsSync(dir)) return;
    folders++;
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (!statSync(file).isFile()) continue;
      const subject = name.split('_')[0];
      if (!/^\d+$/.test(subject) || !name.includes('_')) throw new Error(`${file}: file name does not start with '<subject id>_' as KU-HAR's do`);
      if (subject === SKIPPED_SUBJECT) continue;
      const { rows, values } = readCsv(file);
      const windows = Math.floor(Math.ceil(rows / 2) / 128);
      for (let w = 0; w < windows; w++) {
        for (const [dst, col] of [[acc, 1], [gyro, 5]] as const) {
          for (let t = 0; t < KU_HAR_STEPS; t++) {
            const r = 256 * w + 2 * t; // < rows: ceil(rows / 2) ≥ 128·windows
            for (let d = 0; d < 3; d++) window[t * 3 + d] = values[r * COLUMNS + col + d];
          }
          zNormalizeColumns(window, KU_HAR_STEPS, 3, out);
          for (let j = 0; j < out.length; j++) dst.push(out[j]);
        }
        labels.push(label);
        subjects.push(subject);
        keys.push(`${folder}/${name}-${w}`);
      }
    }
  });
  if (folders === 0) throw new Error(`KU-HAR: ${base} holds none of the class folders ${KU_HAR_CLASS_FOLDERS.join(', ')}`);
  if (labels.length === 0) throw new Error(`KU-HAR: no 128-row windows in ${base}`);
  const data: KuHarData = { root, n: labels.length, acc: Float32Array.from(acc), gyro: Float32Array.from(gyro), labels: Int32Array.from(labels), subjects, keys };
  cache.set(root, data);
  return data;
}

/** Test subjects of a fold: sklearn's KFold(5) without shuffling, over the subjects sorted as strings. */
export function kFoldTestSubjects(sorted: readonly string[], fold: number, folds = FOLDS): Set<string> {
  const n = sorted.length;
  let start = 0;
  for (let k = 0; k < folds; k++) {
    const size = Math.floor(n / folds) + (k < n % folds ? 1 : 0);
    if (k === fold) return new Set(sorted.slice(start, start + size));
    start += size;
  }
  throw new Error(`fold ${fold} outside 0..${folds - 1}`);
}

/** The label table (subjects as groups; the fold's test subjects as TEST) and sample source. */
export function kuHarSource(data: KuHarData, fold: number, maxLens: readonly number[]): { universe: Universe; source: SampleSource } {
  const subjects = Array.from(new Set(data.subjects)).sort();
  const groupOf = new Map(subjects.map((s, g) => [s, g]));
  const test = kFoldTestSubjects(subjects, fold);
  const group = Int32Array.from(data.subjects, (s) => groupOf.get(s)!);
  const split = Uint8Array.from(data.subjects, (s) => (test.has(s) ? TEST : POOL));
  const universe: Universe = {
    n: data.n,
    numClasses: KU_HAR_CLASS_FOLDERS.length,
    labels: data.labels,
    multi: null,
    group,
    numGroups: subjects.length,
    groupNames: subjects,
    split,
    keys: data.keys,
  };
  const W = KU_HAR_STEPS;
  const source: SampleSource = {
    size: data.n,
    numClasses: KU_HAR_CLASS_FOLDERS.length,
    multiLabel: false,
    maxLens,
    dims: [3, 3],
    label: (i) => data.labels[i],
    multiHot: () => {
      throw new Error('KU-HAR is single-label');
    },
    features: (i): SampleModality[] => [data.acc, data.gyro].map((arr, m) => {
      const len = Math.min(W, maxLens[m]);
      return { data: arr.subarray(i * W * 3, i * W * 3 + len * 3), length: len, dim: 3 };
    }),
  };
  return { universe, source };
}
