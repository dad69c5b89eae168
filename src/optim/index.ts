export { Optimizer, type OptimizerState } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { clipGradBuffers, clipGradNorm } from './clip.js';
