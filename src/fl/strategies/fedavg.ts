// FedAvg (McMahan et al. 2017): the new global model is the sample-weighted mean of the local models,
// applied as w ← w + serverLr · Σ nᵢ·Δᵢ / Σ nᵢ (serverLr 1 = plain averaging).
import { averagingServer, numberParam, onlyParams, registerStrategy, type Strategy } from '../strategy.js';

export const fedAvg: Strategy = {
  name: 'fedavg',
  description: 'sample-weighted average of the local models',
  params(raw) {
    onlyParams(raw, ['serverLr'], 'fedavg');
    return { serverLr: numberParam(raw, 'serverLr', 1, (v) => v > 0, '> 0', 'fedavg') };
  },
  client: {},
  server: (params) => averagingServer(params.serverLr as number),
};

registerStrategy(fedAvg);
