// The TypeScript reference backend: every kernel in plain loops, over Float32Array or Float64Array.
import type { Kernels } from '../kernels.js';
import { gemm } from './gemm.js';
import { conv1dBackward, conv1dForward } from './conv1d.js';
import { maxPool1dBackward, maxPool1dForward } from './maxpool1d.js';
import { gruBackward, gruForward } from './gru.js';
import { adamStep, sgdStep } from './optim.js';

export const jsKernels: Kernels = {
  name: 'js',
  variant: 'typescript',
  gemm,
  conv1dForward,
  conv1dBackward,
  maxPool1dForward,
  maxPool1dBackward,
  gruForward,
  gruBackward,
  sgdStep,
  adamStep,
};
