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
export { detectSource } from './sources.js';
export { exportFederated, openPrepared, readManifest, writePrepared, PreparedSource, MANIFEST_FILE, type Manifest, type ManifestClient, type ManifestModality } from './prepared.js';
export { SafetensorsFile, writeSafetensorsFile, tensorOf, type DType, type TensorSource } from './safetensors-file.js';
export { loadKuHar, kuHarSource, KU_HAR_CLASS_FOLDERS, type KuHarData } from './ku-har.js';
export { loadPtbXl, ptbXlSource, PTB_XL_CLASSES, type PtbXlData } from './ptb-xl.js';
export { readWfdbHeader, readWfdbRecord, type WfdbHeader } from './wfdb.js';
export { readWav, parseWav, mixToMono, type WavAudio } from './audio/wav.js';
export { resample } from './audio/resample.js';
export { fbank, kaldiFrameCount, melBanks, type FbankOptions } from './audio/fbank.js';
export { loadSpeech, speechSource, featureCacheDir, type SpeechData } from './audio/speech.js';
export { parseDecimal, parseDecimalInteger, parseFloat32Decimal } from '../io/decimal.js';
export { POOL, OFFICIAL_DEV, TEST, indicesWhere, type Universe } from './universe.js';
export * from './metrics.js';
export { NumpyLegacyRandom, numpySum, powLibm } from './numpy-legacy.js';
export { numpyClientChoice, numpyDirichletPartition, numpySplitTrainDev, numpyUciHarPartition, type PaperShard } from './numpy-partition.js';
