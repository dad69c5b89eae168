// Log-mel filterbank features as torchaudio.compliance.kaldi.fbank computes them with its defaults
// (dither 0, remove_dc_offset, preemphasis 0.97, snip_edges, round_to_power_of_two, use_power, use_log_fbank,
// low_freq 20, high_freq = Nyquist, no VTLN, log floor = float32 epsilon), window Hamming or Povey.

export interface FbankOptions {
  /** Frame length and shift in milliseconds (FedMultimodal: 25/10 for CREMA-D and MELD, 40/20 for UCF101 and MiT). */
  readonly frameLength: number;
  readonly frameShift: number;
  readonly numMelBins: number;
  readonly sampleFrequency?: number;
  readonly window?: 'hamming' | 'povey';
  readonly lowFreq?: number;
  readonly preemphasis?: number;
}

const FLOAT32_EPS = 1.1920928955078125e-7;

/** Kaldi's frame count with snip_edges: 1 + ⌊(n − window) / shift⌋ when n ≥ window, else 0. */
export function kaldiFrameCount(samples: number, windowSize: number, windowShift: number): number {
  return samples < windowSize ? 0 : 1 + Math.floor((samples - windowSize) / windowShift);
}

const melScale = (f: number) => 1127.0 * Math.log(1.0 + f / 700.0);

/** Triangular mel filters [bins, fftSize/2 + 1] (the last column zero, as torchaudio pads it). */
export function melBanks(numBins: number, paddedWindow: number, sampleFreq: number, lowFreq: number, highFreq: number): Float64Array {
  const numFftBins = paddedWindow / 2;
  const nyquist = 0.5 * sampleFreq;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  const binWidth = sampleFreq / paddedWindow;
  const melLow = melScale(lowFreq);
  const melHigh = melScale(high);
  const delta = (melHigh - melLow) / (numBins + 1);
  const out = new Float64Array(numBins * (numFftBins + 1));
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * delta;
    const center = melLow + (b + 1) * delta;
    const right = melLow + (b + 2) * delta;
    for (let k = 0; k < numFftBins; k++) {
      const mel = melScale(binWidth * k);
      const up = (mel - left) / (center - left);
      const down = (right - mel) / (right - center);
      out[b * (numFftBins + 1) + k] = Math.max(0, Math.min(up, down));
    }
  }
  return out;
}

/** cos and sin of −2πk/n for k < n/2: the twiddle factors of an n-point FFT. */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((-2 * Math.PI * k) / n);
    sin[k] = Math.sin((-2 * Math.PI * k) / n);
  }
  return { cos, sin };
}

/** In-place radix-2 FFT of (re, im), length n a power of two, with twiddles(n). */
function fft(re: Float64Array, im: Float64Array, tw: { cos: Float64Array; sin: Float64Array }): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = tw.cos[k * step];
        const wi = tw.sin[k * step];
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/** fbank of a mono waveform: float32 [frames, numMelBins] row-major. */
export function fbank(wave: Float32Array, o: FbankOptions): { frames: number; data: Float32Array } {
  const fs = o.sampleFrequency ?? 16000;
  const size = Math.trunc(fs * o.frameLength * 0.001);
  const shift = Math.trunc(fs * o.frameShift * 0.001);
  if (size < 2 || shift < 1) throw new Error(`fbank: frame length ${o.frameLength} ms / shift ${o.frameShift} ms too short at ${fs} Hz`);
  let padded = 1;
  while (padded < size) padded <<= 1;
  const frames = kaldiFrameCount(wave.length, size, shift);
  const M = o.numMelBins;
  const banks = melBanks(M, padded, fs, o.lowFreq ?? 20, 0);
  const bins = padded / 2 + 1;
  const pre = o.preemphasis ?? 0.97;
  const win = new Float64Array(size);
  for (let n = 0; n < size; n++) {
    win[n] = (o.window ?? 'hamming') === 'hamming'
      ? 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (size - 1))
      : Math.pow(0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (size - 1)), 0.85);
  }
  const out = new Float32Array(frames * M);
  const re = new Float64Array(padded);
  const im = new Float64Array(padded);
  const frame = new Float64Array(size);
  const tw = twiddles(padded);
  for (let f = 0; f < frames; f++) {
    let mean = 0;
    for (let n = 0; n < size; n++) mean += (frame[n] = wave[f * shift + n]);
    mean /= size;
    for (let n = 0; n < size; n++) frame[n] -= mean;
    re.fill(0);
    im.fill(0);
    for (let n = size - 1; n >= 0; n--) re[n] = (frame[n] - pre * frame[Math.max(0, n - 1)]) * win[n];
    fft(re, im, tw);
    for (let b = 0; b < M; b++) {
      let e = 0;
      for (let k = 0; k < bins; k++) {
        const w = banks[b * bins + k];
        if (w !== 0) e += w * (re[k] * re[k] + im[k] * im[k]);
      }
      out[f * M + b] = Math.log(Math.max(e, FLOAT32_EPS));
    }
  }
  return { frames, data: out };
}
