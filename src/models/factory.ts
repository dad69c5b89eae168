// The per-dataset model factory: which FedMultimodal classifier each dataset uses, with its parameter
// names, for both modalities or one (unimodal baselines).
import type { DatasetSpec } from '../data/registry.js';
import { MultimodalClassifier, type MultimodalOptions, type ModalityInput } from './multimodal.js';

/** Parameter-name prefix the original model classes give each modality. */
const PREFIX: Record<string, string> = {
  audio: 'audio',
  video: 'video',
  text: 'text',
  image: 'img',
  acc: 'acc',
  gyro: 'gyro',
  'ecg-limb': 'i_to_avf',
  'ecg-chest': 'v1_to_v6',
};

export interface ModelOptions extends Omit<MultimodalOptions, 'concatHeadDropout' | 'concatProjections'> {
  /** Which of the dataset's modalities to use, by index (default both; one index = a unimodal baseline). */
  modalities?: readonly number[];
}

/**
 * The FedMultimodal classifier for a dataset: audio+video (MMActionClassifier), audio+text (SERClassifier),
 * acc+gyro (HARClassifier), ECG+ECG (ECGClassifier), image+text (ImageTextClassifier).
 */
export function createModel(spec: DatasetSpec, options: ModelOptions = {}): MultimodalClassifier {
  const use = options.modalities ?? spec.modalities.map((_, i) => i);
  if (use.length === 0 || use.some((i) => !spec.modalities[i]) || new Set(use).size !== use.length) {
    throw new Error(`createModel: modalities [${use}] must be distinct indices into ${spec.id}'s ${spec.modalities.length} modalities`);
  }
  const inputs: ModalityInput[] = use.map((i) => {
    const m = spec.modalities[i];
    const prefix = PREFIX[m.name];
    if (!prefix) throw new Error(`createModel: no encoder naming for modality "${m.name}" of ${spec.id}`);
    return { prefix, encoder: m.encoder, dim: m.dim };
  });
  // The HAR and ECG classifiers (two sensor streams) have no dropout in their concat heads; the
  // image-text classifier has no per-modality projections.
  const sensorPair = spec.modalities.every((m) => m.encoder === 'conv-gru');
  const hasImage = spec.modalities.some((m) => m.encoder === 'mlp');
  const numClasses = spec.numClasses;
  return new MultimodalClassifier(inputs, numClasses, {
    ...options,
    concatHeadDropout: !sensorPair,
    concatProjections: !hasImage && use.length === spec.modalities.length,
  }, use);
}
