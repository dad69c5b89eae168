import { describe, expect, it } from 'vitest';
import { accuracy, argmax, binaryAucFromScores, confusionMatrix, macroF1, multiLabelMacroF1, rocAuc, topKAccuracy, uar } from '../src/data/index.js';

describe('metrics, hand-computed cases', () => {
  const labels = [0, 0, 0, 1, 1, 2];
  const preds = [0, 0, 1, 1, 2, 2];

  it('accuracy and confusion matrix', () => {
    expect(accuracy(labels, preds)).toBeCloseTo(4 / 6, 12);
    expect(Array.from(confusionMatrix(labels, preds, 3))).toEqual([2, 1, 0, 0, 1, 1, 0, 0, 1]);
  });

  it('macro-F1: mean of per-class F1 (absent classes count 0)', () => {
    // class 0: tp 2 fp 0 fn 1 → 4/5; class 1: tp 1 fp 1 fn 1 → 1/2; class 2: tp 1 fp 1 fn 0 → 2/3
    expect(macroF1(labels, preds, 3)).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
    // a 4th class never seen nor predicted lowers the macro mean (sklearn with labels=range(4))
    expect(macroF1(labels, preds, 4)).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 4, 12);
  });

  it('UAR: mean recall over classes present', () => {
    // recalls 2/3, 1/2, 1
    expect(uar(labels, preds, 3)).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
    expect(uar(labels, preds, 5)).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
  });

  it('top-5 (and top-k) accuracy from scores', () => {
    const scores = [
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, // label 0 ranks 6th → miss
      0.6, 0.5, 0.4, 0.3, 0.2, 0.1, // label 4 ranks 5th → hit
      0, 0, 0, 0, 0, 1, // label 5 ranks 1st
    ];
    expect(topKAccuracy([0, 4, 5], scores, 5)).toBeCloseTo(2 / 3, 12);
    expect(topKAccuracy([0, 4, 5], scores, 1)).toBeCloseTo(1 / 3, 12);
    expect(Array.from(argmax(scores, 3))).toEqual([5, 0, 5]);
  });

  it('ROC-AUC from scores with ties at average rank', () => {
    // positives 0.8, 0.4; negatives 0.4, 0.1. Pairs: (0.8>0.4) 1, (0.8>0.1) 1, (0.4=0.4) 0.5, (0.4>0.1) 1 → 3.5/4
    expect(rocAuc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1])).toBeCloseTo(0.875, 12);
    expect(rocAuc([1, 0], [0.3, 0.3])).toBeCloseTo(0.5, 12);
    expect(rocAuc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])).toBeCloseTo(0.75, 12);
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(/needs both classes/);
  });

  it('binary AUC uses the score margin, not the argmax', () => {
    // all predictions are class 0 by argmax, yet the margins rank positives above negatives
    const scores = [2, 1.9, 2, 1.0, 2, 1.8, 2, 0.5];
    const y = [1, 0, 1, 0];
    expect(binaryAucFromScores(y, scores)).toBeCloseTo(1, 12);
  });

  it('multi-label macro-F1 at threshold 0.5', () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 1, 0];
    const p = [0.9, 0.2, 0.4, 0.6, 0.7, 0.1, 0.8, 0.4, 0.5];
    // class 0: tp 1 (row 2), fn... rows: (1,.9)tp (0,.6)fp (1,.8)tp → 2tp 1fp → 4/5
    // class 1: (0,.2)tn (1,.7)tp (1,.4)fn → 2/3
    // class 2: (1,.4)fn (0,.1)tn (0,.5)fp → 0
    expect(multiLabelMacroF1(y, p, 3)).toBeCloseTo((0.8 + 2 / 3 + 0) / 3, 12);
    const logits = p.map((q) => Math.log(q / (1 - q)));
    expect(multiLabelMacroF1(y, logits, 3, 0.5, true)).toBeCloseTo((0.8 + 2 / 3) / 3, 12);
  });
});
