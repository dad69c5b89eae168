// FedRS (Li & Zhan 2021, restricted softmax) as FedMultimodal runs it: during local training the logits of
// classes the client does not hold are scaled by α (their bias dropped); the server averages like FedAvg.
// The class set comes from the client's own label histogram, so it needs no persistent state.
import { averagingServer, numberParam, onlyParams, registerStrategy, type Strategy } from '../strategy.js';

export const fedRS: Strategy = {
  name: 'fedrs',
  description: 'restricted softmax: logits of classes absent from the client scaled by alpha',
  params(raw) {
    onlyParams(raw, ['alpha', 'serverLr'], 'fedrs');
    return {
      alpha: numberParam(raw, 'alpha', 0.9, (v) => v >= 0 && v <= 1, 'in [0, 1]', 'fedrs'),
      serverLr: numberParam(raw, 'serverLr', 1, (v) => v > 0, '> 0', 'fedrs'),
    };
  },
  client: {
    classScale(ctx) {
      const alpha = ctx.params.alpha as number;
      const scale = new Float32Array(ctx.numClasses);
      for (let c = 0; c < scale.length; c++) scale[c] = ctx.labelHistogram[c] > 0 ? 1 : alpha;
      return scale;
    },
  },
  server: (params) => averagingServer(params.serverLr as number),
};

registerStrategy(fedRS);
