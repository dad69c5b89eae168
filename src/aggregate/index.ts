// Server-side aggregation: streaming weighted mean, robust aggregators, norms, server optimizers,
// and wire quantization, over flat float32 buffers (native or TypeScript).
export { flushTogether, StreamingMean } from './streaming-mean.js';
export type { Rejection, StreamingMeanOptions } from './streaming-mean.js';
export { bulyan, bulyanSelect, krum, krumSelect, median, multiKrum, pairwiseDistances, trimmedMean, trimmedMeanCount } from './robust.js';
export {
  aggregatorNames, checkAggregatorSpec, createAggregator, getAggregatorKind, registerAggregator,
} from './aggregator.js';
export type {
  Aggregate, Aggregator, AggregatorContext, AggregatorInput, AggregatorKind, AggregatorSpec, Decision,
} from './aggregator.js';
import './robust-aggregators.js'; // registers median, trimmed-mean, krum, multi-krum, bulyan
export { clipByNorm, findNonFinite, l2Norm } from './norms.js';
export { FedAdagrad, FedAdam, FedYogi, ServerSgd } from './server-optim.js';
export type { AdaptiveServerOptions, ServerSgdOptions } from './server-optim.js';
export { dequantizeFp16, dequantizeInt8, quantizeFp16, quantizeInt8 } from './quantize.js';
export type { Int8Packet } from './quantize.js';
export { aggregateOps, nativeAggregateOps, referenceAggregateOps } from './ops.js';
export type { AggregateOps } from './ops.js';
