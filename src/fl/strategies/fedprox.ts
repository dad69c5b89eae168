// FedProx (Li et al. 2020): the local gradient gets the proximal term μ·(w − w_global), added after
// gradient clipping and before the SGD step; the server averages like FedAvg.
import { averagingServer, numberParam, onlyParams, registerStrategy, type Strategy } from '../strategy.js';

export const fedProx: Strategy = {
  name: 'fedprox',
  description: 'FedAvg with the proximal term mu*(w - w_global) in the local gradient',
  params(raw) {
    onlyParams(raw, ['mu', 'serverLr'], 'fedprox');
    return {
      mu: numberParam(raw, 'mu', 0.01, (v) => v >= 0, '≥ 0', 'fedprox'),
      serverLr: numberParam(raw, 'serverLr', 1, (v) => v > 0, '> 0', 'fedprox'),
    };
  },
  client: {
    adjustGradient(grad, params, ctx) {
      const mu = ctx.params.mu as number;
      const g0 = ctx.global;
      for (let i = 0; i < grad.length; i++) grad[i] += mu * (params[i] - g0[i]);
    },
  },
  server: (params) => averagingServer(params.serverLr as number),
};

registerStrategy(fedProx);
