// FedMultimodal's own partition code, replayed with numpy's legacy generator so that the paper's UCI-HAR
// shards are reproduced exactly (features/data_partitioning/{partition_manager,uci-har/data_partition}.py).
import { NumpyLegacyRandom, numpySum } from './numpy-legacy.js';

/** partition_manager.split_train_dev: np.random.seed(8), shuffle arange(n), the first int(n/5) are dev. */
export function numpySplitTrainDev<T>(keys: readonly T[]): { train: T[]; dev: T[] } {
  const rng = new NumpyLegacyRandom(8);
  const arr = rng.shuffle(Int32Array.from({ length: keys.length }, (_, i) => i));
  const nDev = Math.floor(keys.length / 5);
  return { train: Array.from(arr.subarray(nDev), (i) => keys[i]), dev: Array.from(arr.subarray(0, nDev), (i) => keys[i]) };
}

/**
 * The original server's client schedule (server_trainer.sample_clients): np.random.seed(round), then
 * np.random.choice(n, k, replace=False) — the first k of a legacy permutation of arange(n).
 */
export function numpyClientChoice(round: number, n: number, k: number): Int32Array {
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) throw new Error(`numpy choice: cannot take ${k} of ${n} without replacement`);
  return new NumpyLegacyRandom(round).shuffle(Int32Array.from({ length: n }, (_, i) => i)).slice(0, k);
}

/**
 * partition_manager.direchlet_partition: np.random.seed(8); repeat until every client has ≥ minSize items:
 * for k in range(len(unique(labels))) shuffle the class's positions, draw Dir(α), zero clients holding
 * ≥ N/K, normalise, cut at (cumsum·n_k).astype(int). Returns positions per client.
 */
export function numpyDirichletPartition(labels: ArrayLike<number>, alpha: number, numClients: number, minSize = 5, maxAttempts = 10000): number[][] {
  const N = labels.length;
  const K = new Set(Array.from(labels)).size;
  const rng = new NumpyLegacyRandom(8);
  const alphas = new Float64Array(numClients).fill(alpha);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let clients: number[][] = Array.from({ length: numClients }, () => []);
    let minCount = 0;
    for (let k = 0; k < K; k++) {
      const idx: number[] = [];
      for (let i = 0; i < N; i++) if (labels[i] === k) idx.push(i);
      rng.shuffle(idx);
      const p = rng.dirichlet(alphas);
      for (let j = 0; j < numClients; j++) p[j] = clients[j].length < N / numClients ? p[j] : 0;
      const s = numpySum(p);
      let acc = 0;
      const cuts: number[] = [];
      for (let j = 0; j < numClients; j++) {
        acc += p[j] / s;
        if (j < numClients - 1) cuts.push(Math.trunc(acc * idx.length));
      }
      // np.split at the cut points (clipped to the array like numpy slicing)
      clients = clients.map((c, j) => {
        const from = Math.min(idx.length, Math.max(0, j === 0 ? 0 : cuts[j - 1]));
        const to = Math.min(idx.length, Math.max(0, j === numClients - 1 ? idx.length : cuts[j]));
        return c.concat(idx.slice(from, Math.max(from, to)));
      });
      minCount = Math.min(...clients.map((c) => c.length));
    }
    if (minCount >= minSize) return clients;
  }
  throw new Error(`numpy Dirichlet partition: no split into ${numClients} clients of ≥ ${minSize} after ${maxAttempts} draws`);
}

export interface PaperShard {
  /** "<subject>-<shard>", as the original's partition keys. */
  readonly name: string;
  readonly subject: number;
  /** Row indices into the training split, in the original's order. */
  readonly indices: Int32Array;
}

/**
 * The paper's UCI-HAR partition: per training subject (ascending), keys "subject/row" sorted as strings,
 * 20% dev by split_train_dev, the rest into `shards` Dirichlet(α) shards. Dev rows are per subject.
 */
export function numpyUciHarPartition(subjects: Int32Array, labels: Int32Array, alpha: number, shards = 5): { shards: PaperShard[]; dev: Map<number, Int32Array> } {
  const out: PaperShard[] = [];
  const dev = new Map<number, Int32Array>();
  const unique = Array.from(new Set(subjects)).sort((a, b) => a - b);
  for (const s of unique) {
    const keys: string[] = [];
    for (let i = 0; i < subjects.length; i++) if (subjects[i] === s) keys.push(`${s}/${i}`);
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const rowOf = (key: string) => Number(key.slice(key.indexOf('/') + 1));
    const { train, dev: devKeys } = numpySplitTrainDev(keys);
    const parts = numpyDirichletPartition(
      train.map((k) => labels[rowOf(k)]),
      alpha,
      shards,
    );
    parts.forEach((p, j) => out.push({ name: `${s}-${j}`, subject: s, indices: Int32Array.from(p, (q) => rowOf(train[q])) }));
    dev.set(s, Int32Array.from(devKeys, rowOf));
  }
  return { shards: out, dev };
}
