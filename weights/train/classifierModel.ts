import * as tf from '@tensorflow/tfjs';
import { ClassifierSpec } from '../../converters/pixel/classifierSpec';

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
