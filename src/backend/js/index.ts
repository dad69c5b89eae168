// The TypeScript reference backend: every kernel in plain loops, over Float32Array or Float64Array. It is
// also the dispatcher's fallback for every other backend (src/backend/registry.ts).
import type { KernelOps, Kernels } from '../kernels.js';
import { dispatchKernels } from '../registry.js';
import { gemm } from './gemm.js';
import { conv1dBackward, conv1dForward } from './conv1d.js';
import { maxPool1dBackward, maxPool1dForward } from './maxpool1d.js';
import { gruBackward, gruForward } from './gru.js';
import { adamStep, sgdStep } from './optim.js';
import { convBlockBackward, convBlockForward } from './conv-block.js';
import { linearBackward, linearForward } from './linear.js';
import { attentionFusionBackward, attentionFusionForward } from './attention.js';
import { bceWithLogitsBackward, bceWithLogitsForward, crossEntropyBackward, crossEntropyForward } from './losses.js';
import { dropoutMask } from './dropout.js';
import { accumulate, scale, squaredNorm } from './elementwise.js';

/** Every op's reference implementation. */
export const referenceOps: KernelOps = {
  gemm,
  conv1dForward,
  conv1dBackward,
  maxPool1dForward,
  maxPool1dBackward,
  gruForward,
  gruBackward,
  convBlockForward,
  convBlockBackward,
  linearForward,
  linearBackward,
  attentionFusionForward,
  attentionFusionBackward,
  crossEntropyForward,
  crossEntropyBackward,
  bceWithLogitsForward,
  bceWithLogitsBackward,
  dropoutMask,
  accumulate,
  squaredNorm,
  scale,
  sgdStep,
  adamStep,
};

export const jsKernels: Kernels = dispatchKernels('js', () => 'typescript', {}, referenceOps);
