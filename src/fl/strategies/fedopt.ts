// FedOpt: the server treats the round's sample-weighted mean update as a pseudo-gradient and steps with
// its own optimizer.
//
//   sgdm (FedMultimodal's FedOpt): g = (w_global − w_avg) / localLr = −Δ̄ / localLr, then PyTorch SGD with
//     momentum β (first step: buf = g): buf = β·buf + g, w ← w − serverLr·buf.
//   adam / yogi / adagrad (Reddi et al. 2021, Algorithm 2, no bias correction), on Δ̄ = w_avg − w_global:
//     m = β1·m + (1 − β1)·Δ̄
//     adam:    v = β2·v + (1 − β2)·Δ̄²
//     yogi:    v = v − (1 − β2)·Δ̄²·sign(v − Δ̄²)
//     adagrad: v = v + Δ̄²
//     w ← w + serverLr · m / (√v + τ)          (m = v = 0 at the start)
import { kernels } from '../../backend/index.js';
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
    const m = new Float32Array(P);
    const v = new Float32Array(P);
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
        if (optimizer === 'sgdm') {
          const inv = 1 / ctx.local.lr;
          for (let i = 0; i < P; i++) g[i] = -d[i] * inv;
          kernels().sgdStep(global, g, m, {
            lr, momentum: params.serverMomentum as number, dampening: 0, nesterov: false, weightDecay: 0, hasMomentumBuffer: steps > 0,
          });
        } else {
          const b1 = params.beta1 as number;
          const b2 = params.beta2 as number;
          const tau = params.tau as number;
          for (let i = 0; i < P; i++) {
            const di = d[i];
            const d2 = di * di;
            m[i] = b1 * m[i] + (1 - b1) * di;
            if (optimizer === 'adam') v[i] = b2 * v[i] + (1 - b2) * d2;
            else if (optimizer === 'yogi') v[i] = v[i] - (1 - b2) * d2 * Math.sign(v[i] - d2);
            else v[i] = v[i] + d2;
            global[i] += (lr * m[i]) / (Math.sqrt(v[i]) + tau);
          }
        }
        steps++;
      },
      saveState: () => ({ scalars: { steps }, buffers: { m: m.slice(), v: v.slice() } }),
      loadState(state) {
        steps = state.scalars.steps;
        m.set(state.buffers.m);
        v.set(state.buffers.v);
      },
    };
    return server;
  },
};

registerStrategy(fedOpt);
