// Public API of the data layer: registry, data format, simulated and real datasets, partitions,
// robustness simulations and metrics.
export * from './types.js';
export * from './registry.js';
export { collate } from './collate.js';
export { IndexedDataset, type SampleSource, type IndexedDatasetOptions } from './client-dataset.js';
export { createFederatedDataset, resolveConfig } from './federated.js';
export { dirichletPartition, devSplit, devCount, formatPartitionSummary } from './partition.js';
export { drawMissingModalities, drawLabelMask, labelTransitionMatrix, corruptLabels } from './robustness.js';
export { SimulatedSource, simulatedUniverse, simulatedSampleCount, simulationParams, zNormalizeWindow, UCI_HAR_SUBJECTS } from './simulate.js';
export { loadUciHar, uciHarSource, UCI_HAR_WINDOW, UCI_HAR_CLASSES, type UciHarData, type UciHarSplit } from './uci-har.js';
export { POOL, OFFICIAL_DEV, TEST, indicesWhere, type Universe } from './universe.js';
export * from './metrics.js';
export { NumpyLegacyRandom, numpySum, powLibm } from './numpy-legacy.js';
export { numpyDirichletPartition, numpySplitTrainDev, numpyUciHarPartition, type PaperShard } from './numpy-partition.js';
