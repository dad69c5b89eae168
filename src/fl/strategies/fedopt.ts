// FedOpt: the server treats the round's sample-weighted mean update as a pseudo-gradient and steps with
// its own optimizer (src/aggregate's server optimizers, per coordinate, float64 arithmetic):
//
//   sgdm (FedMultimodal's FedOpt): g = (w_global − w_avg) / localLr = −Δ̄ / localLr;
//     m = β·m + g (m = g on the first step), w ← w − serverLr·m.
//   adam / yogi / adagrad (Reddi et al. 2021, Algorithm 2, no bias correction): g = w_global − w_avg = −Δ̄;
//     m = β1·m + (1 − β1)·g
//     adam:    v = β2·v + (1 − β2)·g²
//     yogi:    v = v − (1 − β2)·g²·sign(v − g²)
//     adagrad: v = v + g²
//     w ← w − serverLr · m / (√v + τ)          (m = 0, v = τ² at the start)
import { FedAdagrad, FedAdam, FedYogi, ServerSgd } from '../../aggregate/server-optim.js';
import { numberParam, onlyParams, registerStrategy, type ServerStrategy, type Strategy } from '../strategy.js';

export const SERVER_OPTIMIZERS = ['sgdm', 'adam', 'yogi', 'adagrad'] as const;
export type ServerOptimizerName = (typeof SERVER_OPTIMIZERS)[number];

export const fedOpt: Strategy = {
  name: 'fedopt',
  description: 'server optimizer on the averaged pseudo-gradient: sgdm (FedMultimodal), adam, yogi, adagrad',
  params(raw) {
    onlyParams(raw, ['optimizer', 'serverLr', 'serverMomentum', 'beta1', 'beta2', 'tau'], 'fedopt');
    const optimizer = raw.optimizer ?? 'sgdm';
    if (typeof optimizer !== 'string' || !(SERVER_OPTIMIZERS as readonly string[]).includes(optimizer)) {
      throw new Error(`fedopt: optimizer must be one of ${SERVER_OPTIMIZERS.join(', ')}, got ${String(optimizer)}`);
    }
    const unit = (v: number) => v >= 0 && v < 1;
    return {
      optimizer,
      serverLr: numberParam(raw, 'serverLr', optimizer === 'sgdm' ? 0.025 : 0.01, (v) => v > 0, '> 0', 'fedopt'),
      serverMomentum: numberParam(raw, 'serverMomentum', 0.9, unit, 'in [0, 1)', 'fedopt'),
      beta1: numberParam(raw, 'beta1', 0.9, unit, 'in [0, 1)', 'fedopt'),
      beta2: numberParam(raw, 'beta2', 0.99, unit, 'in [0, 1)', 'fedopt'),
      tau: numberParam(raw, 'tau', 1e-3, (v) => v > 0, '> 0', 'fedopt'),
    };
  },
  client: {},
  server(params, ctx) {
    const P = ctx.numParams;
    const optimizer = params.optimizer as ServerOptimizerName;
    const lr = params.serverLr as number;
    const adaptive = { lr, beta1: params.beta1 as number, beta2: params.beta2 as number, tau: params.tau as number };
    const opt = optimizer === 'sgdm' ? new ServerSgd(P, { lr, momentum: params.serverMomentum as number })
      : optimizer === 'adam' ? new FedAdam(P, adaptive)
        : optimizer === 'yogi' ? new FedYogi(P, adaptive)
          : new FedAdagrad(P, adaptive);
    const scale = optimizer === 'sgdm' ? -1 / ctx.local.lr : -1;
    const g = new Float32Array(P);
    let steps = 0;
    const server: ServerStrategy = {
      extraNames: [],
      broadcastNames: [],
      broadcast(name) {
        throw new Error(`fedopt broadcasts nothing (asked for '${name}')`);
      },
      weight: (u) => u.numSamples,
      step(global, means) {
        const d = means.delta;
        for (let i = 0; i < P; i++) g[i] = d[i] * scale;
        opt.step(global, g);
        steps++;
      },
      saveState() {
        const buffers: Record<string, Float32Array> = {};
        for (const [k, v] of Object.entries(opt.state())) buffers[k] = v.slice();
        return { scalars: { steps }, buffers };
      },
      loadState(state) {
        steps = state.scalars.steps;
        opt.loadState(state.buffers);
      },
    };
    return server;
  },
};

registerStrategy(fedOpt);
