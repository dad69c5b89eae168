// Audio features: the WAV reader (PCM 16/24/32, float32, multi-channel; everything else refused), resampling
// and the Kaldi filterbank against reference values computed once with torchaudio 0.13.1 (Debian
// python3-torchaudio; Resample(22050, 16000), kaldi.fbank(frame_length=25, frame_shift=10, num_mel_bins=80,
// window_type="hamming")), Kaldi's frame count and a pure tone landing in the mel bin computed by hand.
import { describe, expect, test } from 'vitest';
import { fbank, kaldiFrameCount } from '../src/data/audio/fbank.js';
import { resample } from '../src/data/audio/resample.js';
import { mixToMono, parseWav } from '../src/data/audio/wav.js';

/** A WAV file's bytes: `format` 1 (PCM) or 3 (float), interleaved sample values already encoded by `put`. */
function wav(format: number, bits: number, channels: number, rate: number, frames: number, put: (buf: Buffer, at: number, i: number) => void, opts: { dataSize?: number; extensible?: boolean } = {}): Buffer {
  const bytes = bits / 8;
  const size = frames * channels * bytes;
  const fmtSize = opts.extensible ? 40 : 16;
  const buf = Buffer.alloc(12 + 8 + fmtSize + 8 + size);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(buf.length - 8, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(fmtSize, 16);
  buf.writeUInt16LE(opts.extensible ? 0xfffe : format, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * channels * bytes, 28);
  buf.writeUInt16LE(channels * bytes, 32);
  buf.writeUInt16LE(bits, 34);
  if (opts.extensible) buf.writeUInt16LE(format, 20 + 24);
  const data = 20 + fmtSize;
  buf.write('data', data, 'latin1');
  buf.writeUInt32LE(opts.dataSize ?? size, data + 4);
  for (let i = 0; i < frames * channels; i++) put(buf, data + 8 + i * bytes, i);
  return buf;
}

const REF_RATE = 22050;
/** The reference signal: int16 of 0.3·sin(440 Hz) + 0.1·sin(3 kHz) at 22.05 kHz, 0.1 s. */
const refInts = Array.from({ length: 2205 }, (_, i) => Math.floor(32767 * (0.3 * Math.sin((2 * Math.PI * 440 * i) / REF_RATE) + 0.1 * Math.sin((2 * Math.PI * 3000 * i) / REF_RATE)) + 0.5));

describe('WAV reader', () => {
  test('PCM 16/24/32 and float32 scale as torchaudio.load; channels average to mono', () => {
    const v16 = [0, 1, -1, 32767, -32768, 12345];
    const a = parseWav('a.wav', wav(1, 16, 2, 8000, 3, (b, at, i) => b.writeInt16LE(v16[i], at)));
    expect([a.sampleRate, a.channels, a.frames]).toEqual([8000, 2, 3]);
    expect(Array.from(a.samples)).toEqual(v16.map((v) => Math.fround(v / 32768)));
    const s16 = v16.map((v) => Math.fround(v / 32768));
    expect(Array.from(mixToMono(a))).toEqual([0, 1, 2].map((t) => Math.fround((s16[2 * t] + s16[2 * t + 1]) / 2)));
    const v24 = [8388607, -8388608, 1, -1];
    const b = parseWav('b.wav', wav(1, 24, 1, 16000, 4, (buf, at, i) => buf.writeIntLE(v24[i], at, 3)));
    expect(Array.from(b.samples)).toEqual(v24.map((v) => Math.fround(v / 8388608)));
    const v32 = [2147483647, -2147483648, 65536];
    const c = parseWav('c.wav', wav(1, 32, 1, 16000, 3, (buf, at, i) => buf.writeInt32LE(v32[i], at), { extensible: true }));
    expect(Array.from(c.samples)).toEqual(v32.map((v) => Math.fround(v / 2147483648)));
    const f = parseWav('d.wav', wav(3, 32, 1, 16000, 2, (buf, at, i) => buf.writeFloatLE([0.25, -1.5][i], at)));
    expect(Array.from(f.samples)).toEqual([0.25, -1.5]);
  });

  test('other encodings and damaged files are refused naming the file', () => {
    expect(() => parseWav('u8.wav', wav(1, 8, 1, 8000, 4, (b, at) => b.writeUInt8(128, at)))).toThrow(/^u8.wav: 8-bit PCM is not supported \(PCM 16\/24\/32-bit or 32-bit float only\)$/);
    expect(() => parseWav('f64.wav', wav(3, 64, 1, 8000, 2, (b, at) => b.writeDoubleLE(0, at)))).toThrow(/^f64.wav: 64-bit float is not supported/);
    expect(() => parseWav('adpcm.wav', wav(2, 16, 1, 8000, 2, () => undefined))).toThrow(/^adpcm.wav: encoding 2 is not supported/);
    expect(() => parseWav('short.wav', wav(1, 16, 1, 8000, 4, () => undefined, { dataSize: 100 }))).toThrow(/^short.wav: data chunk declares 100 bytes but 8 remain: truncated$/);
    expect(() => parseWav('odd.wav', wav(1, 16, 2, 8000, 2, () => undefined, { dataSize: 6 }))).toThrow(/^odd.wav: data chunk of 6 bytes is not a whole number of 4-byte frames/);
    expect(() => parseWav('text.wav', Buffer.from('hello, this is not audio'))).toThrow(/^text.wav: not a WAV file/);
    expect(() => parseWav('nan.wav', wav(3, 32, 1, 8000, 2, (b, at, i) => b.writeFloatLE(i ? NaN : 0, at)))).toThrow(/^nan.wav: sample 1 is not a finite number$/);
  });
});

describe('resampling and Kaldi fbank (torchaudio reference)', () => {
  const x = Float32Array.from(refInts, (v) => v / 32768);
  const y = resample(x, REF_RATE, 16000);

  test('Resample(22050, 16000): length ceil(16000·n/22050) and torchaudio values', () => {
    expect(y.length).toBe(1600);
    const ref: [number, number][] = [[0, 0.0102075], [1, 0.14174534], [100, -0.40011051], [777, 0.12951578], [1599, -0.14174581]];
    for (const [i, v] of ref) expect(y[i]).toBeCloseTo(v, 5);
  });

  test('fbank 25/10 ms, 80 bins, Hamming: frame count and torchaudio values', () => {
    const f = fbank(y, { frameLength: 25, frameShift: 10, numMelBins: 80 });
    expect(f.frames).toBe(8);
    expect(f.frames).toBe(kaldiFrameCount(1600, 400, 160));
    const bins = [0, 5, 10, 20, 40, 60, 79];
    const ref: Record<number, number[]> = {
      0: [-8.87514, -9.01854, -9.22626, -6.95986, -7.95384, -6.34665, -7.79868],
      7: [-6.96479, -7.27666, -7.10688, -7.84915, -7.92006, -6.579, -7.94547],
    };
    for (const [row, want] of Object.entries(ref)) bins.forEach((b, j) => expect(f.data[Number(row) * 80 + b]).toBeCloseTo(want[j], 3));
  });

  test("Kaldi's frame count: 1 + floor((n − window) / shift), none below one window", () => {
    expect(kaldiFrameCount(399, 400, 160)).toBe(0);
    expect(kaldiFrameCount(400, 400, 160)).toBe(1);
    expect(kaldiFrameCount(559, 400, 160)).toBe(1);
    expect(kaldiFrameCount(560, 400, 160)).toBe(2);
    expect(fbank(new Float32Array(399), { frameLength: 25, frameShift: 10, numMelBins: 80 }).frames).toBe(0);
    expect(fbank(new Float32Array(16000), { frameLength: 40, frameShift: 20, numMelBins: 80 }).frames).toBe(1 + Math.floor((16000 - 640) / 320));
  });

  test('a 1 kHz tone peaks in the mel bin whose centre is nearest 1 kHz (40/20 ms)', () => {
    const tone = Float32Array.from({ length: 16000 }, (_, t) => 0.5 * Math.sin((2 * Math.PI * 1000 * t) / 16000));
    const g = fbank(tone, { frameLength: 40, frameShift: 20, numMelBins: 80 });
    expect(g.frames).toBe(49);
    const mel = (f: number) => 1127 * Math.log(1 + f / 700);
    const delta = (mel(8000) - mel(20)) / 81;
    const expected = Math.round((mel(1000) - mel(20)) / delta - 1);
    const row = Array.from(g.data.subarray(3 * 80, 4 * 80));
    expect(row.indexOf(Math.max(...row))).toBe(expected);
    expect(expected).toBe(27);
    // torchaudio: row 3 bins 0, 20, 27, 79
    [[0, -7.77803], [20, -4.34205], [27, 7.55051], [79, -6.29802]].forEach(([b, v]) => expect(row[b]).toBeCloseTo(v, 3));
  });
});
