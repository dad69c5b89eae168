// CREMA-D and MELD audio from hand-made WAV layouts: labels from the vote / emotion tables, speakers as
// clients, per-speaker normalisation, the content-hashed fbank cache, and clear errors for damaged inputs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fbank } from '../src/data/audio/fbank.js';
import { resample } from '../src/data/audio/resample.js';
import { featureCacheDir, loadSpeech } from '../src/data/audio/speech.js';
import { createFederatedDataset } from '../src/data/federated.js';

const dir = mkdtempSync(join(tmpdir(), 'fedmm-speech-'));
const savedCache = process.env.FEDMM_CACHE_DIR;
beforeAll(() => (process.env.FEDMM_CACHE_DIR = join(dir, 'cache')));
afterAll(() => {
  if (savedCache === undefined) delete process.env.FEDMM_CACHE_DIR;
  else process.env.FEDMM_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

/** A 16-bit mono WAV of a tone (frequency, seconds, rate). */
function toneWav(freq: number, seconds: number, rate: number): Buffer {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(2 * rate, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / rate)), 44 + 2 * i);
  return buf;
}

const VOTES = ['A', 'S', 'H', 'N', 'D'];
/** CREMA-D with speakers 1001–1010, 10 clips each (votes A, S, H, N, D in turn; D is not used). */
function cremaD(root: string): string {
  const base = join(root, 'crema_d', 'CREMA-D');
  mkdirSync(join(base, 'AudioWAV'), { recursive: true });
  mkdirSync(join(base, 'processedResults'), { recursive: true });
  const rows = [',FileName,VoiceVote,VoiceLevel,FaceVote,FaceLevel,MultiModalVote,MultiModalLevel'];
  let k = 0;
  for (let s = 1001; s <= 1010; s++) {
    for (let c = 0; c < 10; c++, k++) {
      const name = `${s}_S${c}_X_XX`;
      writeFileSync(join(base, 'AudioWAV', `${name}.wav`), toneWav(300 + 100 * (k % 7), 0.2 + 0.01 * c, c % 2 ? 22050 : 16000));
      rows.push(`${k},${name},A,50,A,50,${VOTES[k % 5]},60`);
    }
  }
  writeFileSync(join(base, 'processedResults', 'summaryTable.csv'), rows.join('\n') + '\n');
  return root;
}

describe('CREMA-D audio', () => {
  let root = '';
  beforeAll(() => (root = cremaD(join(dir, 'raw'))));

  test('clips, labels (fedmm order) and speaker folds; fbank cached by content', () => {
    const d = loadSpeech('crema-d', root);
    expect(d.clips.length).toBe(100 - 20); // every 5th vote is D
    expect(d.clips.slice(0, 4).map((c) => c.label)).toEqual([3, 2, 1, 0]); // A, S, H, N → angry 3, sad 2, happy 1, neutral 0
    expect(readdirSync(featureCacheDir()).length).toBeGreaterThan(0);
    // clip 1 of speaker 1001: 22.05 kHz → resampled to 16 kHz → 25/10 ms fbank, 80 bins
    const c = d.clips[1];
    expect(c.file).toMatch(/1001_S1_X_XX.wav$/);
    expect(d.frames[1]).toBe(1 + Math.floor((Math.ceil((16000 * Math.round(0.21 * 22050)) / 22050) - 400) / 160));
    const fd = createFederatedDataset('crema-d', { source: { kind: 'audio', path: root }, fold: 0 });
    expect(fd.test().size).toBe(d.clips.filter((x) => ['1001', '1002'].includes(x.speaker)).length);
    expect(fd.summary().map((r) => [r.name, r.train, r.dev])).toEqual([1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010].map((s) => [`speaker-${s}`, 7, 1]));
  });

  test("features: raw fbank z-normalised over the speaker's frames; the video modality is absent", () => {
    const d = loadSpeech('crema-d', root);
    const fd = createFederatedDataset('crema-d', { source: { kind: 'audio', path: root }, fold: 0 });
    const test = fd.test();
    // speaker 1001's clips are the first test samples: per bin, their normalised frames have mean 0 and std ≈ 1
    const mine = d.clips.map((x, i) => ({ x, i })).filter(({ x }) => x.speaker === '1001');
    const sum = new Float64Array(80);
    const sq = new Float64Array(80);
    let frames = 0;
    for (let k = 0; k < mine.length; k++) {
      const s = test.sample(k);
      expect(s.modalities[1].length).toBe(0);
      const a = s.modalities[0];
      frames += a.length;
      for (let t = 0; t < a.length; t++) for (let b = 0; b < 80; b++) sum[b] += a.data[t * 80 + b];
    }
    for (let k = 0; k < mine.length; k++) {
      const a = test.sample(k).modalities[0];
      for (let t = 0; t < a.length; t++) for (let b = 0; b < 80; b++) sq[b] += (a.data[t * 80 + b] - sum[b] / frames) ** 2;
    }
    for (const b of [0, 10, 40, 79]) {
      expect(Math.abs(sum[b] / frames)).toBeLessThan(1e-4);
      expect(Math.sqrt(sq[b] / frames)).toBeGreaterThan(0.99);
    }
    // and the raw features are the fbank of the resampled WAV
    const first = mine[0];
    const raw = fbank(resample(Float32Array.from({ length: Math.round(0.2 * 16000) }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 16000)) / 32768), 16000, 16000), { frameLength: 25, frameShift: 10, numMelBins: 80 });
    expect(d.frames[first.i]).toBe(raw.frames);
  });

  test("a training speaker's training clips and its dev clips are normalised apart, as the original's pickles", () => {
    const fd = createFederatedDataset('crema-d', { source: { kind: 'audio', path: root }, fold: 0 });
    /** Per bin: mean and std of the normalised frames of a set's samples. */
    const moments = (set: { size: number; sample(k: number): { modalities: { data: Float32Array; length: number }[] } }) => {
      const sum = new Float64Array(80);
      const sq = new Float64Array(80);
      let frames = 0;
      for (let k = 0; k < set.size; k++) {
        const a = set.sample(k).modalities[0];
        frames += a.length;
        for (let t = 0; t < a.length; t++) {
          for (let b = 0; b < 80; b++) {
            sum[b] += a.data[t * 80 + b];
            sq[b] += a.data[t * 80 + b] ** 2;
          }
        }
      }
      return Array.from(sum, (v, b) => ({ mean: v / frames, std: Math.sqrt(sq[b] / frames - (v / frames) ** 2) }));
    };
    const train = moments(fd.client(0)); // speaker 1003: 7 training clips
    const dev = moments(fd.clientDev(0)); // and its 1 dev clip
    for (const b of [0, 10, 40, 79]) {
      expect(Math.abs(train[b].mean)).toBeLessThan(1e-4);
      expect(train[b].std).toBeGreaterThan(0.99);
      expect(Math.abs(dev[b].mean)).toBeLessThan(1e-4); // one tone: a bin may be constant over its frames (std 0)
    }
  });

  test('damaged inputs: a broken WAV and a missing vote name the file', () => {
    const bad = cremaD(join(dir, 'bad'));
    writeFileSync(join(bad, 'crema_d/CREMA-D/AudioWAV/1003_S2_X_XX.wav'), Buffer.from('RIFF....WAVEjunk'));
    expect(() => loadSpeech('crema-d', bad)).toThrow(/1003_S2_X_XX.wav: no fmt chunk/);
    const bad2 = cremaD(join(dir, 'bad2'));
    writeFileSync(join(bad2, 'crema_d/CREMA-D/AudioWAV/1004_EXTRA_X_XX.wav'), toneWav(440, 0.1, 16000));
    expect(() => loadSpeech('crema-d', bad2)).toThrow(/summaryTable.csv: no row for 1004_EXTRA_X_XX \(file AudioWAV\/1004_EXTRA_X_XX.wav\)/);
    expect(() => loadSpeech('crema-d', join(dir, 'nowhere'))).toThrow(/CREMA-D: no AudioWAV\//);
  });
});

describe('MELD audio', () => {
  test('official splits, speakers with more than 10 utterances, emotions outside the four dropped', () => {
    const root = join(dir, 'meld', 'MELD.Raw');
    const emotions = ['neutral', 'joy', 'sadness', 'anger', 'surprise'];
    const folders = { train: 'train_splits', dev: 'dev_splits_complete', test: 'output_repeated_splits_test' };
    for (const [split, folder] of Object.entries(folders)) {
      mkdirSync(join(root, folder, 'waves'), { recursive: true });
      const rows = ['Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime'];
      const speakers = split === 'train' ? ['Ross', 'Rachel', 'Joey'] : ['Monica'];
      let sr = 0;
      speakers.forEach((sp, s) => {
        const count = sp === 'Joey' ? 8 : 16; // Joey has too few utterances
        for (let u = 0; u < count; u++, sr++) {
          rows.push(`${sr},"Well, hi ""there"" ${u % 3}",${sp},${emotions[(u + s) % 5]},neutral,${s},${u},1,1,00:00:01,00:00:02`);
          if (!(split === 'train' && sp === 'Rachel' && u === 0)) writeFileSync(join(root, folder, 'waves', `dia${s}_utt${u}.wav`), toneWav(200 + 50 * u, 0.15, 16000));
        }
      });
      writeFileSync(join(root, `${split}_sent_emo.csv`), rows.join('\n') + '\n');
    }
    const fd = createFederatedDataset('meld', { source: { kind: 'audio', path: join(dir, 'meld') } });
    // surprise is dropped before the > 10 filter; Rachel also lost one file (12 left), Joey has 8
    expect(fd.summary().map((r) => [r.name, r.dev])).toEqual([['season1_uttRachel', 0], ['season1_uttRoss', 0]]);
    const d = loadSpeech('meld', join(dir, 'meld'));
    expect(d.clips.filter((c) => c.speaker === 'train/season1_uttRoss').map((c) => c.label)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0]);
    expect(fd.dev().size).toBe(13);
    expect(fd.test().size).toBe(13);
    expect(existsSync(featureCacheDir())).toBe(true);
    // dev clips are normalised per transcript (the original's quirk): each transcript's frames centre on 0
    const devClips = d.clips.filter((c) => c.speaker.startsWith('dev/'));
    for (const k of [0, 1, 2]) {
      const same = devClips.map((c, j) => ({ c, j })).filter(({ c }) => c.normGroup.endsWith(`"there" ${k}`));
      expect(same.length).toBeGreaterThan(1);
      let sum = 0;
      let frames = 0;
      for (const { j } of same) {
        const a = fd.dev().sample(j).modalities[0];
        frames += a.length;
        for (let t = 0; t < a.length; t++) sum += a.data[t * 80 + 10];
      }
      expect(Math.abs(sum / frames)).toBeLessThan(1e-4);
    }
  });
});
