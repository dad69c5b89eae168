// Partitions and splits: Dirichlet(α) per class with resampling (FedMultimodal / NIID-bench), per-client
// dev splits, and the partition summary table.
import type { Rng } from '../random.js';
import type { ClientSummary } from './types.js';

/**
 * Splits items over clients with per-class Dirichlet(α) proportions, as FedMultimodal's
 * partition_manager: per class, shuffle its items, draw p ~ Dir(α·1_K), zero p for clients already
 * holding ≥ N/K items (balance), normalise, cut at floor(cumsum(p)·n_c). The whole draw is repeated until
 * every client's size passes `accept` (the minimum-size rule). Returns item positions per client.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  numClients: number,
  alpha: number,
  rng: Rng,
  accept: (size: number) => boolean,
  maxAttempts = 10000,
): Int32Array[] {
  if (!(alpha > 0)) throw new Error(`Dirichlet α must be > 0, got ${alpha}`);
  if (!(numClients >= 1 && Number.isInteger(numClients))) throw new Error(`number of clients must be a positive integer, got ${numClients}`);
  const N = labels.length;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < N; i++) {
    const y = labels[i];
    if (!(y >= 0 && y < numClasses)) throw new Error(`dirichletPartition: label ${y} at position ${i} outside [0, ${numClasses})`);
    byClass[y].push(i);
  }
  const cap = N / numClients;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const clients: number[][] = Array.from({ length: numClients }, () => []);
    let failed = false;
    for (let c = 0; c < numClasses && !failed; c++) {
      if (byClass[c].length === 0) continue;
      const idx = rng.shuffle(byClass[c].slice());
      const p = rng.dirichlet(alpha, numClients);
      let sum = 0;
      for (let j = 0; j < numClients; j++) sum += p[j] = clients[j].length < cap ? p[j] : 0;
      if (!(sum > 0) || !Number.isFinite(sum)) {
        failed = true;
        break;
      }
      let acc = 0;
      let start = 0;
      for (let j = 0; j < numClients; j++) {
        acc += p[j] / sum;
        const end = j === numClients - 1 ? idx.length : Math.min(idx.length, Math.floor(acc * idx.length));
        for (let k = start; k < end; k++) clients[j].push(idx[k]);
        start = Math.max(start, end);
      }
    }
    if (!failed && clients.every((cl) => accept(cl.length))) return clients.map((cl) => Int32Array.from(cl));
  }
  throw new Error(`Dirichlet partition: no split of ${N} samples into ${numClients} clients met the minimum size after ${maxAttempts} draws (α=${alpha})`);
}

/** Dev part of a client of n samples: floor(n/5), as the original's int(len/5). */
export function devCount(n: number): number {
  return Math.floor(n / 5);
}

/** Shuffles a client's sample indices with rng and holds out floor(n/5) as dev; both parts sorted. */
export function devSplit(indices: Int32Array, rng: Rng): { train: Int32Array; dev: Int32Array } {
  const order = rng.shuffle(indices.slice());
  const nDev = devCount(indices.length);
  return { dev: order.slice(0, nDev).sort(), train: order.slice(nDev).sort() };
}

/** The partition as text: one row per client with train/dev counts, label histogram and missing modalities. */
export function formatPartitionSummary(rows: readonly ClientSummary[], classNames: readonly string[], modalityNames: readonly string[]): string {
  const header = ['client', 'name', 'train', 'dev', 'labels (' + classNames.length + ' classes)', 'missing', 'active'];
  const body = rows.map((r) => [
    String(r.id),
    r.name,
    String(r.train),
    String(r.dev),
    Array.from(r.labelHistogram).join(' '),
    modalityNames.filter((_, m) => r.missing[m]).join('+') || '-',
    r.active ? 'yes' : 'no',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd();
  const totalTrain = rows.reduce((a, r) => a + r.train, 0);
  const totalDev = rows.reduce((a, r) => a + r.dev, 0);
  return [line(header), ...body.map(line), `${rows.length} clients, ${totalTrain} train, ${totalDev} dev samples`].join('\n');
}
