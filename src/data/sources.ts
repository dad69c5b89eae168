// Real data: which kinds of files serve which dataset, how a --data-dir folder is recognised, and the
// loaders of raw files (each gives the label table and the samples; the partition is then drawn from the
// table as for simulated data).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SampleSource } from './client-dataset.js';
import { cremaDRoot, loadSpeech, meldRoot, speechSource } from './audio/speech.js';
import { kuHarRoot, kuHarSource, loadKuHar } from './ku-har.js';
import { isPreparedDataset } from './prepared.js';
import { loadPtbXl, ptbXlRoot, ptbXlSource } from './ptb-xl.js';
import type { DatasetSpec } from './registry.js';
import type { DataSource, RealSourceKind } from './types.js';
import { loadUciHar, uciHarSource } from './uci-har.js';
import type { Universe } from './universe.js';

/** Raw-file kinds per dataset (a prepared folder serves every dataset). */
const RAW_KINDS: Readonly<Partial<Record<string, readonly RealSourceKind[]>>> = {
  'uci-har': ['uci-har'],
  'ku-har': ['ku-har'],
  'ptb-xl': ['ptb-xl'],
  'crema-d': ['audio'],
  meld: ['audio'],
};

/** What raw files a dataset can be read from, for messages. */
const RAW_HINT: Readonly<Partial<Record<string, string>>> = {
  'uci-har': "'UCI HAR Dataset/' (official text layout) or the compact body_acc_x_train.f32 layout",
  'ku-har': "KU-HAR's Trimmed_interpolated_data/ (the released time-domain CSVs)",
  'ptb-xl': 'the PTB-XL release (ptbxl_database.csv, scp_statements.csv, records100/)',
  'crema-d': 'CREMA-D (AudioWAV/ and processedResults/summaryTable.csv)',
  meld: 'MELD.Raw (the *_sent_emo.csv tables and the WAVs extracted into <split folder>/waves/)',
};

/** Refuses a source that cannot serve the dataset. */
export function checkSource(spec: DatasetSpec, source: DataSource): void {
  if (source.kind === 'simulated' || source.kind === 'prepared') return;
  if (!(RAW_KINDS[spec.id] ?? []).includes(source.kind)) throw new Error(`${spec.id}: raw ${source.kind} files cannot serve dataset ${spec.id}`);
}

/**
 * The source a --data-dir folder holds for a dataset: a prepared dataset (manifest.json, or fold1/manifest.json)
 * when present, else the dataset's raw layout. A clear error when the folder holds neither.
 */
export function detectSource(spec: DatasetSpec, path: string): DataSource {
  const root = resolve(path);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new Error(`${spec.id}: no such folder ${root} (expected a prepared dataset${RAW_HINT[spec.id] ? ` or ${RAW_HINT[spec.id]}` : ''})`);
  }
  if (isPreparedDataset(root)) return { kind: 'prepared', path: root };
  const kinds = RAW_KINDS[spec.id];
  if (!kinds) {
    throw new Error(`${root}: no manifest.json: ${spec.id} is read from a prepared dataset only (convert FedMultimodal's features with scripts/import-fedmultimodal.py; see docs/datasets.md)`);
  }
  if (spec.id === 'uci-har') return { kind: 'uci-har', path: root };
  if (spec.id === 'ku-har' && kuHarRoot(root)) return { kind: 'ku-har', path: root };
  if (spec.id === 'ptb-xl' && ptbXlRoot(root)) return { kind: 'ptb-xl', path: root };
  if ((spec.id === 'crema-d' && cremaDRoot(root)) || (spec.id === 'meld' && meldRoot(root))) return { kind: 'audio', path: root };
  throw new Error(`${root}: neither a prepared dataset (manifest.json) nor ${RAW_HINT[spec.id] ?? 'raw files'} for ${spec.id}`);
}

/** Label table and samples of a dataset's raw files. */
export function loadRawSource(spec: DatasetSpec, source: { readonly kind: Exclude<RealSourceKind, 'prepared'>; readonly path: string }, fold: number, maxLens: readonly number[]): { universe: Universe; source: SampleSource } {
  switch (source.kind) {
    case 'uci-har':
      return uciHarSource(loadUciHar(source.path), maxLens);
    case 'ku-har':
      return kuHarSource(loadKuHar(source.path), fold, maxLens);
    case 'ptb-xl':
      return ptbXlSource(loadPtbXl(source.path), maxLens);
    case 'audio':
      if (spec.id !== 'crema-d' && spec.id !== 'meld') throw new Error(`${spec.id}: raw audio is read for crema-d and meld`);
      return speechSource(loadSpeech(spec.id, source.path), fold, maxLens);
  }
}
