// Secure aggregation (SecAgg with the SecAgg+ graph) on node:crypto: the protocol's parties, one simulated
// round, Shamir sharing, the fixed-point encoding and the mask generator.
export { SecAggAbort, SecAggClient, SecAggServer, WIRE } from './protocol.js';
export type { EncryptedShare, KeyAdvertisement, SecAggParams, UnmaskRequest, UnmaskResponse } from './protocol.js';
export { SecAggSession } from './session.js';
export type { PartyTraffic, SecAggCpu, SecAggSessionOptions } from './session.js';
export { defaultNeighbors, defaultThreshold, secAggGraph } from './graph.js';
export { combineShares, splitSecret, FIELD_PRIME } from './shamir.js';
export type { Share } from './shamir.js';
export { decodeFixedSum, encodeFixed, fixedPoint } from './fixed-point.js';
export type { FixedPoint } from './fixed-point.js';
export { expandMask } from './prg.js';
