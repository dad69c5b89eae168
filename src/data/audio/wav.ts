// A WAV (RIFF/WAVE) reader: PCM 16, 24 and 32-bit integer and 32-bit float, any channel count, scaled as
// torchaudio.load does by default (integers divided by 2^(bits−1)). Anything else is refused naming the file.
import { readFileSync } from 'node:fs';

export interface WavAudio {
  readonly sampleRate: number;
  readonly channels: number;
  /** Frames (samples per channel). */
  readonly frames: number;
  /** Interleaved samples [frames, channels] as float32 in [−1, 1) for integer formats. */
  readonly samples: Float32Array;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** Parses WAV bytes; `file` names the source in errors. */
export function parseWav(file: string, buf: Buffer): WavAudio {
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    fail(buf.toString('latin1', 0, 4) === 'RIFX' ? 'big-endian WAV (RIFX) is not supported' : 'not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; rate: number; align: number; bits: number } | null = null;
  let data: { start: number; size: number } | null = null;
  let at = 12;
  while (at + 8 <= buf.length && !data) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > buf.length) fail(`truncated fmt chunk (${size} bytes declared)`);
      let format = buf.readUInt16LE(body);
      if (format === EXTENSIBLE) {
        if (size < 40) fail('WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
        format = buf.readUInt16LE(body + 24); // first two bytes of the sub-format GUID
      }
      fmt = { format, channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), align: buf.readUInt16LE(body + 12), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) fail('data chunk before the fmt chunk');
      data = { start: body, size };
    }
    at = body + size + (size % 2);
  }
  if (!fmt) fail('no fmt chunk');
  if (!data) fail('no data chunk');
  const f = fmt!;
  const supported = (f.format === PCM && (f.bits === 16 || f.bits === 24 || f.bits === 32)) || (f.format === IEEE_FLOAT && f.bits === 32);
  if (!supported) {
    const kind = f.format === PCM ? `${f.bits}-bit PCM` : f.format === IEEE_FLOAT ? `${f.bits}-bit float` : `encoding ${f.format}`;
    fail(`${kind} is not supported (PCM 16/24/32-bit or 32-bit float only)`);
  }
  if (f.channels < 1) fail('0 channels');
  if (f.rate < 1) fail('sample rate 0');
  const bytes = f.bits / 8;
  if (f.align !== bytes * f.channels) fail(`block align ${f.align} does not match ${f.channels} channels of ${f.bits} bits`);
  const { start, size } = data!;
  if (start + size > buf.length) fail(`data chunk declares ${size} bytes but ${buf.length - start} remain: truncated`);
  if (size % f.align !== 0) fail(`data chunk of ${size} bytes is not a whole number of ${f.align}-byte frames: truncated`);
  const n = size / bytes;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = start + i * bytes;
    if (f.format === IEEE_FLOAT) {
      const v = buf.readFloatLE(p);
      if (!Number.isFinite(v)) fail(`sample ${i} is not a finite number`);
      samples[i] = v;
    } else if (f.bits === 16) samples[i] = buf.readInt16LE(p) / 32768;
    else if (f.bits === 24) samples[i] = buf.readIntLE(p, 3) / 8388608;
    else samples[i] = buf.readInt32LE(p) / 2147483648;
  }
  return { sampleRate: f.rate, channels: f.channels, frames: n / f.channels, samples };
}

export function readWav(file: string): WavAudio {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseWav(file, buf);
}

/** The channels averaged into one (torch.mean(audio, dim=0) in float32), or the one channel as is. */
export function mixToMono(a: WavAudio): Float32Array {
  if (a.channels === 1) return a.samples;
  const out = new Float32Array(a.frames);
  for (let t = 0; t < a.frames; t++) {
    let s = 0;
    for (let c = 0; c < a.channels; c++) s += a.samples[t * a.channels + c];
    out[t] = s / a.channels;
  }
  return out;
}
