// Secure aggregation's cost at the UCI-HAR model's size (P = 420,684) for cohorts n = 10, 100, 1000 with
// the default SecAgg+ neighbours and threshold and 10% of the cohort dropping before masking: bytes each
// client sends and receives and CPU ms each client spends, against plain aggregation in the same run (a
// client sends its float32 update and receives the float32 model; the server folds the update into a
// StreamingMean). The unmasked sum is checked against the plain fixed-point sum. Usage:
//   node dist/bench/run.js secagg            (n = 10, 100, 1000)
//   FEDMM_SECAGG_N=10,100 node dist/bench/run.js secagg
import { StreamingMean } from '../src/aggregate/index.js';
import { Rng } from '../src/random.js';
import { encodeFixed, fixedPoint } from '../src/secagg/fixed-point.js';
import { addWords } from '../src/secagg/prg.js';
import { SecAggSession } from '../src/secagg/session.js';

const P = 420_684;
const DROPOUT = 0.1;
/** Distinct inputs (party u submits input u mod INPUTS), so that n = 1000 does not hold 1.7 GB of inputs. */
const INPUTS = 4;

function mean(xs: ArrayLike<number>, members: readonly number[]): number {
  let s = 0;
  for (const u of members) s += xs[u];
  return s / members.length;
}

export async function run(): Promise<void> {
  const sizes = (process.env.FEDMM_SECAGG_N ?? '10,100,1000').split(',').map(Number);
  const rng = new Rng(11);
  const floats = Array.from({ length: INPUTS }, () => Float32Array.from({ length: P }, () => rng.normal(0, 0.01)));
  const rows: Record<string, string | number>[] = [];
  for (const n of sizes) {
    const fp = fixedPoint(0.5, n);
    const encoded = floats.map((x) => {
      const q = new Uint32Array(P);
      encodeFixed(x, fp, q);
      return q;
    });

    // Plain aggregation: the server folds each float32 update.
    const sm = new StreamingMean(P);
    const t0 = performance.now();
    for (let u = 0; u < n; u++) sm.add(floats[u % INPUTS], 1);
    sm.result(new Float32Array(P));
    const plainServerMs = (performance.now() - t0) / n;

    const session = new SecAggSession({ parties: n, length: P, rng: rng.fork(`graph${n}`) });
    const members = [...rng.fork(`drop${n}`).permutation(n)].slice(Math.round(DROPOUT * n)).sort((a, b) => a - b);
    for (const u of members) session.submit(u, encoded[u % INPUTS]);
    const sum = session.finish();
    const plain = new Uint32Array(P);
    for (const u of members) addWords(plain, encoded[u % INPUTS]);
    for (let i = 0; i < P; i++) if (sum[i] !== plain[i]) throw new Error(`secagg bench: n = ${n}: unmasked sum differs from the plain sum at ${i}`);

    const up = mean(session.traffic.map((t) => t.up), members);
    const down = mean(session.traffic.map((t) => t.down), members);
    const plainUp = 4 * P;
    const plainDown = 4 * P;
    const clientMs = mean(session.cpu.clientMs, members);
    rows.push({
      n,
      'k, t': `${session.neighbors}, ${session.params.threshold}`,
      'up KB/client': +(up / 1024).toFixed(1),
      'up vs plain': +(up / plainUp).toFixed(4),
      'up+down vs plain': +((up + down + 4 * P) / (plainUp + plainDown)).toFixed(4),
      'client CPU ms': +clientMs.toFixed(1),
      'server CPU ms/client': +(session.cpu.serverMs / members.length).toFixed(2),
      'plain server ms/client': +plainServerMs.toFixed(2),
      'secagg/plain CPU per client': +((clientMs + session.cpu.serverMs / members.length) / plainServerMs).toFixed(1),
    });
    console.log(`n = ${n}: done (${members.length} survivors, sum exact)`);
  }
  console.table(rows);
}
