// A small UCI-HAR dataset in the official text layout ("UCI HAR Dataset/{train,test}/…"), written by the
// tests themselves (the real data may not be committed): per split, six channel files of 128 values per
// line in the official '%.7e' format with 3-digit exponents, y_<split>.txt and subject_<split>.txt.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const UCI_HAR_CHANNELS = ['body_acc_x', 'body_acc_y', 'body_acc_z', 'body_gyro_x', 'body_gyro_y', 'body_gyro_z'];

/** A value in the official format: ' 1.8085150e-004' / '-2.1326350e-001'. */
export function officialNumber(v: number): string {
  const [m, e] = v.toExponential(7).split('e');
  const exp = Number(e);
  return (v < 0 ? '' : ' ') + m + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(3, '0');
}

export interface UciHarRows {
  readonly train: readonly { subject: number; label: number }[];
  readonly test: readonly { subject: number; label: number }[];
}

/** 2 training subjects of 12 windows (labels cycling 1..6), 1 test subject of 6 windows. */
export const SMALL_UCI_HAR: UciHarRows = {
  train: [1, 3].flatMap((subject) => Array.from({ length: 12 }, (_, i) => ({ subject, label: 1 + (i % 6) }))),
  test: Array.from({ length: 6 }, (_, i) => ({ subject: 2, label: 1 + i })),
};

/** The text of every file of the fixture, by path relative to 'UCI HAR Dataset/'. */
export function uciHarFiles(rows: UciHarRows = SMALL_UCI_HAR): Map<string, string> {
  const files = new Map<string, string>();
  for (const split of ['train', 'test'] as const) {
    const r = rows[split];
    UCI_HAR_CHANNELS.forEach((ch, c) => {
      const lines = r.map((_, w) => ' ' + Array.from({ length: 128 }, (_, t) => officialNumber(0.01 * (c + 1) * Math.sin(0.1 * (t + 1) * (w + 1)))).join(' '));
      files.set(`${split}/Inertial Signals/${ch}_${split}.txt`, lines.join('\n') + '\n');
    });
    files.set(`${split}/y_${split}.txt`, r.map((x) => `${x.label}\n`).join(''));
    files.set(`${split}/subject_${split}.txt`, r.map((x) => `${x.subject}\n`).join(''));
  }
  return files;
}

/** Writes the files under a fresh temporary folder; returns that folder (holding 'UCI HAR Dataset/'). */
export function writeUciHar(files: Map<string, string>, parent = mkdtempSync(join(tmpdir(), 'fedmm-ucihar-'))): string {
  for (const [rel, text] of files) {
    const path = join(parent, 'UCI HAR Dataset', rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  return parent;
}
