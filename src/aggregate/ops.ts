// The flat-buffer operations behind src/aggregate, in two implementations that are tested against each
// other: the TypeScript reference (reference.ts) and the native addon (same names, same arithmetic).
// The public API (StreamingMean, median, server optimizers, …) runs on aggregateOps(): the addon's
// when the active backend is 'native', else the reference.
import { kernels } from '../backend/index.js';
import { loadAddon, type NativeAggregateFunctions } from '../backend/native.js';
import { referenceAggregateOps } from './reference.js';

/** The addon's aggregation functions (the TypeScript reference implements the same), plus the variant name. */
export interface AggregateOps extends NativeAggregateFunctions {
  /** 'typescript', or the native ISA variant in use. */
  readonly variant: string;
}

let nativeOps: AggregateOps | null = null;

/** The addon's aggregation ops (throws a one-line reason if the addon does not load). */
export function nativeAggregateOps(): AggregateOps {
  if (!nativeOps) {
    const a = loadAddon();
    nativeOps = {
      get variant(): string {
        return a.info().active;
      },
      findNonFinite: a.findNonFinite,
      foldGroup: a.foldGroup,
      foldFinish: a.foldFinish,
      finishMean: a.finishMean,
      sumSquares: a.sumSquares,
      scale: a.scale,
      median: a.median,
      trimmedMean: a.trimmedMean,
      pairwiseSqDist: a.pairwiseSqDist,
      closestToMedianMean: a.closestToMedianMean,
      fedoptStep: a.fedoptStep,
      serverSgdStep: a.serverSgdStep,
      toFp16: a.toFp16,
      fromFp16: a.fromFp16,
      quantizeInt8: a.quantizeInt8,
      dequantizeInt8: a.dequantizeInt8,
    };
  }
  return nativeOps;
}

export { referenceAggregateOps };

/** The ops for the active backend: native when it is 'native', else the TypeScript reference. */
export function aggregateOps(): AggregateOps {
  return kernels().name === 'native' ? nativeAggregateOps() : referenceAggregateOps;
}
