// Evaluation metrics of the benchmark. Scores are [N, C] row-major (logits or probabilities: only their
// order within a row matters, except ROC-AUC and multi-label F1 which read probabilities/logits as noted).

function checkScores(scores: ArrayLike<number>, n: number, what: string): number {
  if (n === 0) throw new Error(`${what}: no samples`);
  if (scores.length % n !== 0) throw new Error(`${what}: ${scores.length} scores is not a multiple of ${n} samples`);
  return scores.length / n;
}

/** Row-wise argmax of scores [N, C]. */
export function argmax(scores: ArrayLike<number>, n: number): Int32Array {
  const C = checkScores(scores, n, 'argmax');
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (scores[i * C + c] > scores[i * C + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Confusion matrix [C, C], row = true class, column = predicted class. */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): Int32Array {
  if (labels.length !== predictions.length) throw new Error(`confusionMatrix: ${labels.length} labels, ${predictions.length} predictions`);
  const M = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = predictions[i];
    if (!(y >= 0 && y < numClasses && p >= 0 && p < numClasses)) throw new Error(`confusionMatrix: class out of range at ${i} (label ${y}, prediction ${p}, ${numClasses} classes)`);
    M[y * numClasses + p]++;
  }
  return M;
}

/** Fraction of predictions equal to the label. */
export function accuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  if (labels.length !== predictions.length || labels.length === 0) throw new Error(`accuracy: ${labels.length} labels, ${predictions.length} predictions`);
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) hit++;
  return hit / labels.length;
}

/** Fraction of samples whose label is among the k highest scores (ties broken toward the lower class index). */
export function topKAccuracy(labels: ArrayLike<number>, scores: ArrayLike<number>, k = 5): number {
  const n = labels.length;
  const C = checkScores(scores, n, 'topKAccuracy');
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const sy = scores[i * C + y];
    let rank = 0;
    for (let c = 0; c < C; c++) {
      const s = scores[i * C + c];
      if (s > sy || (s === sy && c < y)) rank++;
    }
    if (rank < k) hit++;
  }
  return hit / n;
}

/** Per-class F1 from a confusion matrix (0 where a class has neither predictions nor labels). */
function perClassF1(M: Int32Array, C: number): Float64Array {
  const f1 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let tp = M[c * C + c];
    let fp = 0;
    let fn = 0;
    for (let j = 0; j < C; j++) {
      if (j === c) continue;
      fp += M[j * C + c];
      fn += M[c * C + j];
    }
    f1[c] = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return f1;
}

/**
 * Macro-F1 over all numClasses classes (sklearn f1_score(average='macro', labels=range(C)),
 * zero_division=0): classes absent from both labels and predictions count as 0.
 */
export function macroF1(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number {
  const f1 = perClassF1(confusionMatrix(labels, predictions, numClasses), numClasses);
  return f1.reduce((a, b) => a + b, 0) / numClasses;
}

/** Unweighted average recall: mean over the classes present in labels of TP / (TP + FN). */
export function uar(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number {
  const M = confusionMatrix(labels, predictions, numClasses);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    let row = 0;
    for (let j = 0; j < numClasses; j++) row += M[c * numClasses + j];
    if (row === 0) continue;
    sum += M[c * numClasses + c] / row;
    present++;
  }
  if (present === 0) throw new Error('uar: no samples');
  return sum / present;
}

/**
 * ROC-AUC of binary labels (0/1) from scores (higher = more positive), by the Mann-Whitney statistic
 * with tied scores given their average rank. Throws when only one class is present.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n) throw new Error(`rocAuc: ${n} labels, ${scores.length} scores`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      const y = labels[order[k]];
      if (y !== 0 && y !== 1) throw new Error(`rocAuc: label ${y} at ${order[k]} is not 0 or 1`);
      if (y === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new Error(`rocAuc: needs both classes (got ${nPos} positive, ${nNeg} negative)`);
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Binary ROC-AUC from two-class scores [N, 2]: the positive score is the softmax of class 1, i.e. s1 − s0 orders alike. */
export function binaryAucFromScores(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const C = checkScores(scores, n, 'binaryAucFromScores');
  if (C !== 2) throw new Error(`binaryAucFromScores: needs 2 scores per sample, got ${C}`);
  const margin = new Float64Array(n);
  for (let i = 0; i < n; i++) margin[i] = scores[2 * i + 1] - scores[2 * i];
  return rocAuc(labels, margin);
}

/**
 * Multi-label macro-F1: labels and probabilities [N, C]; a class is predicted when its probability
 * ≥ threshold (0.5). Pass logits with `fromLogits` (then logit ≥ 0 ⇔ sigmoid ≥ 0.5 for threshold 0.5).
 * Mean over classes of F1 with zero_division = 0.
 */
export function multiLabelMacroF1(labels: ArrayLike<number>, probabilities: ArrayLike<number>, numClasses: number, threshold = 0.5, fromLogits = false): number {
  if (labels.length !== probabilities.length || labels.length % numClasses !== 0 || labels.length === 0) {
    throw new Error(`multiLabelMacroF1: ${labels.length} labels, ${probabilities.length} scores for ${numClasses} classes`);
  }
  const n = labels.length / numClasses;
  let sum = 0;
  for (let c = 0; c < numClasses; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      const s = probabilities[i * numClasses + c];
      const pred = (fromLogits ? 1 / (1 + Math.exp(-s)) : s) >= threshold;
      const y = labels[i * numClasses + c] >= 0.5;
      if (pred && y) tp++;
      else if (pred) fp++;
      else if (y) fn++;
    }
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / numClasses;
}
