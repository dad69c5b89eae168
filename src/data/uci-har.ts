// Loader of the real UCI-HAR data: the official "UCI HAR Dataset" text layout, or the compact float32
// layout of ../shared/data/uci-har (<channel>_<split>.f32 + y_/subject_ text files). Six channels
// (body_acc x/y/z, body_gyro x/y/z), 128 steps per window, z-normalised per window and channel.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleSource } from './client-dataset.js';
import { float32Problem, parseDecimalInteger } from '../io/decimal.js';
import { zNormalizeWindow } from './simulate.js';
import type { SampleModality } from './types.js';
import { POOL, TEST, type Universe } from './universe.js';

export const UCI_HAR_WINDOW = 128;
export const UCI_HAR_CLASSES = 6;
const CHANNELS = ['body_acc_x', 'body_acc_y', 'body_acc_z', 'body_gyro_x', 'body_gyro_y', 'body_gyro_z'] as const;
const SPLITS = ['train', 'test'] as const;

/** One official split: acc and gyro [n, 128, 3] (z-normalised per window and channel), labels 0..5, subject ids. */
export interface UciHarSplit {
  readonly n: number;
  readonly acc: Float32Array;
  readonly gyro: Float32Array;
  readonly labels: Int32Array;
  readonly subjects: Int32Array;
}

export interface UciHarData {
  readonly train: UciHarSplit;
  readonly test: UciHarSplit;
  /** Which layout was read and from where. */
  readonly layout: 'official-text' | 'compact-f32';
  readonly root: string;
}

function readText(file: string): string {
  if (!existsSync(file)) throw new Error(`UCI-HAR: missing file ${file}`);
  return readFileSync(file, 'utf8');
}

/**
 * The lines of a text file. Every line of the official files ends with a newline; a file that stops
 * mid-line was cut short, and its last number may have lost digits ('-2.1326350e-00' for '-2.1326350e-001').
 */
function lines(text: string, file: string): string[] {
  if (text.length > 0 && !text.endsWith('\n')) {
    throw new Error(`${file}:${text.split('\n').length}: the file ends in the middle of a line; it looks truncated`);
  }
  const out = text.split(/\r?\n/);
  if (out.length > 0 && out[out.length - 1].trim() === '') out.pop();
  return out;
}

/**
 * Parses the text of one channel file of the official layout (one window of 128 float32 decimals per
 * line); errors name file, line and column.
 */
export function parseSignalText(text: string, file: string): Float32Array {
  const rows = lines(text, file);
  const out = new Float32Array(rows.length * UCI_HAR_WINDOW);
  const token = /\S+/g;
  rows.forEach((row, r) => {
    let j = 0;
    token.lastIndex = 0;
    for (let m = token.exec(row); m !== null; m = token.exec(row)) {
      if (j === UCI_HAR_WINDOW) throw new Error(`${file}:${r + 1}:${m.index + 1}: more than ${UCI_HAR_WINDOW} values on the line`);
      const problem = float32Problem(m[0]);
      if (problem !== null) throw new Error(`${file}:${r + 1}:${m.index + 1}: bad number '${m[0]}' (value ${j + 1}): ${problem}`);
      out[r * UCI_HAR_WINDOW + j] = Number(m[0]);
      j++;
    }
    if (j !== UCI_HAR_WINDOW) throw new Error(`${file}:${r + 1}: expected ${UCI_HAR_WINDOW} values, got ${j}`);
  });
  return out;
}

function parseSignalF32(file: string): Float32Array {
  if (!existsSync(file)) throw new Error(`UCI-HAR: missing file ${file}`);
  const buf = readFileSync(file);
  if (buf.byteLength % (4 * UCI_HAR_WINDOW) !== 0) {
    throw new Error(`${file}: ${buf.byteLength} bytes is not a whole number of ${UCI_HAR_WINDOW}-value float32 rows`);
  }
  const out = new Float32Array(buf.byteLength / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) {
    const v = view.getFloat32(4 * i, true);
    if (!Number.isFinite(v)) throw new Error(`${file}:${Math.floor(i / UCI_HAR_WINDOW) + 1}: value ${(i % UCI_HAR_WINDOW) + 1} is not a finite number`);
    out[i] = v;
  }
  return out;
}

/** Parses labels (1..6 → 0..5) or subject ids (≥ 1): one plain decimal integer per line. */
export function parseIntegerText(text: string, file: string, what: 'label' | 'subject'): Int32Array {
  const rows = lines(text, file);
  const out = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const t = row.trim();
    const at = `${file}:${r + 1}:${row.indexOf(t) + 1}`;
    const v = parseDecimalInteger(t);
    if (what === 'label') {
      if (v === null || v < 1 || v > UCI_HAR_CLASSES) throw new Error(`${at}: unknown label '${t}' (expected 1..${UCI_HAR_CLASSES})`);
      out[r] = v - 1;
    } else {
      if (v === null || v < 1 || v > 2 ** 31 - 1) throw new Error(`${at}: bad subject id '${t}' (expected a positive integer)`);
      out[r] = v;
    }
  });
  return out;
}

function parseIntegers(file: string, what: 'label' | 'subject'): Int32Array {
  return parseIntegerText(readText(file), file, what);
}

/** The official split is by subject; a subject in both splits would leak its windows into the test set. */
function checkSubjectsDisjoint(train: UciHarSplit, test: UciHarSplit, trainFile: string, testFile: string): void {
  const inTrain = new Set(train.subjects);
  const i = test.subjects.findIndex((s) => inTrain.has(s));
  if (i >= 0) {
    const s = test.subjects[i];
    throw new Error(`${testFile}:${i + 1}: test subject ${s} is also a training subject (${trainFile}:${train.subjects.indexOf(s) + 1}); the splits must not share subjects`);
  }
}

function assemble(channels: Float32Array[], files: string[], labels: Int32Array, subjects: Int32Array, yFile: string, sFile: string): UciHarSplit {
  const n = labels.length;
  if (subjects.length !== n) throw new Error(`${sFile}: ${subjects.length} rows, but ${yFile} has ${n}`);
  channels.forEach((c, k) => {
    if (c.length !== n * UCI_HAR_WINDOW) throw new Error(`${files[k]}: ${c.length / UCI_HAR_WINDOW} rows, but ${yFile} has ${n}`);
  });
  const W = UCI_HAR_WINDOW;
  const acc = new Float32Array(n * W * 3);
  const gyro = new Float32Array(n * W * 3);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < W; t++) {
      for (let d = 0; d < 3; d++) {
        acc[(i * W + t) * 3 + d] = channels[d][i * W + t];
        gyro[(i * W + t) * 3 + d] = channels[3 + d][i * W + t];
      }
    }
    zNormalizeWindow(acc.subarray(i * W * 3, (i + 1) * W * 3), W, 3);
    zNormalizeWindow(gyro.subarray(i * W * 3, (i + 1) * W * 3), W, 3);
  }
  return { n, acc, gyro, labels, subjects };
}

const cache = new Map<string, UciHarData>();

/**
 * Reads UCI-HAR from `path`: a folder holding "UCI HAR Dataset/" (or being it) in the official text
 * layout, or the compact float32 layout. Errors name the file and line. Cached per process.
 */
export function loadUciHar(path: string): UciHarData {
  const root = resolve(path);
  const hit = cache.get(root);
  if (hit) return hit;
  let data: UciHarData;
  const official = [join(root, 'UCI HAR Dataset'), root].find((d) => existsSync(join(d, 'train', 'Inertial Signals')));
  if (existsSync(join(root, 'body_acc_x_train.f32'))) {
    const split = (s: (typeof SPLITS)[number]): UciHarSplit => {
      const files = CHANNELS.map((c) => join(root, `${c}_${s}.f32`));
      const yFile = join(root, `y_${s}.txt`);
      const sFile = join(root, `subject_${s}.txt`);
      return assemble(files.map(parseSignalF32), files, parseIntegers(yFile, 'label'), parseIntegers(sFile, 'subject'), yFile, sFile);
    };
    data = { train: split('train'), test: split('test'), layout: 'compact-f32', root };
    checkSubjectsDisjoint(data.train, data.test, join(root, 'subject_train.txt'), join(root, 'subject_test.txt'));
  } else if (official) {
    const split = (s: (typeof SPLITS)[number]): UciHarSplit => {
      const files = CHANNELS.map((c) => join(official, s, 'Inertial Signals', `${c}_${s}.txt`));
      const yFile = join(official, s, `y_${s}.txt`);
      const sFile = join(official, s, `subject_${s}.txt`);
      return assemble(files.map((f) => parseSignalText(readText(f), f)), files, parseIntegers(yFile, 'label'), parseIntegers(sFile, 'subject'), yFile, sFile);
    };
    data = { train: split('train'), test: split('test'), layout: 'official-text', root: official };
    checkSubjectsDisjoint(data.train, data.test, join(official, 'train', 'subject_train.txt'), join(official, 'test', 'subject_test.txt'));
  } else {
    const what = existsSync(root) && statSync(root).isDirectory() ? 'no UCI-HAR data in' : 'no such folder';
    throw new Error(`UCI-HAR: ${what} ${root} (expected 'UCI HAR Dataset/train/Inertial Signals/*.txt' or 'body_acc_x_train.f32')`);
  }
  cache.set(root, data);
  return data;
}

/** The label table (subjects as groups; official test subjects as TEST) and sample source of loaded UCI-HAR. */
export function uciHarSource(data: UciHarData, maxLens: readonly number[]): { universe: Universe; source: SampleSource } {
  const n = data.train.n + data.test.n;
  const labels = new Int32Array(n);
  labels.set(data.train.labels, 0);
  labels.set(data.test.labels, data.train.n);
  const uniq = (s: Int32Array) => Array.from(new Set(s)).sort((a, b) => a - b);
  const subjects = [...uniq(data.train.subjects), ...uniq(data.test.subjects)];
  const groupOf = new Map(subjects.map((s, g) => [s, g]));
  const group = new Int32Array(n);
  const split = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const inTrain = i < data.train.n;
    const s = inTrain ? data.train.subjects[i] : data.test.subjects[i - data.train.n];
    group[i] = groupOf.get(s)!;
    split[i] = inTrain ? POOL : TEST;
  }
  const universe: Universe = {
    n,
    numClasses: UCI_HAR_CLASSES,
    labels,
    multi: null,
    group,
    numGroups: subjects.length,
    groupNames: subjects.map((s) => `subject-${String(s).padStart(2, '0')}`),
    split,
  };
  const W = UCI_HAR_WINDOW;
  const source: SampleSource = {
    size: n,
    numClasses: UCI_HAR_CLASSES,
    multiLabel: false,
    maxLens,
    dims: [3, 3],
    label: (i) => labels[i],
    multiHot: () => {
      throw new Error('UCI-HAR is single-label');
    },
    features: (i): SampleModality[] => {
      if (!(i >= 0 && i < n)) throw new Error(`uci-har: sample ${i} out of range [0, ${n})`);
      const sp = i < data.train.n ? data.train : data.test;
      const j = i < data.train.n ? i : i - data.train.n;
      return [sp.acc, sp.gyro].map((arr, m) => {
        const len = Math.min(W, maxLens[m]);
        return { data: arr.subarray(j * W * 3, j * W * 3 + len * 3), length: len, dim: 3 };
      });
    },
  };
  return { universe, source };
}
