// The prepared-dataset format: a folder holding manifest.json and one safetensors file per modality plus
// one for the labels (docs/datasets.md, "Prepared datasets"). Features are padded [N, T, D] float32 with
// valid lengths [N]; labels are class indices [N] (int32) or multi-hot [N, C] (uint8). The manifest names
// the dataset, modalities, classes and the partition: clients (train and dev sample indices), a pooled dev
// list and the test list. A folder may instead hold fold1/, fold2/, … each a prepared dataset (the
// datasets with folds). Reading is lazy: opening parses the manifest and the safetensors headers and reads
// lengths and labels; each sample's features are read from disk when it is first used.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SampleSource } from './client-dataset.js';
import type { DatasetSpec } from './registry.js';
import { SafetensorsFile, tensorOf, writeSafetensorsFile, type TensorSource } from './safetensors-file.js';
import type { FederatedDataset, SampleModality } from './types.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'fedmm-prepared-dataset';
export const MANIFEST_VERSION = 1;

export interface ManifestModality {
  readonly name: string;
  readonly dim: number;
  /** T of the padded features tensor. */
  readonly maxLen: number;
  /** safetensors file (relative to the manifest) with 'features' F32 [N, T, D] and 'lengths' I32 [N]. */
  readonly file: string;
  readonly description?: string;
}

export interface ManifestClient {
  readonly name: string;
  readonly train: readonly number[];
  readonly dev: readonly number[];
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  /** fedmm dataset id. */
  readonly dataset: string;
  /** Where the data came from (free text: the tool and its inputs). */
  readonly source: string;
  readonly samples: number;
  readonly classes: readonly string[];
  readonly multiLabel: boolean;
  readonly modalities: readonly ManifestModality[];
  /** safetensors file with 'labels': I32 [N] (class index) or U8 [N, C] (multi-hot). */
  readonly labels: string;
  readonly clients: readonly ManifestClient[];
  /** Dev samples held by no training client (FedMultimodal's pooled 'dev'); clients' dev lists add to it. */
  readonly dev: readonly number[];
  readonly test: readonly number[];
}

/** The partition a manifest prescribes, as the federated layer consumes it. */
export interface PreparedPlan {
  readonly clients: readonly { readonly name: string; readonly train: Int32Array; readonly dev: Int32Array }[];
  readonly dev: Int32Array;
  readonly test: Int32Array;
}

/** The manifest folder for a fold: `path` itself, or `path/fold<k+1>` when the folder holds folds. */
export function preparedFolder(path: string, fold: number): string {
  const root = resolve(path);
  if (existsSync(join(root, MANIFEST_FILE))) {
    if (fold !== 0) throw new Error(`${join(root, MANIFEST_FILE)}: a single prepared split, but fold ${fold + 1} was asked for (write fold1/ … folders for folds)`);
    return root;
  }
  const folder = join(root, `fold${fold + 1}`);
  if (existsSync(join(folder, MANIFEST_FILE))) return folder;
  throw new Error(`${root}: no ${MANIFEST_FILE} (nor fold${fold + 1}/${MANIFEST_FILE}): not a prepared dataset`);
}

/** True when `path` holds a prepared dataset (one split or folds). */
export function isPreparedDataset(path: string): boolean {
  const root = resolve(path);
  return existsSync(join(root, MANIFEST_FILE)) || existsSync(join(root, 'fold1', MANIFEST_FILE));
}

function checkIndexList(file: string, where: string, v: unknown, n: number): readonly number[] {
  if (!Array.isArray(v)) throw new Error(`${file}: ${where} must be an array of sample indices`);
  v.forEach((x, j) => {
    if (!(Number.isInteger(x) && x >= 0 && x < n)) throw new Error(`${file}: ${where}[${j}] = ${JSON.stringify(x)} is not a sample index in [0, ${n})`);
  });
  return v as number[];
}

/** Parses and checks manifest.json against the dataset it claims to be. */
export function readManifest(file: string, spec: DatasetSpec): Manifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('not a JSON object');
  if (m.format !== MANIFEST_FORMAT) fail(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION) fail(`version ${JSON.stringify(m.version)} is not supported (this fedmm reads version ${MANIFEST_VERSION})`);
  if (m.dataset !== spec.id) fail(`holds dataset ${JSON.stringify(m.dataset)}, but --dataset is ${spec.id}`);
  const n = m.samples;
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1)) fail(`samples must be a positive integer, got ${JSON.stringify(n)}`);
  const N = n as number;
  if (!Array.isArray(m.classes) || !m.classes.every((c) => typeof c === 'string')) fail('classes must be an array of strings');
  if ((m.classes as string[]).length !== spec.numClasses) fail(`${(m.classes as string[]).length} classes, but ${spec.id} has ${spec.numClasses}`);
  if (m.multiLabel !== spec.multiLabel) fail(`multiLabel is ${JSON.stringify(m.multiLabel)}, but ${spec.id} is ${spec.multiLabel ? 'multi-label' : 'single-label'}`);
  if (!Array.isArray(m.modalities) || m.modalities.length !== spec.modalities.length) fail(`modalities must list ${spec.modalities.length} entries (${spec.modalities.map((x) => x.name).join(', ')})`);
  (m.modalities as ManifestModality[]).forEach((mod, k) => {
    const want = spec.modalities[k];
    if (mod?.name !== want.name) fail(`modalities[${k}].name is ${JSON.stringify(mod?.name)}, expected '${want.name}'`);
    if (mod.dim !== want.dim) fail(`modalities[${k}] (${want.name}) has dim ${JSON.stringify(mod.dim)}, but the ${spec.id} model reads ${want.dim}`);
    if (!(Number.isInteger(mod.maxLen) && mod.maxLen >= 1)) fail(`modalities[${k}].maxLen must be a positive integer`);
    if (typeof mod.file !== 'string' || mod.file.length === 0) fail(`modalities[${k}].file must be a file name`);
  });
  if (typeof m.labels !== 'string') fail('labels must be a file name');
  if (!Array.isArray(m.clients) || m.clients.length === 0) fail('clients must be a non-empty array');
  (m.clients as ManifestClient[]).forEach((c, k) => {
    if (typeof c?.name !== 'string') fail(`clients[${k}].name must be a string`);
    checkIndexList(file, `clients[${k}].train`, c.train, N);
    checkIndexList(file, `clients[${k}].dev`, c.dev, N);
  });
  checkIndexList(file, 'dev', m.dev, N);
  checkIndexList(file, 'test', m.test, N);
  if (typeof m.source !== 'string') fail('source must be a string');
  return m as unknown as Manifest;
}

/** A prepared dataset opened for reading: lengths and labels in memory, features read per sample. */
export class PreparedSource implements SampleSource {
  readonly size: number;
  readonly numClasses: number;
  readonly multiLabel: boolean;
  readonly dims: readonly number[];
  private readonly files: SafetensorsFile[];
  private readonly lengths: Int32Array[];
  private readonly T: number[];
  private readonly classIndex: Int32Array | null;
  private readonly hot: Uint8Array | null;

  constructor(readonly folder: string, readonly manifest: Manifest, readonly maxLens: readonly number[]) {
    const N = manifest.samples;
    this.size = N;
    this.numClasses = manifest.classes.length;
    this.multiLabel = manifest.multiLabel;
    this.dims = manifest.modalities.map((m) => m.dim);
    this.files = manifest.modalities.map((m) => SafetensorsFile.open(join(folder, m.file)));
    this.T = manifest.modalities.map((m) => m.maxLen);
    this.lengths = this.files.map((f, k) => {
      const mod = manifest.modalities[k];
      const feats = f.info('features', 'F32', 3);
      if (feats.shape[0] !== N || feats.shape[1] !== mod.maxLen || feats.shape[2] !== mod.dim) {
        throw new Error(`${f.path}: features has shape [${feats.shape}], the manifest says [${N}, ${mod.maxLen}, ${mod.dim}]`);
      }
      const lens = f.info('lengths', 'I32', 1);
      if (lens.shape[0] !== N) throw new Error(`${f.path}: lengths has ${lens.shape[0]} entries for ${N} samples`);
      const out = f.read('lengths') as Int32Array;
      out.forEach((len, i) => {
        if (!(len >= 0 && len <= mod.maxLen)) throw new Error(`${f.path}: lengths[${i}] = ${len} outside [0, ${mod.maxLen}]`);
      });
      return out;
    });
    const lf = SafetensorsFile.open(join(folder, manifest.labels));
    try {
      const C = this.numClasses;
      if (this.multiLabel) {
        const info = lf.info('labels', 'U8', 2);
        if (info.shape[0] !== N || info.shape[1] !== C) throw new Error(`${lf.path}: labels has shape [${info.shape}], expected [${N}, ${C}]`);
        this.hot = lf.read('labels') as Uint8Array;
        this.hot.forEach((v, j) => {
          if (v > 1) throw new Error(`${lf.path}: labels[${Math.floor(j / C)}, ${j % C}] = ${v} is not 0 or 1`);
        });
        this.classIndex = null;
      } else {
        const info = lf.info('labels', 'I32', 1);
        if (info.shape[0] !== N) throw new Error(`${lf.path}: labels has ${info.shape[0]} entries for ${N} samples`);
        this.classIndex = lf.read('labels') as Int32Array;
        this.classIndex.forEach((y, i) => {
          if (!(y >= 0 && y < C)) throw new Error(`${lf.path}: labels[${i}] = ${y} is not a class in [0, ${C})`);
        });
        this.hot = null;
      }
    } finally {
      lf.close();
    }
  }

  label(i: number): number {
    if (!this.classIndex) throw new Error(`${this.manifest.dataset}: multi-label; use multiHot`);
    return this.classIndex[i];
  }

  multiHot(i: number): Uint8Array {
    if (!this.hot) throw new Error(`${this.manifest.dataset}: single-label; use label`);
    const C = this.numClasses;
    return this.hot.subarray(i * C, (i + 1) * C);
  }

  features(i: number): SampleModality[] {
    if (!(Number.isInteger(i) && i >= 0 && i < this.size)) throw new Error(`${this.folder}: sample ${i} out of range [0, ${this.size})`);
    return this.files.map((f, m) => {
      const D = this.dims[m];
      const len = Math.min(this.lengths[m][i], this.maxLens[m]);
      const data = len === 0 ? new Float32Array(0) : (f.read('features', i * this.T[m] * D, len * D) as Float32Array);
      return { data, length: len, dim: D };
    });
  }

  /** The partition the manifest prescribes. */
  plan(): PreparedPlan {
    const m = this.manifest;
    const clients = m.clients.map((c) => ({ name: c.name, train: Int32Array.from(c.train), dev: Int32Array.from(c.dev) }));
    const dev = Int32Array.from([...m.dev, ...m.clients.flatMap((c) => c.dev)]).sort();
    return { clients, dev, test: Int32Array.from(m.test) };
  }
}

const opened = new Map<string, PreparedSource>();

/** Opens (once per process and configuration) the prepared dataset for `spec` at `path`, fold `fold`. */
export function openPrepared(spec: DatasetSpec, path: string, fold: number, maxLens: readonly number[]): PreparedSource {
  const folder = preparedFolder(path, fold);
  const key = JSON.stringify([folder, maxLens]);
  let src = opened.get(key);
  if (!src) {
    src = new PreparedSource(folder, readManifest(join(folder, MANIFEST_FILE), spec), maxLens);
    opened.set(key, src);
  }
  return src;
}

/** Sample rows to write, in order: each sample's modalities and its label. */
export interface PreparedWriteInput {
  readonly spec: DatasetSpec;
  readonly source: string;
  readonly classes: readonly string[];
  readonly maxLens: readonly number[];
  readonly samples: number;
  /** Sample i's features per modality (length may be 0) and label. */
  readonly sample: (i: number) => { modalities: readonly SampleModality[]; label: number | Uint8Array };
  readonly clients: readonly ManifestClient[];
  readonly dev: readonly number[];
  readonly test: readonly number[];
}

/** Writes a prepared dataset into `folder` (created); files are written atomically, the manifest last. */
export function writePrepared(folder: string, input: PreparedWriteInput): Manifest {
  const { spec, samples: N } = input;
  mkdirSync(folder, { recursive: true });
  const modalities: ManifestModality[] = spec.modalities.map((m, k) => ({ name: m.name, dim: m.dim, maxLen: input.maxLens[k], file: `${m.name}.safetensors`, description: m.description }));
  const lengths = modalities.map(() => new Int32Array(N));
  const C = spec.numClasses;
  const labels = spec.multiLabel ? new Uint8Array(N * C) : new Int32Array(N);
  modalities.forEach((mod, k) => {
    const rows = function* (): Iterable<Float32Array> {
      const T = mod.maxLen;
      const D = mod.dim;
      for (let i = 0; i < N; i++) {
        const s = input.sample(i);
        const f = s.modalities[k];
        if (f.dim !== D) throw new Error(`${spec.id}: sample ${i} ${mod.name} has dim ${f.dim}, expected ${D}`);
        const len = Math.min(f.length, T);
        lengths[k][i] = len;
        if (k === 0) {
          if (labels instanceof Uint8Array) labels.set(s.label as Uint8Array, i * C);
          else labels[i] = s.label as number;
        }
        const row = new Float32Array(T * D);
        row.set(f.data.subarray(0, len * D));
        yield row;
      }
    };
    const features: TensorSource = { name: 'features', dtype: 'F32', shape: [N, mod.maxLen, mod.dim], blocks: rows };
    // lengths are known only once the features are streamed, so they go in a second tensor written after them
    const lens: TensorSource = { name: 'lengths', dtype: 'I32', shape: [N], blocks: () => [lengths[k]] };
    writeSafetensorsFile(join(folder, mod.file), [features, lens]);
  });
  writeSafetensorsFile(join(folder, 'labels.safetensors'), [tensorOf('labels', spec.multiLabel ? 'U8' : 'I32', spec.multiLabel ? [N, C] : [N], labels)]);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    dataset: spec.id,
    source: input.source,
    samples: N,
    classes: [...input.classes],
    multiLabel: spec.multiLabel,
    modalities,
    labels: 'labels.safetensors',
    clients: input.clients,
    dev: input.dev,
    test: input.test,
  };
  const tmp = join(folder, `${MANIFEST_FILE}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n');
  renameSync(tmp, join(folder, MANIFEST_FILE));
  return manifest;
}

/**
 * Writes a federated dataset (simulated or loaded) as a prepared dataset: every sample of the clients'
 * train and dev splits and the test set, clean (the corruptions are re-drawn when the prepared copy is read),
 * renumbered 0..N-1 in the order train (client by client), dev, test.
 */
export function exportFederated(fd: FederatedDataset, folder: string, source: string): Manifest {
  const spec = fd.spec;
  const order: { set: 'train' | 'dev' | 'test'; client: number; k: number }[] = [];
  const clients: ManifestClient[] = [];
  const c = fd.config;
  if (c.missingModality > 0 || c.missingLabel > 0 || c.labelNoise > 0) throw new Error(`${spec.id}: export writes clean data; drop the missing-modality, missing-label and label-noise rates`);
  const sets = Array.from({ length: fd.numClients }, (_, k) => ({ train: fd.client(k), dev: fd.clientDev(k) }));
  sets.forEach((s, client) => {
    const train: number[] = [];
    const dev: number[] = [];
    for (let k = 0; k < s.train.size; k++) train.push(order.push({ set: 'train', client, k }) - 1);
    for (let k = 0; k < s.dev.size; k++) dev.push(order.push({ set: 'dev', client, k }) - 1);
    clients.push({ name: s.train.name, train, dev });
  });
  const testSet = fd.test();
  const test: number[] = [];
  for (let k = 0; k < testSet.size; k++) test.push(order.push({ set: 'test', client: -1, k }) - 1);
  return writePrepared(folder, {
    spec,
    source,
    classes: spec.classNames,
    maxLens: spec.modalities.map((m) => fd.config.maxLen[m.name]),
    samples: order.length,
    sample: (i) => {
      const o = order[i];
      const ds = o.set === 'test' ? testSet : o.set === 'dev' ? sets[o.client].dev : sets[o.client].train;
      return ds.sample(o.k);
    },
    clients,
    dev: [],
    test,
  });
}
