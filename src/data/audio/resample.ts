// Band-limited resampling as torchaudio.transforms.Resample(orig, new) does by default
// (torchaudio.functional._get_sinc_resample_kernel / _apply_sinc_resample_kernel): windowed sinc with a Hann
// (cos²) window, lowpass_filter_width 6, rolloff 0.99, kernel computed in float64 and applied in float32.

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Resamples a mono signal x [length] from `from` Hz to `to` Hz; output [ceil(to·length/from)] (reduced rates).
 * Shape: kernel [new, 2·width + orig]; output j·new + i = Σ_k padded[j·orig + k] · kernel[i][k].
 */
export function resample(x: Float32Array, from: number, to: number, lowpassFilterWidth = 6, rolloff = 0.99): Float32Array {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > 0)) throw new Error(`resample: rates must be positive integers, got ${from} → ${to}`);
  if (from === to) return x;
  const g = gcd(from, to);
  const orig = from / g;
  const nw = to / g;
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lowpassFilterWidth * orig) / base);
  const K = 2 * width + orig;
  const kernel = new Float32Array(nw * K);
  const scale = base / orig;
  for (let i = 0; i < nw; i++) {
    const shift = Math.fround(-i / nw); // torch.arange(0, -new, -1) / new is float32
    for (let k = 0; k < K; k++) {
      let t = (shift + (k - width) / orig) * base;
      t = Math.max(-lowpassFilterWidth, Math.min(lowpassFilterWidth, t));
      const w = Math.cos((t * Math.PI) / lowpassFilterWidth / 2) ** 2;
      const tp = t * Math.PI;
      kernel[i * K + k] = (tp === 0 ? 1 : Math.sin(tp) / tp) * w * scale;
    }
  }
  // each phase's taps are zero outside |t| < width (the window vanishes there): skip them
  const first = new Int32Array(nw);
  const last = new Int32Array(nw);
  for (let i = 0; i < nw; i++) {
    let a = 0;
    let b = K;
    while (a < K && kernel[i * K + a] === 0) a++;
    while (b > a && kernel[i * K + b - 1] === 0) b--;
    first[i] = a;
    last[i] = b;
  }
  const L = x.length;
  const outLen = Math.ceil((nw * L) / orig);
  const out = new Float32Array(outLen);
  // padded[p] = x[p − width] inside, 0 outside (F.pad(width, width + orig))
  for (let j = 0; j * nw < outLen; j++) {
    for (let i = 0; i < nw && j * nw + i < outLen; i++) {
      let s = 0;
      const row = i * K;
      for (let k = first[i]; k < last[i]; k++) {
        const p = j * orig + k - width;
        if (p >= 0 && p < L) s += x[p] * kernel[row + k];
      }
      out[j * nw + i] = s;
    }
  }
  return out;
}
