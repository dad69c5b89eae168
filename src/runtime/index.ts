// The federated runtime: the run loop (scheduler, round, train step, callbacks), executors, worker jobs, wire format, client-state store, checkpoints, profiling.
export { runFederated, type RunHooks } from './scheduler.js';
export { sampleClients, selectClients, type Selection, type SelectionConfig } from './selection.js';
export { createDevices, readCapacityTrace, readAvailabilityTrace, TraceError, type Devices, type DeviceProfile } from './devices.js';
export { runRound, roundAggregator, type RoundRecord, type RunTotals, type RoundAggregator, type RoundContext } from './round.js';
export { trainClients, type TrainStepContext, type TrainStepOutcome, type DroppedClient } from './train-step.js';
export { LocalExecutor, workerFile, type ClientExecutor, type RunSpec } from './executor.js';
export type { RunState, RunCallback, RunResult, BestRound } from './run-state.js';
export { resolveRunConfig, configDigest, configOptionTable, type RunConfig, type RunConfigInput, type FaultSpec, type Fusion } from './config.js';
export { encodeUpdate, decodeUpdate, WireError, WIRE_VERSION, F32_EXT_TYPE, type UpdateHeader, type EncodableUpdate, type DecodedUpdate, type DecodeExpectation } from './wire.js';
export { ClientStateStore, serializeVectors, deserializeVectors, type ClientStateStoreOptions, type ClientStateStats } from './client-state.js';
export { readLatestCheckpoint, writeCheckpoint, readWeights, writeWeights, CHECKPOINT_VERSION, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export { TraceWriter, emptyTimings, type PhaseTimings } from './profile.js';
export { ReorderBuffer } from './fold.js';
export { runClientJob, type ClientJob, type ClientWork, type ClientJobResult, type RunSetup, type InjectedFault } from './client-job.js';
