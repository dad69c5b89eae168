import { describe, expect, test } from 'vitest';
import * as fedmm from '../src/index.js';

describe('the package entry', () => {
  test('exposes the engine, the aggregation kernels, the data and model layers and the runtime', () => {
    for (const name of ['Tensor', 'noGrad', 'nn', 'F', 'optim', 'manualSeed', 'Rng', 'backendInfo', 'useBackend', 'useIsa',
      'aggregate', 'data', 'models', 'fl', 'runFederated', 'resolveRunConfig']) {
      expect(fedmm, name).toHaveProperty(name);
    }
  });

  test('aggregate.StreamingMean averages updates weighted by sample counts', () => {
    const mean = new fedmm.aggregate.StreamingMean(3);
    mean.add(Float32Array.from([1, 2, 3]), 1);
    mean.add(Float32Array.from([4, 5, 6]), 2);
    expect(Array.from(mean.result())).toEqual([3, 4, 5]);
  });

  test('models.createModel builds a dataset\'s FedMultimodal classifier', () => {
    const model = fedmm.models.createModel(fedmm.data.getDataset('uci-har'), { dHid: 8 });
    expect(model.namedParameters()[0][0]).toBe('acc_conv.conv1.weight');
  });
});
