export { Conv1dEncoder, pooledLength } from './conv-encoder.js';
export { MultimodalClassifier, type Fusion, type ModalityInput, type MultimodalOptions } from './multimodal.js';
export { createModel, type ModelOptions } from './factory.js';
export { modelFlops, forwardFlopsPerSample, batchSteps, TRAIN_FLOPS_PER_FORWARD, type LayerFlops } from './flops.js';
