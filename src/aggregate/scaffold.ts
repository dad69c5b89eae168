// SCAFFOLD control variates (Karimireddy et al. 2020, option II) over flat buffers [P].
//   client: c_i⁺ = c_i − c + (w_global − w_local) / (K·lr_local)   (K local steps)
//   server: c += (1/N_total) · Σ_{i ∈ round} (c_i⁺ − c_i)
// The server sum is accumulated in float64 (scaffoldAccumulate per client, scaffoldApply once per round).
import { aggregateOps } from './ops.js';

function sameLength(fn: string, n: number, arrays: Record<string, { length: number }>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a.length !== n) throw new Error(`${fn}: ${name} has ${a.length} values, expected ${n}`);
  }
}

/** out[P] = ci − c + deltaW / (localSteps·localLr), deltaW = w_global − w_local; out may alias ci. */
export function scaffoldClientControl(ci: Float32Array, c: Float32Array, deltaW: Float32Array,
  localSteps: number, localLr: number, out: Float32Array = new Float32Array(ci.length)): Float32Array {
  sameLength('scaffoldClientControl', ci.length, { c, deltaW, out });
  if (!(localSteps > 0) || !(localLr > 0)) {
    throw new Error(`scaffoldClientControl: localSteps and localLr must be positive, got ${localSteps}, ${localLr}`);
  }
  aggregateOps().scaffoldClientControl(ci, c, deltaW, 1 / (localSteps * localLr), out);
  return out;
}

/** acc[P] += ciNew − ciOld (float64), one call per participating client. */
export function scaffoldAccumulate(acc: Float64Array, ciNew: Float32Array, ciOld: Float32Array): void {
  sameLength('scaffoldAccumulate', acc.length, { ciNew, ciOld });
  aggregateOps().scaffoldAccumulate(acc, ciNew, ciOld);
}

/** c[P] += acc / totalClients (N_total: all clients, not only this round's). */
export function scaffoldApply(c: Float32Array, acc: Float64Array, totalClients: number): void {
  sameLength('scaffoldApply', c.length, { acc });
  if (!(totalClients > 0)) throw new Error(`scaffoldApply: totalClients must be positive, got ${totalClients}`);
  aggregateOps().scaffoldApply(c, acc, 1 / totalClients);
}
