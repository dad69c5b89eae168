// SCAFFOLD (Karimireddy et al. 2020), option II, as FedMultimodal runs it.
//   client: every local gradient gets the correction (c − cᵢ) (after clipping, before the SGD step);
//           afterwards cᵢ⁺ = cᵢ − c + (w_global − w_local)/(K·lr) with K the local steps taken,
//           and the update carries Δcᵢ = cᵢ⁺ − cᵢ = −c − Δwᵢ/(K·lr) as the extra 'dc'.
//   server: uniform average of the model deltas: w ← w + serverLr·mean(Δwᵢ);
//           c ← c + (1/N)·Σ Δcᵢ over the round's accepted clients (N = all training clients).
// cᵢ persists per client in the client-state store (state vector 'c'); a new client starts at 0.
import { numberParam, onlyParams, registerStrategy, type ServerStrategy, type Strategy } from '../strategy.js';

export const scaffold: Strategy = {
  name: 'scaffold',
  description: 'control variates c, c_i correcting client drift (option II, uniform averaging)',
  params(raw) {
    onlyParams(raw, ['serverLr'], 'scaffold');
    return { serverLr: numberParam(raw, 'serverLr', 1, (v) => v > 0, '> 0', 'scaffold') };
  },
  client: {
    adjustGradient(grad, _params, ctx) {
      const c = ctx.broadcast.c;
      const ci = ctx.state?.c;
      if (ci) for (let i = 0; i < grad.length; i++) grad[i] += c[i] - ci[i];
      else for (let i = 0; i < grad.length; i++) grad[i] += c[i];
    },
    extras(ctx, { delta, steps }) {
      const c = ctx.broadcast.c;
      const dc = new Float32Array(delta.length);
      const k = steps > 0 ? 1 / (steps * ctx.local.lr) : 0;
      for (let i = 0; i < dc.length; i++) dc[i] = -c[i] - delta[i] * k;
      return { dc };
    },
  },
  server(params, ctx) {
    const serverLr = params.serverLr as number;
    const c = new Float32Array(ctx.numParams);
    const server: ServerStrategy = {
      extraNames: ['dc'],
      broadcastNames: ['c'],
      broadcast(name) {
        if (name !== 'c') throw new Error(`scaffold broadcasts only 'c' (asked for '${name}')`);
        return c;
      },
      weight: () => 1,
      step(global, means) {
        const d = means.delta;
        for (let i = 0; i < global.length; i++) global[i] += serverLr * d[i];
        const dc = means.extras.dc;
        const share = means.participants / ctx.numClients;
        for (let i = 0; i < c.length; i++) c[i] += share * dc[i];
      },
      nextClientState(previous, update) {
        const dc = update.extras.dc;
        const next = new Float32Array(dc.length);
        const old = previous?.c;
        for (let i = 0; i < next.length; i++) next[i] = (old ? old[i] : 0) + dc[i];
        return { c: next };
      },
      saveState: () => ({ scalars: {}, buffers: { c: c.slice() } }),
      loadState(state) {
        c.set(state.buffers.c);
      },
    };
    return server;
  },
};

registerStrategy(scaffold);
