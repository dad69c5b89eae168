// Audio feature extraction: fedmm's WAV → 16 kHz → Kaldi fbank pipeline (src/data/audio) on a 2.5 s stereo
// 44.1 kHz clip, against torchaudio (Resample + compliance.kaldi.fbank, one thread) on the same clip in the same
// run when Debian's python3-torchaudio is installed (it is never a dependency: the comparison is skipped without it).
import { spawnSync } from 'node:child_process';
import { fbank } from '../src/data/audio/fbank.js';
import { resample } from '../src/data/audio/resample.js';
import { meanMs } from './common.js';

const RATE = 44100;
const SECONDS = 2.5;

function clip(): Float32Array {
  const n = RATE * SECONDS;
  return Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / RATE) + 0.1 * Math.sin((2 * Math.PI * 3100 * i) / RATE) + 0.05 * Math.sin(i * 0.37));
}

const TORCH = String.raw`
import math, time, torch, torchaudio
torch.set_num_threads(1)
n = int(44100 * 2.5)
x = torch.tensor([0.3 * math.sin(2 * math.pi * 440 * i / 44100) + 0.1 * math.sin(2 * math.pi * 3100 * i / 44100) + 0.05 * math.sin(i * 0.37) for i in range(n)], dtype=torch.float32)[None]
def run():
    y = torchaudio.transforms.Resample(44100, 16000)(x)
    return torchaudio.compliance.kaldi.fbank(waveform=y, frame_length=25, frame_shift=10, num_mel_bins=80, window_type="hamming")
for _ in range(3): run()
reps = 20
t = time.perf_counter()
for _ in range(reps): run()
print((time.perf_counter() - t) / reps * 1000)
`;

export async function run(): Promise<void> {
  const x = clip();
  const pipeline = () => fbank(resample(x, RATE, 16000), { frameLength: 25, frameShift: 10, numMelBins: 80 });
  const frames = pipeline().frames;
  const ms = await meanMs(pipeline, 2000, 10, 3);
  const resampleMs = await meanMs(() => resample(x, RATE, 16000), 1000, 10, 2);
  console.log(`fedmm: ${ms.toFixed(1)} ms per ${SECONDS} s clip (${frames} frames; resampling ${resampleMs.toFixed(1)} ms of it)`);
  const py = spawnSync('/usr/bin/python3', ['-c', TORCH], { encoding: 'utf8', timeout: 300_000 });
  if (py.status !== 0) {
    console.log(`torchaudio: not measured (${(py.stderr || py.error?.message || '').trim().split('\n').pop()})`);
    return;
  }
  const torchMs = Number(py.stdout.trim());
  console.log(`torchaudio 1 thread: ${torchMs.toFixed(1)} ms per clip; fedmm / torchaudio = ${(ms / torchMs).toFixed(2)}`);
}
