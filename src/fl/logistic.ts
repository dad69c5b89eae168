// A convex federated task: multinomial logistic regression on a simulated Gaussian mixture.
//
// Class c has a centroid μ_c ~ N(0, separation²·I) in `features` dimensions. Client k draws its size
// uniformly in [minSamples, maxSamples], its class mix from Dir(labelAlpha) (uniform when labelAlpha is
// null), and a feature shift s_k ~ N(0, featureShift²·I); a sample of class y is μ_y + s_k + N(0, I).
// Dev and test are balanced draws without shift. Everything derives from `seed` and the client id, so a
// worker regenerates any client on demand.
//
// Model: logits z[C] = W[C,d]·x + b[C], P = C·d + C (W row-major, then b); mean cross-entropy loss.
import { Rng } from '../random.js';
import { registerTask, type ForwardOptions, type Metrics, type Task, type TaskData, type TaskSpec, type TrainableModel } from './task.js';

export interface LogisticSpec extends TaskSpec {
  readonly kind: 'logistic';
  readonly numClients: number;
  readonly features: number;
  readonly classes: number;
  readonly minSamples: number;
  readonly maxSamples: number;
  /** Dirichlet concentration of each client's class mix; null = balanced classes. */
  readonly labelAlpha: number | null;
  readonly featureShift: number;
  readonly separation: number;
  readonly devSize: number;
  readonly testSize: number;
  readonly seed: number;
}

/** One mini-batch: x [size, d] row-major, y [size] class indices. */
export interface LogisticBatch {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly size: number;
}

export const LOGISTIC_DEFAULTS: Omit<LogisticSpec, 'kind'> = {
  numClients: 20,
  features: 8,
  classes: 3,
  minSamples: 20,
  maxSamples: 60,
  labelAlpha: null,
  featureShift: 0,
  separation: 1.5,
  devSize: 300,
  testSize: 300,
  seed: 1,
};

function checkSpec(spec: TaskSpec): LogisticSpec {
  const s = { ...LOGISTIC_DEFAULTS, ...spec } as LogisticSpec;
  const posInt = (k: keyof LogisticSpec, min = 1) => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`logistic task: ${String(k)} must be an integer ≥ ${min}, got ${String(v)}`);
  };
  posInt('numClients');
  posInt('features');
  posInt('classes', 2);
  posInt('minSamples');
  posInt('maxSamples');
  posInt('devSize');
  posInt('testSize');
  if (s.maxSamples < s.minSamples) throw new Error(`logistic task: maxSamples ${s.maxSamples} < minSamples ${s.minSamples}`);
  if (s.labelAlpha !== null && !(typeof s.labelAlpha === 'number' && s.labelAlpha > 0)) throw new Error(`logistic task: labelAlpha must be > 0 or null, got ${String(s.labelAlpha)}`);
  if (!(typeof s.featureShift === 'number' && s.featureShift >= 0)) throw new Error(`logistic task: featureShift must be ≥ 0, got ${String(s.featureShift)}`);
  if (!(typeof s.separation === 'number' && s.separation > 0)) throw new Error(`logistic task: separation must be > 0, got ${String(s.separation)}`);
  if (!Number.isInteger(s.seed)) throw new Error(`logistic task: seed must be an integer, got ${String(s.seed)}`);
  return s;
}

class LogisticData implements TaskData<LogisticBatch> {
  readonly size: number;
  readonly labelHistogram: Int32Array;

  constructor(readonly x: Float32Array, readonly y: Int32Array, readonly d: number, classes: number) {
    this.size = y.length;
    this.labelHistogram = new Int32Array(classes);
    for (let i = 0; i < y.length; i++) this.labelHistogram[y[i]]++;
  }

  *batches(batchSize: number, rng?: Rng): Iterable<LogisticBatch> {
    if (!(batchSize >= 1 && Number.isInteger(batchSize))) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    const order = rng ? rng.permutation(this.size) : null;
    const d = this.d;
    for (let start = 0; start < this.size; start += batchSize) {
      const n = Math.min(batchSize, this.size - start);
      const x = new Float32Array(n * d);
      const y = new Int32Array(n);
      for (let r = 0; r < n; r++) {
        const i = order ? order[start + r] : start + r;
        x.set(this.x.subarray(i * d, (i + 1) * d), r * d);
        y[r] = this.y[i];
      }
      yield { x, y, size: n };
    }
  }
}

class LogisticModel implements TrainableModel<LogisticBatch> {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly z: Float64Array;

  constructor(readonly d: number, readonly C: number, rng: Rng) {
    const P = C * d + C;
    this.params = new Float32Array(P);
    this.grads = new Float32Array(P);
    this.z = new Float64Array(C);
    // PyTorch's nn.Linear default: U(−1/√d, 1/√d) for weight and bias.
    const bound = 1 / Math.sqrt(d);
    for (let i = 0; i < P; i++) this.params[i] = rng.uniform(-bound, bound);
  }

  /** z = logits of row r of x (scaled classes: s_c·w_c·x, no bias). */
  private logits(x: Float32Array, r: number, scale: Float32Array | null): Float64Array {
    const { d, C, params, z } = this;
    const bOff = C * d;
    for (let c = 0; c < C; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += params[c * d + j] * x[r * d + j];
      const s = scale ? scale[c] : 1;
      z[c] = s === 1 ? dot + params[bOff + c] : s * dot;
    }
    return z;
  }

  lossAndGrad(batch: LogisticBatch, options: ForwardOptions): number {
    const { d, C, grads } = this;
    const scale = options.classScale;
    const bOff = C * d;
    grads.fill(0);
    const g = new Float64Array(grads.length);
    let loss = 0;
    const inv = 1 / batch.size;
    for (let r = 0; r < batch.size; r++) {
      const z = this.logits(batch.x, r, scale);
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (z[c] > max) max = z[c];
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(z[c] - max);
      const lse = max + Math.log(sum);
      const y = batch.y[r];
      loss += lse - z[y];
      for (let c = 0; c < C; c++) {
        const dz = (Math.exp(z[c] - lse) - (c === y ? 1 : 0)) * inv;
        const s = scale ? scale[c] : 1;
        for (let j = 0; j < d; j++) g[c * d + j] += dz * s * batch.x[r * d + j];
        if (s === 1) g[bOff + c] += dz;
      }
    }
    grads.set(g);
    return loss * inv;
  }

  predict(batch: LogisticBatch): Float32Array {
    const out = new Float32Array(batch.size * this.C);
    for (let r = 0; r < batch.size; r++) out.set(this.logits(batch.x, r, null), r * this.C);
    return out;
  }
}

/** The logistic-regression task (see the file comment). */
export class LogisticTask implements Task<LogisticBatch> {
  readonly spec: LogisticSpec;
  readonly numClients: number;
  readonly numClasses: number;
  readonly numParams: number;
  readonly headlineMetric = 'accuracy';
  private readonly centroids: Float64Array;
  private readonly pools = new Map<'dev' | 'test', LogisticData>();

  constructor(spec: TaskSpec) {
    this.spec = checkSpec(spec);
    const { numClients, classes, features, separation, seed } = this.spec;
    this.numClients = numClients;
    this.numClasses = classes;
    this.numParams = classes * features + classes;
    const rng = new Rng(seed).fork('centroids');
    this.centroids = new Float64Array(classes * features);
    for (let i = 0; i < this.centroids.length; i++) this.centroids[i] = rng.normal(0, separation);
  }

  createModel(rng: Rng): LogisticModel {
    return new LogisticModel(this.spec.features, this.spec.classes, rng);
  }

  private draw(rng: Rng, n: number, mix: Float64Array | null, shift: Float64Array | null): LogisticData {
    const { features: d, classes: C } = this.spec;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let c = i % C;
      if (mix) {
        const u = rng.random();
        let acc = 0;
        c = C - 1;
        for (let k = 0; k < C; k++) {
          acc += mix[k];
          if (u < acc) {
            c = k;
            break;
          }
        }
      }
      y[i] = c;
      for (let j = 0; j < d; j++) x[i * d + j] = this.centroids[c * d + j] + (shift ? shift[j] : 0) + rng.normal();
    }
    return new LogisticData(x, y, d, C);
  }

  clientData(clientId: number): LogisticData {
    const s = this.spec;
    if (!(Number.isInteger(clientId) && clientId >= 0 && clientId < s.numClients)) {
      throw new Error(`logistic task: client id ${clientId} out of range [0, ${s.numClients})`);
    }
    const rng = new Rng(s.seed).fork(`client/${clientId}`);
    const n = s.minSamples + rng.int(s.maxSamples - s.minSamples + 1);
    const mix = s.labelAlpha === null ? null : rng.dirichlet(s.labelAlpha, s.classes);
    let shift: Float64Array | null = null;
    if (s.featureShift > 0) {
      shift = new Float64Array(s.features);
      for (let j = 0; j < s.features; j++) shift[j] = rng.normal(0, s.featureShift);
    }
    return this.draw(rng, n, mix ?? new Float64Array(s.classes).fill(1 / s.classes), shift);
  }

  private pool(split: 'dev' | 'test'): LogisticData {
    let data = this.pools.get(split);
    if (!data) {
      data = this.draw(new Rng(this.spec.seed).fork(split), split === 'dev' ? this.spec.devSize : this.spec.testSize, null, null);
      this.pools.set(split, data);
    }
    return data;
  }

  evaluate(model: TrainableModel<LogisticBatch>, split: 'dev' | 'test'): Metrics {
    const data = this.pool(split);
    const C = this.numClasses;
    let correct = 0;
    let loss = 0;
    for (const batch of data.batches(256)) {
      const z = model.predict(batch);
      for (let r = 0; r < batch.size; r++) {
        let best = 0;
        let max = -Infinity;
        for (let c = 0; c < C; c++) {
          if (z[r * C + c] > max) {
            max = z[r * C + c];
            best = c;
          }
        }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(z[r * C + c] - max);
        loss += max + Math.log(sum) - z[r * C + batch.y[r]];
        if (best === batch.y[r]) correct++;
      }
    }
    return { accuracy: correct / data.size, loss: loss / data.size };
  }
}

registerTask('logistic', (spec) => new LogisticTask(spec));
