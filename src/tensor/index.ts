export { Tensor, noGrad, isGradEnabled, makeOutput, recordsGraph, addGrad, allocFloat, type DType, type TensorOptions } from './tensor.js';
export { matmul, type MatmulOptions } from './ops/matmul.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { sequenceMean, lengthMask } from './ops/sequence.js';
export { dropout } from './ops/dropout.js';
export { cat } from './ops/layout.js';
export { numel, shapeString, type Shape } from './shape.js';
