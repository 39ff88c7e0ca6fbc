/** Architectures of the embedded digit classifiers (shared by training and graph emission). */

/** One layer of a small image classifier: a conv (PyTorch padding semantics) or the final linear layer. */
export type ClassifierLayer =
  | {
      kind: 'conv';
      name: string;
      out: number;
      kernel: number;
      stride: number;
      padding: number;
      activation: 'relu' | 'tanh';
    }
  | { kind: 'linear'; name: string; out: number };

/**
 * A classifier architecture: conv layers, then global average pooling and linear layers (ReLU between them).
 * The output of conv layer `featureLayer` is exposed as the style feature map.
 */
export interface ClassifierSpec {
  name: string;
  channels: number;
  imageSize: number;
  classes: number;
  convs: Extract<ClassifierLayer, { kind: 'conv' }>[];
  hidden: number[];
  featureLayer: number;
}

/** The guidance classifier ("off-the-shelf" network for class and style guidance). */
export const DIGIT_CLASSIFIER_SPEC: ClassifierSpec = {
  name: 'digit-classifier',
  channels: 1,
  imageSize: 32,
  classes: 10,
  convs: [
    { kind: 'conv', name: 'conv1', out: 32, kernel: 3, stride: 1, padding: 1, activation: 'relu' },
    { kind: 'conv', name: 'conv2', out: 64, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
    { kind: 'conv', name: 'conv3', out: 64, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
    { kind: 'conv', name: 'conv4', out: 128, kernel: 3, stride: 1, padding: 1, activation: 'relu' },
  ],
  hidden: [],
  featureLayer: 1,
};

/** The evaluator: a different architecture (5x5 kernels, tanh, an MLP head) and seed; used only for metrics. */
export const DIGIT_EVALUATOR_SPEC: ClassifierSpec = {
  name: 'digit-evaluator',
  channels: 1,
  imageSize: 32,
  classes: 10,
  convs: [
    { kind: 'conv', name: 'conv1', out: 32, kernel: 5, stride: 1, padding: 2, activation: 'tanh' },
    { kind: 'conv', name: 'conv2', out: 64, kernel: 5, stride: 2, padding: 2, activation: 'relu' },
    { kind: 'conv', name: 'conv3', out: 96, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
    { kind: 'conv', name: 'conv4', out: 96, kernel: 3, stride: 1, padding: 1, activation: 'relu' },
  ],
  hidden: [128],
  featureLayer: 0,
};
