// Federated algorithms, local training and the task abstraction.
export * from './task.js';
export * from './strategy.js';
export * from './local.js';
export * from './strategies/index.js';
export { LogisticTask, LOGISTIC_DEFAULTS, type LogisticSpec, type LogisticBatch } from './logistic.js';
export { FedMultimodalTask, type FedMultimodalSpec } from './fedmultimodal.js';
