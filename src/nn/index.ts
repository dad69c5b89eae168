export { Module, Parameter, type FlatBuffers, type FlatEntry, type StateDict } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Conv1d, type Conv1dLayerOptions } from './conv1d.js';
export { MaxPool1d } from './maxpool1d.js';
export { Dropout } from './dropout.js';
export { ReLU, Tanh } from './activation.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export { Sequential, type UnaryModule } from './sequential.js';
export { uniformFanIn } from './init.js';
