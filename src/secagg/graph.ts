// The SecAgg+ communication graph (Bell et al. 2020): each client exchanges pairwise masks with, and holds
// secret shares for, only its k neighbours instead of all n − 1 others. Here the graph is a ring over a
// seeded random permutation of the cohort, each client joined to the k/2 clients on either side (k even);
// with k ≥ n − 1 it is the complete graph, i.e. the original protocol of Bonawitz et al. 2017.
import type { Rng } from '../random.js';

/**
 * Default neighbours: 3⌈log₂ n⌉ rounded up to even, at most n − 1 (Bell et al. need k = O(log n); the
 * constant 3 keeps the holders of every secret well above the default threshold at 10–30% dropout).
 */
export function defaultNeighbors(n: number): number {
  if (n <= 1) return 0;
  const k = 3 * Math.ceil(Math.log2(n));
  return Math.min(n - 1, k + (k % 2));
}

/** Default threshold: a strict majority of a secret's holders (the client itself and its k neighbours). */
export function defaultThreshold(neighbors: number): number {
  return Math.floor((neighbors + 1) / 2) + 1;
}

/** Per cohort position 0..n−1, its neighbours' positions, ascending. */
export function secAggGraph(n: number, neighbors: number, rng: Rng): Int32Array[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`secAggGraph: cohort size must be an integer ≥ 1, got ${n}`);
  if (!Number.isInteger(neighbors) || neighbors < 0) throw new Error(`secAggGraph: neighbours must be an integer ≥ 0, got ${neighbors}`);
  if (neighbors >= n - 1) {
    return Array.from({ length: n }, (_, u) => Int32Array.from({ length: n - 1 }, (_, k) => (k < u ? k : k + 1)));
  }
  if (neighbors % 2 !== 0) throw new Error(`secAggGraph: neighbours must be even below n − 1 (a ring with k/2 per side), got ${neighbors}`);
  const order = rng.permutation(n);
  const half = neighbors / 2;
  const sets = Array.from({ length: n }, () => new Set<number>());
  for (let r = 0; r < n; r++) {
    for (let d = 1; d <= half; d++) {
      const u = order[r];
      const v = order[(r + d) % n];
      sets[u].add(v);
      sets[v].add(u);
    }
  }
  return sets.map((s) => Int32Array.from([...s].sort((a, b) => a - b)));
}
