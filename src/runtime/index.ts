// The federated runtime: scheduler, worker jobs, wire format, client-state store, checkpoints, profiling.
export { runFederated, sampleClients, workerFile, type RunResult, type RunHooks, type RoundRecord, type BestRound, type RunTotals } from './scheduler.js';
export { resolveRunConfig, type RunConfig, type RunConfigInput, type FaultSpec, type Fusion } from './config.js';
export { encodeUpdate, decodeUpdate, WireError, WIRE_VERSION, F32_EXT_TYPE, type UpdateHeader, type EncodableUpdate, type DecodedUpdate, type DecodeExpectation } from './wire.js';
export { ClientStateStore, serializeVectors, deserializeVectors, type ClientStateStoreOptions, type ClientStateStats } from './client-state.js';
export { readLatestCheckpoint, writeCheckpoint, readWeights, writeWeights, CHECKPOINT_VERSION, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export { TraceWriter, emptyTimings, type PhaseTimings } from './profile.js';
export { RoundAccumulator, ReorderBuffer } from './fold.js';
export { runClientJob, type ClientJob, type ClientJobResult, type RunSetup, type InjectedFault } from './client-job.js';
