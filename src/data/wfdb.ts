// A small WFDB reader (PhysioNet's header + signal files), enough for PTB-XL: one-segment records whose
// signals are all stored in format 16 (little-endian int16, samples interleaved frame by frame) in .dat files.
// Physical values are (digital − baseline) / gain, as wfdb.rdsamp gives them.
//   header line 1:  <record>[/<segments>] <signals> [<fs>[/<counter fs>][(<base counter>)] [<samples> ...]]
//   signal lines:   <file> <format>[x<spf>][:<skew>][+<offset>] [<gain>[(<baseline>)][/<units>] [<resolution> [<zero> [<initial> [<checksum> [<block size> [<description>]]]]]]]
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseFloat32Decimal, parseDecimalInteger } from '../io/decimal.js';

export interface WfdbSignal {
  readonly file: string;
  readonly gain: number;
  readonly baseline: number;
  readonly units: string;
  readonly checksum: number | null;
  readonly name: string;
}

export interface WfdbHeader {
  readonly record: string;
  readonly fs: number;
  readonly samples: number;
  readonly signals: readonly WfdbSignal[];
}

const DEFAULT_GAIN = 200;
const INVALID_SAMPLE = -32768;

/** Parses a .hea file; errors name the file and line. */
export function readWfdbHeader(file: string): WfdbHeader {
  if (!existsSync(file)) throw new Error(`${file}: missing WFDB header`);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text !== '' && !l.text.startsWith('#'));
  if (lines.length === 0) throw new Error(`${file}: empty WFDB header`);
  const head = lines[0];
  const fail = (line: number, what: string): never => {
    throw new Error(`${file}:${line}: ${what}`);
  };
  const f = head.text.split(/\s+/);
  if (f[0].includes('/')) fail(head.line, `multi-segment record '${f[0]}' is not supported`);
  const nsig = parseDecimalInteger(f[1] ?? '');
  if (nsig === null || nsig < 1) fail(head.line, `bad signal count '${f[1] ?? ''}'`);
  const fsField = (f[2] ?? '250').split(/[/(]/)[0];
  const fs = parseFloat32Decimal(fsField);
  if (fs === null || fs <= 0) fail(head.line, `bad sampling frequency '${f[2]}'`);
  const samples = parseDecimalInteger(f[3] ?? '');
  if (samples === null || samples < 1) fail(head.line, `bad or missing sample count '${f[3] ?? ''}'`);
  if (lines.length < 1 + nsig!) fail(lines[lines.length - 1].line, `${nsig} signals declared, ${lines.length - 1} signal lines: truncated header`);
  const signals: WfdbSignal[] = [];
  for (let k = 0; k < nsig!; k++) {
    const { text, line } = lines[1 + k];
    const s = text.split(/\s+/);
    const fmt = /^(\d+)(?:x\d+)?(?::\d+)?(?:\+(\d+))?$/.exec(s[1] ?? '');
    if (!fmt) fail(line, `bad format field '${s[1] ?? ''}'`);
    if (fmt![1] !== '16') fail(line, `signal format ${fmt![1]} is not supported (format 16 only)`);
    if (fmt![0].includes('x') || fmt![0].includes(':') || fmt![2] !== undefined) fail(line, `samples per frame, skew and byte offset are not supported ('${s[1]}')`);
    const g = /^([^(/]+)(?:\(([^)]*)\))?(?:\/(.*))?$/.exec(s[2] ?? '200');
    const gain0 = g ? parseFloat32Decimal(g[1]) : null;
    if (gain0 === null || gain0 < 0) fail(line, `bad ADC gain '${s[2]}'`);
    const zero = s[4] === undefined ? 0 : parseDecimalInteger(s[4]);
    if (zero === null) fail(line, `bad ADC zero '${s[4]}'`);
    const baseline = g![2] !== undefined ? parseDecimalInteger(g![2]) : zero;
    if (baseline === null) fail(line, `bad baseline '${g![2]}'`);
    const checksum = s[6] === undefined ? null : parseDecimalInteger(s[6]);
    if (s[6] !== undefined && checksum === null) fail(line, `bad checksum '${s[6]}'`);
    signals.push({ file: s[0], gain: gain0 === 0 ? DEFAULT_GAIN : gain0!, baseline: baseline!, units: g![3] ?? 'mV', checksum, name: s.slice(8).join(' ') });
  }
  const files = new Set(signals.map((s) => s.file));
  if (files.size !== 1) fail(lines[1].line, `signals spread over ${files.size} files; one interleaved .dat file is supported`);
  return { record: f[0], fs: fs!, samples: samples!, signals };
}

/**
 * Reads a record (`path` without extension: <dir>/<record>) as physical values, float64 [samples, signals]
 * row-major. Checks the .dat size and each signal's checksum; refuses invalid (−32768) samples.
 */
export function readWfdbRecord(path: string): { header: WfdbHeader; signal: Float64Array } {
  const heaFile = `${path}.hea`;
  const header = readWfdbHeader(heaFile);
  const datFile = join(dirname(path), header.signals[0].file);
  const S = header.signals.length;
  const N = header.samples;
  let fd: number;
  try {
    fd = openSync(datFile, 'r');
  } catch {
    throw new Error(`${datFile}: missing signal file (named by ${heaFile})`);
  }
  const bytes = Buffer.alloc(N * S * 2);
  try {
    const size = fstatSync(fd).size;
    if (size < bytes.length) throw new Error(`${datFile}: ${size} bytes, but ${heaFile} declares ${N} samples × ${S} signals in format 16 (${bytes.length} bytes): truncated`);
    readSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  const signal = new Float64Array(N * S);
  const sums = new Float64Array(S);
  for (let t = 0; t < N; t++) {
    for (let k = 0; k < S; k++) {
      const d = bytes.readInt16LE((t * S + k) * 2);
      if (d === INVALID_SAMPLE) throw new Error(`${datFile}: sample ${t + 1} of signal ${k + 1} (${header.signals[k].name}) is the invalid value -32768`);
      sums[k] += d;
      const s = header.signals[k];
      signal[t * S + k] = (d - s.baseline) / s.gain;
    }
  }
  header.signals.forEach((s, k) => {
    if (s.checksum === null) return;
    const got = ((((sums[k] % 65536) + 65536 + 32768) % 65536) - 32768);
    if ((((got - s.checksum) % 65536) + 65536) % 65536 !== 0) throw new Error(`${datFile}: signal ${k + 1} (${s.name}) checksum ${got} differs from ${s.checksum} in ${heaFile}: corrupt data`);
  });
  return { header, signal };
}
