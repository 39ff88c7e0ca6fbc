import * as tf from '@tensorflow/tfjs';

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

/** The classifier as eager tfjs ops over variables (conv kernels HWIO, linear [in, out]) for training. */
export class ClassifierModel {
  readonly params = new Map<string, tf.Variable>();

  constructor(
    readonly spec: ClassifierSpec,
    seed: number,
  ) {
    let s = seed * 104729;
    let inC = spec.channels;
    const init = (name: string, shape: number[], fanIn: number) => {
      this.params.set(
        `${name}.weight`,
        tf.variable(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', ++s), Math.sqrt(2 / fanIn))),
      );
      this.params.set(`${name}.bias`, tf.variable(tf.zeros([shape[shape.length - 1]])));
    };
    for (const c of spec.convs) {
      init(c.name, [c.kernel, c.kernel, inC, c.out], c.kernel * c.kernel * inC);
      inC = c.out;
    }
    spec.hidden.forEach((h, k) => {
      init(`fc${k + 1}`, [inC, h], inC);
      inC = h;
    });
    init('head', [inC, spec.classes], inC);
  }

  private p(name: string): tf.Tensor {
    return this.params.get(name) as tf.Variable;
  }

  /** Logits and the feature map for images [B, S, S, C] in [0, 1]. */
  apply(images: tf.Tensor4D): { logits: tf.Tensor2D; features: tf.Tensor4D } {
    let h = images;
    let features: tf.Tensor4D | null = null;
    this.spec.convs.forEach((c, k) => {
      const padded = tf.pad(h, [
        [0, 0],
        [c.padding, c.padding],
        [c.padding, c.padding],
        [0, 0],
      ]);
      const y = tf.add(
        tf.conv2d(padded, this.p(`${c.name}.weight`) as tf.Tensor4D, c.stride, 'valid'),
        this.p(`${c.name}.bias`),
      );
      h = (c.activation === 'relu' ? tf.relu(y) : tf.tanh(y)) as tf.Tensor4D;
      if (k === this.spec.featureLayer) features = h;
    });
    let v: tf.Tensor = tf.mean(h, [1, 2]);
    this.spec.hidden.forEach((_, k) => {
      v = tf.relu(tf.add(tf.matMul(v, this.p(`fc${k + 1}.weight`)), this.p(`fc${k + 1}.bias`)));
    });
    const logits = tf.add(tf.matMul(v, this.p('head.weight')), this.p('head.bias')) as tf.Tensor2D;
    return { logits, features: features as unknown as tf.Tensor4D };
  }

  /** Parameters in PyTorch layout (conv OIHW, linear [out, in]). */
  exportParameters(): [string, number[], Float32Array][] {
    return [...this.params.entries()].map(([name, v]) => {
      const layout = v.rank === 4 ? [3, 2, 0, 1] : v.rank === 2 ? [1, 0] : [0];
      const shape = layout.map((i) => v.shape[i] as number);
      return [name, shape, tf.tidy(() => tf.transpose(v, layout).dataSync() as Float32Array)];
    });
  }
}
