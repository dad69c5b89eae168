// Benchmark fixture (a runtime plugin): a large client population with UCI-HAR's model and data shapes.
// Client k trains on UCI-HAR (simulated) client activeClients[k mod active], so any population size costs
// no more data than UCI-HAR's own 105 clients; dev/test are UCI-HAR's.
import { FedMultimodalTask, type FedMultimodalSpec } from '../src/fl/fedmultimodal.js';
import { registerTask, type Task, type TaskData, type TaskSpec, type TrainableModel, type Metrics } from '../src/fl/task.js';
import type { Batch } from '../src/data/types.js';
import type { Rng } from '../src/random.js';

export interface PopulationSpec extends TaskSpec {
  readonly kind: 'uci-har-population';
  readonly population: number;
  /** FedMultimodal task options (dataset is always uci-har). */
  readonly inner: Omit<FedMultimodalSpec, 'kind' | 'dataset'>;
}

class PopulationTask implements Task<Batch> {
  readonly numClients: number;
  readonly numClasses: number;
  readonly numParams: number;
  readonly headlineMetric: string;
  private readonly inner: FedMultimodalTask;
  private readonly active: readonly number[];

  constructor(readonly spec: PopulationSpec) {
    if (!(Number.isInteger(spec.population) && spec.population >= 1)) throw new Error(`uci-har-population: population must be a positive integer, got ${spec.population}`);
    this.inner = new FedMultimodalTask({ ...spec.inner, kind: 'fedmultimodal', dataset: 'uci-har' });
    this.active = this.inner.data.activeClients;
    this.numClients = spec.population;
    this.numClasses = this.inner.numClasses;
    this.numParams = this.inner.numParams;
    this.headlineMetric = this.inner.headlineMetric;
  }

  createModel(rng: Rng): TrainableModel<Batch> {
    return this.inner.createModel(rng);
  }

  clientData(clientId: number): TaskData<Batch> {
    return this.inner.clientData(this.active[clientId % this.active.length]);
  }

  evaluate(model: TrainableModel<Batch>, split: 'dev' | 'test'): Metrics {
    return this.inner.evaluate(model, split);
  }
}

registerTask('uci-har-population', (spec) => new PopulationTask(spec as PopulationSpec));
