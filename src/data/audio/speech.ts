// The audio of CREMA-D and MELD from WAV files, as FedMultimodal's extract_audio_feature.py computes it:
// FeatureManager.extract_mfcc_features (channels averaged, resampled to 16 kHz, Kaldi fbank 25/10 ms with 80 mel
// bins and a Hamming window, cut to 600 / 1000 frames), then z-normalised per group as its pickles are: a
// training speaker's training clips over those clips' frames, its dev clips over the dev clips' frames (the
// original normalises the 'dev' pickle per speaker), a test speaker over all its clips — and MELD's dev and
// test clips per transcript, because the field its script reads as the speaker holds the utterance's text. The second modality (video, text) comes from pretrained networks and is absent here (length 0):
// train with --modality audio, or import the original's features as a prepared dataset.
// Raw fbank features are cached on disk under a hash of the WAV bytes and the pipeline, so a second run reads them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { SampleSource } from '../client-dataset.js';
import { column, parseCsv } from '../csv.js';
import { parseDecimalInteger } from '../../io/decimal.js';
import type { SampleModality } from '../types.js';
import { OFFICIAL_DEV, POOL, TEST, type Universe } from '../universe.js';
import { kFoldTestSubjects } from '../ku-har.js';
import { fbank } from './fbank.js';
import { resample } from './resample.js';
import { mixToMono, readWav } from './wav.js';

const PIPELINE = 'fedmm-fbank-v1';
const SAMPLE_RATE = 16000;
const MEL_BINS = 80;

/** One clip: its WAV, class (fedmm's order), speaker, split role and the original's partition key. */
interface Clip {
  readonly file: string;
  readonly label: number;
  readonly speaker: string;
  readonly split: number;
  readonly key: string;
  /**
   * What the original's extract_audio_feature.py groups the clip's normalisation by: its speaker, except in
   * MELD's dev and test pickles, whose records hold the transcript where it looks for a speaker.
   */
  readonly normGroup: string;
}

export interface SpeechData {
  readonly dataset: 'crema-d' | 'meld';
  readonly root: string;
  readonly clips: readonly Clip[];
  /** Cached raw fbank file per clip. */
  readonly cached: readonly string[];
  readonly frames: Int32Array;
  /** Per clip, per fbank bin: the sum of its frames' values, then the sum of their squares (float64, [n, 2·80]). */
  readonly moments: Float64Array;
}

/** Mean and std + 1e-5 of every fbank bin over a group of clips' frames (numpy's population std). */
interface BinStats {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

/** Where the fbank cache lives: $FEDMM_CACHE_DIR, else ~/.cache/fedmm. */
export function featureCacheDir(): string {
  return join(process.env.FEDMM_CACHE_DIR ?? join(homedir(), '.cache', 'fedmm'), 'fbank');
}

/** The clip's fbank [frames, 80] (float32), from the cache or computed and cached. */
function cachedFbank(file: string, frameLength: number, frameShift: number, maxFrames: number): { path: string; data: Float32Array } {
  const bytes = (() => {
    try {
      return readFileSync(file);
    } catch {
      throw new Error(`${file}: missing audio file`);
    }
  })();
  const hash = createHash('sha256').update(`${PIPELINE}/${frameLength}/${frameShift}/${maxFrames}/`).update(bytes).digest('hex');
  const dir = featureCacheDir();
  const path = join(dir, hash.slice(0, 2), `${hash}.f32`);
  if (existsSync(path)) {
    const b = readFileSync(path);
    if (b.byteLength % (4 * MEL_BINS) === 0) return { path, data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
  }
  const wav = readWav(file);
  const mono = resample(mixToMono(wav), wav.sampleRate, SAMPLE_RATE);
  const f = fbank(mono, { frameLength, frameShift, numMelBins: MEL_BINS });
  if (f.frames === 0) throw new Error(`${file}: ${wav.frames} samples at ${wav.sampleRate} Hz is shorter than one ${frameLength} ms frame`);
  const data = f.data.slice(0, Math.min(f.frames, maxFrames) * MEL_BINS);
  mkdirSync(join(dir, hash.slice(0, 2)), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
  return { path, data };
}

/** Per clip: Σx and Σx² of each bin over its frames, as SpeechData.moments. */
function clipMoments(feats: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(feats.length * 2 * MEL_BINS);
  feats.forEach((x, i) => {
    const m = out.subarray(i * 2 * MEL_BINS, (i + 1) * 2 * MEL_BINS);
    for (let t = 0; t < x.length / MEL_BINS; t++) {
      for (let b = 0; b < MEL_BINS; b++) {
        const v = x[t * MEL_BINS + b];
        m[b] += v;
        m[MEL_BINS + b] += v * v;
      }
    }
  });
  return out;
}

/** The statistics of each group of clips (group[i] = the key of clip i). */
function groupStats(data: SpeechData, group: readonly string[]): Map<string, BinStats> {
  const acc = new Map<string, { frames: number; m: Float64Array }>();
  group.forEach((key, i) => {
    let a = acc.get(key);
    if (!a) acc.set(key, (a = { frames: 0, m: new Float64Array(2 * MEL_BINS) }));
    a.frames += data.frames[i];
    const m = data.moments.subarray(i * 2 * MEL_BINS, (i + 1) * 2 * MEL_BINS);
    for (let b = 0; b < 2 * MEL_BINS; b++) a.m[b] += m[b];
  });
  return new Map([...acc].map(([key, { frames, m }]) => {
    const mean = m.subarray(0, MEL_BINS).map((v) => v / frames);
    const scale = mean.map((mu, b) => Math.sqrt(Math.max(0, m[MEL_BINS + b] / frames - mu * mu)) + 1e-5);
    return [key, { mean, scale }];
  }));
}

/** CREMA-D: the folder holding AudioWAV/ and processedResults/summaryTable.csv (or crema_d/CREMA-D/ below it). */
export function cremaDRoot(path: string): string | null {
  const root = resolve(path);
  return [root, join(root, 'CREMA-D'), join(root, 'crema_d', 'CREMA-D')].find((d) => existsSync(join(d, 'AudioWAV')) && existsSync(join(d, 'processedResults', 'summaryTable.csv'))) ?? null;
}

/** The original's label_dict order A, S, H, N mapped to fedmm's (neutral, happy, sad, angry). */
const CREMA_D_VOTES: Readonly<Record<string, number>> = { N: 0, H: 1, S: 2, A: 3 };

function cremaDClips(root: string): Clip[] {
  const table = join(root, 'processedResults', 'summaryTable.csv');
  const t = parseCsv(table, readFileSync(table, 'utf8'));
  const name = column(t, 'FileName');
  const vote = column(t, 'MultiModalVote');
  const votes = new Map<string, string>();
  for (const r of t.rows) votes.set(r.cells[name].trim(), r.cells[vote].trim());
  const clips: Clip[] = [];
  for (const f of readdirSync(join(root, 'AudioWAV')).filter((x) => x.includes('.wav')).sort()) {
    if (f === '1076_MTI_SAD_XX.wav') continue; // an empty recording the original skips
    const sentence = f.split('.wav')[0];
    const speaker = parseDecimalInteger(sentence.split('_')[0]);
    if (speaker === null) throw new Error(`${join(root, 'AudioWAV', f)}: file name does not start with '<speaker id>_'`);
    const v = votes.get(sentence);
    if (v === undefined) throw new Error(`${table}: no row for ${sentence} (file AudioWAV/${f})`);
    if (!(v in CREMA_D_VOTES)) continue; // votes outside A, S, H, N (or ties) are not used
    clips.push({ file: join(root, 'AudioWAV', f), label: CREMA_D_VOTES[v], speaker: String(speaker), split: POOL, key: join(root, 'AudioWAV', f), normGroup: String(speaker) });
  }
  return clips;
}

/** MELD: the MELD.Raw folder (or meld/MELD.Raw/ below it) with the *_sent_emo.csv tables and extracted waves. */
export function meldRoot(path: string): string | null {
  const root = resolve(path);
  return [root, join(root, 'MELD.Raw'), join(root, 'meld', 'MELD.Raw')].find((d) => existsSync(join(d, 'train_sent_emo.csv'))) ?? null;
}

/** The original's MELD label_dict (neutral, sadness, joy, anger) in fedmm's order (neutral, joy, sadness, anger). */
const MELD_EMOTIONS: Readonly<Record<string, number>> = { neutral: 0, joy: 1, sadness: 2, anger: 3 };
const MELD_SPLITS = [['train', 'train_splits', POOL], ['dev', 'dev_splits_complete', OFFICIAL_DEV], ['test', 'output_repeated_splits_test', TEST]] as const;

function meldClips(root: string): Clip[] {
  const clips: Clip[] = [];
  for (const [split, folder, role] of MELD_SPLITS) {
    const table = join(root, `${split}_sent_emo.csv`);
    if (!existsSync(table)) throw new Error(`MELD: missing ${table}`);
    const t = parseCsv(table, readFileSync(table, 'utf8'));
    const [emo, dia, utt, season, speakerCol, text] = ['Emotion', 'Dialogue_ID', 'Utterance_ID', 'Season', 'Speaker', 'Utterance'].map((c) => column(t, c));
    const bySpeaker = new Map<string, Clip[]>();
    for (const r of t.rows) {
      const d = parseDecimalInteger(r.cells[dia].trim());
      const u = parseDecimalInteger(r.cells[utt].trim());
      if (d === null || u === null) throw new Error(`${table}:${r.line}: Dialogue_ID/Utterance_ID '${r.cells[dia]}'/'${r.cells[utt]}' are not integers`);
      const file = join(root, folder, 'waves', `dia${d}_utt${u}.wav`);
      if (!existsSync(file)) continue; // the original drops missing or corrupt files
      const label = MELD_EMOTIONS[r.cells[emo].trim()];
      if (label === undefined) continue;
      const speaker = `season${r.cells[season].trim()}_utt${r.cells[speakerCol].trim()}`;
      let list = bySpeaker.get(speaker);
      if (!list) bySpeaker.set(speaker, (list = []));
      const normGroup = split === 'train' ? `train/${speaker}` : `${split}/utterance ${r.cells[text]}`;
      list.push({ file, label, speaker: `${split}/${speaker}`, split: role, key: `dia${d}_utt${u}`, normGroup });
    }
    // speakers with more than 10 utterances, in every split, as the original's data_partition
    for (const s of [...bySpeaker.keys()].sort()) if (bySpeaker.get(s)!.length > 10) clips.push(...bySpeaker.get(s)!);
  }
  return clips;
}

const cache = new Map<string, SpeechData>();

/** Reads (and caches the fbank of) every clip of CREMA-D or MELD under `path`. */
export function loadSpeech(dataset: 'crema-d' | 'meld', path: string): SpeechData {
  const root = dataset === 'crema-d' ? cremaDRoot(path) : meldRoot(path);
  if (!root) {
    throw new Error(dataset === 'crema-d'
      ? `CREMA-D: no AudioWAV/ with processedResults/summaryTable.csv in ${resolve(path)} (nor in CREMA-D/ or crema_d/CREMA-D/)`
      : `MELD: no train_sent_emo.csv in ${resolve(path)} (nor in MELD.Raw/ or meld/MELD.Raw/)`);
  }
  const hit = cache.get(`${dataset}:${root}`);
  if (hit) return hit;
  const clips = dataset === 'crema-d' ? cremaDClips(root) : meldClips(root);
  if (clips.length === 0) throw new Error(`${dataset}: no labelled clips under ${root}`);
  const maxFrames = dataset === 'crema-d' ? 600 : 1000;
  const feats = clips.map((c) => cachedFbank(c.file, 25, 10, maxFrames));
  const data: SpeechData = {
    dataset,
    root,
    clips,
    cached: feats.map((f) => f.path),
    frames: Int32Array.from(feats, (f) => f.data.length / MEL_BINS),
    moments: clipMoments(feats.map((f) => f.data)),
  };
  cache.set(`${dataset}:${root}`, data);
  return data;
}

/**
 * Label table and samples. CREMA-D: speakers (numeric order) are the clients, fold k holds out the k-th fifth
 * (KFold(5) without shuffling); MELD: training speakers are the clients, the official dev and test splits.
 */
export function speechSource(data: SpeechData, fold: number, maxLens: readonly number[]): { universe: Universe; source: SampleSource } {
  const speakers = Array.from(new Set(data.clips.map((c) => c.speaker))).sort((a, b) => (data.dataset === 'crema-d' ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  const groupOf = new Map(speakers.map((s, g) => [s, g]));
  const test = data.dataset === 'crema-d' ? kFoldTestSubjects(speakers, fold) : new Set<string>();
  const n = data.clips.length;
  const universe: Universe = {
    n,
    numClasses: 4,
    labels: Int32Array.from(data.clips, (c) => c.label),
    multi: null,
    group: Int32Array.from(data.clips, (c) => groupOf.get(c.speaker)!),
    numGroups: speakers.length,
    groupNames: speakers.map((s) => (data.dataset === 'crema-d' ? `speaker-${s}` : s.replace(/^train\//, ''))),
    split: Uint8Array.from(data.clips, (c) => (test.has(c.speaker) ? TEST : c.split)),
    keys: data.clips.map((c) => c.key),
    // MELD's partition numbers its training speakers 0, 1, … in sorted order; CREMA-D keys them by speaker id
    originalGroupNames: data.dataset === 'meld' ? (() => {
      let k = 0;
      return speakers.map((s) => (s.startsWith('train/') ? String(k++) : s));
    })() : speakers,
  };
  // Normalisation groups, as the original's pickles: a training speaker's training clips and its dev clips apart
  // (the partition's dev split), every other clip by its Clip.normGroup.
  let devClips = new Uint8Array(n);
  /** Each clip's group statistics, resolved once (reset when the dev split changes). */
  let clipStats: BinStats[] | null = null;
  const normGroup = (i: number): string => `${universe.split[i] === POOL && devClips[i] ? 'dev' : 'all'}/${data.clips[i].normGroup}`;
  const source: SampleSource = {
    useDevSplit(dev: Int32Array): void {
      devClips = new Uint8Array(n);
      for (const i of dev) devClips[i] = 1;
      clipStats = null;
    },
    size: n,
    numClasses: 4,
    multiLabel: false,
    maxLens,
    dims: [MEL_BINS, data.dataset === 'crema-d' ? 1280 : 512],
    label: (i) => data.clips[i].label,
    multiHot: () => {
      throw new Error(`${data.dataset} is single-label`);
    },
    features: (i): SampleModality[] => {
      const b = readFileSync(data.cached[i]);
      const raw = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      const len = Math.min(data.frames[i], maxLens[0]);
      if (raw.length < len * MEL_BINS) throw new Error(`${data.cached[i]}: cached features of ${basename(data.clips[i].file)} are truncated; delete the file to recompute`);
      clipStats ??= (() => {
        const keys = data.clips.map((_, j) => normGroup(j));
        const byGroup = groupStats(data, keys);
        return keys.map((key) => byGroup.get(key)!);
      })();
      const { mean, scale } = clipStats[i];
      const out = new Float32Array(len * MEL_BINS);
      for (let t = 0; t < len; t++) for (let k = 0; k < MEL_BINS; k++) out[t * MEL_BINS + k] = (raw[t * MEL_BINS + k] - mean[k]) / scale[k];
      return [{ data: out, length: len, dim: MEL_BINS }, { data: new Float32Array(0), length: 0, dim: source.dims[1] }];
    },
  };
  return { universe, source };
}
