// Client-level differential privacy (DP-FedAvg, the RDP accountant) and the private round aggregator.
export { DEFAULT_ORDERS, RdpAccountant, epsilonFromRdp, epsilonSampledGaussian, noiseForEpsilon, rdpComposed, rdpSampledGaussian } from './rdp.js';
export type { PrivacySpent } from './rdp.js';
export { RunPrivacy, defaultDelta, noiseForTarget } from './accounting.js';
export type { DpMode } from './accounting.js';
export { ClipNorm, ClippedSum, addGaussianNoise, deltaNoiseMultiplier, privatizeLocally } from './dp.js';
export type { ClipRule } from './dp.js';
export { PrivacyState, PrivateRoundAggregator } from './private-aggregator.js';
export type { PrivacyRoundReport, PrivacySettings } from './private-aggregator.js';
export { parseDpConfig, parseSecAggConfig } from './settings.js';
export type { DpConfig, SecAggConfig } from './settings.js';
