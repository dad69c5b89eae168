// A population of N training clients over a federated dataset's own partition (the `population` data
// option; `fedmm run --clients N`), for simulations with far more clients than the dataset has.
//
// Client k is a resample of base client b = k mod B of the dataset's B clients: |b| samples drawn with
// replacement from b's training samples (after its corruptions: the same missing modalities, dropped and
// noisy labels) by the stream population/<k> of the partition seed. So the partition's label skew, missing
// modalities and subject styles carry over, each client is a distinct draw, and a client costs nothing until
// it is asked for: the population keeps no per-client state but, once listed, the ids of its active
// clients (4 bytes each). A client's samples are generated when it trains and not kept. dev, test and the
// centralized pool are the base dataset's.
import { Rng } from '../random.js';
import { IndexedDataset } from './client-dataset.js';
import type { SampleSource } from './client-dataset.js';
import type { ClientDataset, ClientSummary, FederatedDataset, ResolvedDataConfig } from './types.js';

/** The most clients a population may have (client ids and the active list stay small next to this). */
export const MAX_POPULATION = 10_000_000;

/** The base dataset as the population reads it: its clients are IndexedDatasets. */
export interface PopulationBase extends FederatedDataset {
  client(k: number): IndexedDataset;
}

export class Population implements FederatedDataset {
  readonly numClients: number;
  private active: number[] | null = null;

  constructor(private readonly base: PopulationBase, private readonly source: SampleSource, size: number) {
    if (!(Number.isInteger(size) && size >= 1 && size <= MAX_POPULATION)) throw new Error(`${base.spec.id}: population must be an integer in [1, ${MAX_POPULATION}], got ${size}`);
    this.numClients = size;
  }

  get spec() {
    return this.base.spec;
  }

  get config(): ResolvedDataConfig {
    return this.base.config;
  }

  private baseOf(k: number): number {
    if (!(Number.isInteger(k) && k >= 0 && k < this.numClients)) throw new Error(`${this.spec.id}: client ${k} out of range [0, ${this.numClients})`);
    return k % this.base.numClients;
  }

  get activeClients(): readonly number[] {
    if (!this.active) {
      const B = this.base.numClients;
      const baseActive = new Uint8Array(B);
      for (const b of this.base.activeClients) baseActive[b] = 1;
      this.active = [];
      for (let k = 0; k < this.numClients; k++) if (baseActive[k % B]) this.active.push(k);
    }
    return this.active;
  }

  client(k: number): ClientDataset {
    const b = this.base.client(this.baseOf(k));
    const rng = new Rng(this.config.seed).fork(`population/${k}`);
    const positions = Int32Array.from({ length: b.size }, () => rng.int(b.size));
    return new IndexedDataset({
      id: k, name: `${b.name}/member-${k}`, source: this.source, indices: positions.map((p) => b.indices[p]),
      labels: b.multiLabel ? null : positions.map((p) => b.labelAt(p)), missing: b.missing,
    });
  }

  clientDev(k: number): ClientDataset {
    return this.base.clientDev(this.baseOf(k));
  }

  centralized(): ClientDataset {
    return this.base.centralized();
  }

  dev(): ClientDataset {
    return this.base.dev();
  }

  test(): ClientDataset {
    return this.base.test();
  }

  get originalOrder(): Int32Array {
    return Int32Array.from({ length: this.numClients }, (_, k) => k);
  }

  summary(): ClientSummary[] {
    const active = new Set(this.activeClients);
    return Array.from({ length: this.numClients }, (_, k) => {
      const c = this.client(k);
      return { id: k, name: c.name, train: c.size, dev: this.clientDev(k).size, labelHistogram: c.labelHistogram, missing: c.missing, active: active.has(k) };
    });
  }
}
