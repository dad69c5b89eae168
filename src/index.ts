// The public API: import { Tensor, nn, F, optim, manualSeed } from 'fedmm'.
export { Tensor, noGrad } from './tensor/index.js';
export * as nn from './nn/index.js';
export * as F from './nn/functional.js';
export * as optim from './optim/index.js';
export { manualSeed, Rng } from './random.js';
export { autoChoice, backendInfo, useBackend, type BackendChoice, type BackendInfo } from './backend/index.js';
export { useIsa, supportedIsas, type IsaVariant } from './backend/native.js';
export * as aggregate from './aggregate/index.js';
export * as fl from './fl/index.js';
export { runFederated, resolveRunConfig, type RunConfig, type RunConfigInput, type RunResult, type RoundRecord, type RunHooks } from './runtime/index.js';
export * as data from './data/index.js';
export * as models from './models/index.js';
export * as privacy from './privacy/index.js';
export * as secagg from './secagg/index.js';
