// Robustness simulations of FedMultimodal, applied to training clients only (dev and test stay clean).
// fedmm does what the original intends where its code has bugs (see docs/datasets.md):
//   - missing modality: each of a client's modalities is missing independently with probability p
//     (the original seeds client 0's two draws identically);
//   - erroneous labels: every sample draws its new label independently from its class's row of the
//     client's transition matrix, for any number of classes (the original reseeds per sample, so all
//     samples of a class get the same label, and hard-codes 4 classes).
import type { Rng } from '../random.js';

function checkRate(what: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`${what} rate must be in [0, 1), got ${p}`);
}

/** Per modality: true when missing (each independently with probability p). */
export function drawMissingModalities(numModalities: number, p: number, rng: Rng): boolean[] {
  checkRate('missing modality', p);
  const out: boolean[] = [];
  for (let m = 0; m < numModalities; m++) out.push(p > 0 && rng.bernoulli(p));
  return out;
}

/** Per sample: true when its label is kept (each dropped independently with probability p). */
export function drawLabelMask(n: number, p: number, rng: Rng): Uint8Array {
  checkRate('missing label', p);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) keep[i] = p > 0 && rng.bernoulli(p) ? 0 : 1;
  return keep;
}

/**
 * A client's label transition matrix [C, C] (row = true class): diagonal 1 − p; of each row's C − 1
 * off-diagonal entries about 40% are zeroed (each with probability 0.4, at least one kept) and the rest
 * share p equally. Binary tasks: the other class gets p (a flip with probability p).
 */
export function labelTransitionMatrix(numClasses: number, p: number, rng: Rng): Float64Array {
  checkRate('label noise', p);
  const C = numClasses;
  if (C < 2) throw new Error(`label noise needs at least 2 classes, got ${C}`);
  const T = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    T[i * C + i] = 1 - p;
    const others: number[] = [];
    for (let j = 0; j < C; j++) if (j !== i) others.push(j);
    let kept = C === 2 ? others : others.filter(() => !rng.bernoulli(0.4));
    if (kept.length === 0) kept = [others[rng.int(others.length)]];
    for (const j of kept) T[i * C + j] = p / kept.length;
  }
  return T;
}

/** New labels: each sample independently draws from its true class's row of T. */
export function corruptLabels(labels: ArrayLike<number>, T: Float64Array, numClasses: number, rng: Rng): Int32Array {
  const C = numClasses;
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    let u = rng.random();
    let j = 0;
    for (; j < C - 1; j++) {
      u -= T[y * C + j];
      if (u < 0) break;
    }
    // Guard against rounding: land on the last class with nonzero probability.
    while (T[y * C + j] === 0 && j > 0) j--;
    out[i] = j;
  }
  return out;
}
