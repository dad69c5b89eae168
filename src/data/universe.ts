// A dataset's sample table before any features exist: per sample its label(s), natural group
// (speaker/subject/site, or UCF101's video group) and split role. Cheap: MiT51's 157,600 rows take a few ms.
// The federated partition is computed from this table alone, so creating a FederatedDataset never
// generates features.

/** Split role of a sample: the training pool (clients), the official dev set, or the test set. */
export const POOL = 0;
export const OFFICIAL_DEV = 1;
export const TEST = 2;

export interface Universe {
  readonly n: number;
  readonly numClasses: number;
  /** Class index per sample; -1 everywhere for multi-label sets. */
  readonly labels: Int32Array;
  /** Multi-hot labels [n, C] for multi-label sets, else null. */
  readonly multi: Uint8Array | null;
  /** Natural group per sample (0..numGroups-1), -1 when the set has none. */
  readonly group: Int32Array;
  readonly numGroups: number;
  /** Name of each group, e.g. "subject-07". */
  readonly groupNames: readonly string[];
  /** POOL, OFFICIAL_DEV or TEST per sample. */
  readonly split: Uint8Array;
  /** The original's partition key per sample (real data): the order its numpy train/dev split shuffles. */
  readonly keys?: readonly string[];
  /** Per group, the client id FedMultimodal's partition gives it when it differs from groupNames (real data). */
  readonly originalGroupNames?: readonly string[];
}

/** Indices i with split[i] === role (and group[i] === g when g is given), in index order. */
export function indicesWhere(u: Universe, role: number, g?: number): Int32Array {
  let count = 0;
  for (let i = 0; i < u.n; i++) if (u.split[i] === role && (g === undefined || u.group[i] === g)) count++;
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < u.n; i++) if (u.split[i] === role && (g === undefined || u.group[i] === g)) out[k++] = i;
  return out;
}
