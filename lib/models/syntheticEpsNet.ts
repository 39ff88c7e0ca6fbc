import * as tf from '@tensorflow/tfjs';
import { EpsFunction } from '../ode/epsFunction';
import { groupNorm } from '../nn/groupNorm';
import { sinusoidalEmbedding } from '../nn/timestepEmbedding';

export interface SyntheticEpsNetOptions {
  /** Channels of the sample (4 for an SD latent). */
  inChannels: number;
  /** Hidden width (channels of every feature map). */
  width: number;
  groups: number;
  seed: number;
}

export const DEFAULT_SYNTHETIC_EPS_NET: SyntheticEpsNetOptions = {
  inChannels: 4,
  width: 32,
  groups: 8,
  seed: 0,
};

/**
 * A small random, time-conditioned noise predictor with the building blocks of an SD UNet: 3x3 convs, GroupNorm,
 * SiLU, a stride-2 downsample, a self-attention layer over the half-resolution tokens and a nearest upsample with
 * a skip connection. Used by `sag bench adjoint` and the tests; its weights come from `seed`. Dispose when done.
 */
export class SyntheticEpsNet {
  private readonly weights: Record<string, tf.Tensor> = {};
  private readonly embeddingDim = 32;

  constructor(readonly options: SyntheticEpsNetOptions = DEFAULT_SYNTHETIC_EPS_NET) {
    const { inChannels: cin, width: c, seed } = options;
    let s = seed * 1000;
    const init = (name: string, shape: number[], fanIn: number, gain = 1) => {
      this.weights[name] = tf.keep(
        tf.mul(tf.randomNormal(shape, 0, 1, 'float32', ++s), gain / Math.sqrt(fanIn)),
      );
    };
    tf.tidy(() => {
      init('tembW1', [this.embeddingDim, c], this.embeddingDim);
      init('tembW2', [c, 2 * c], c);
      init('convIn', [3, 3, cin, c], 9 * cin);
      init('res1', [3, 3, c, c], 9 * c);
      init('res2', [3, 3, c, c], 9 * c, 0.5);
      init('down', [3, 3, c, c], 9 * c);
      init('q', [c, c], c);
      init('k', [c, c], c);
      init('v', [c, c], c);
      init('proj', [c, c], c, 0.5);
      init('convOut', [3, 3, c, cin], 9 * c, 0.5);
    });
  }

  private timeBias(timestep: number, batch: number): tf.Tensor {
    const w = this.weights;
    const emb = tf.tensor2d(sinusoidalEmbedding(timestep, this.embeddingDim), [1, this.embeddingDim]);
    const hidden = tf.matMul(tf.sigmoid(tf.matMul(emb, w.tembW1)).mul(tf.matMul(emb, w.tembW1)), w.tembW2);
    return tf.tile(hidden, [batch, 1]).reshape([batch, 1, 1, 2 * this.options.width]);
  }

  private silu(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(x));
  }

  private attention(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, wd, c] = x.shape;
    const w = this.weights;
    const tokens = groupNorm(x, this.options.groups).reshape([b * h * wd, c]);
    const q = tf.matMul(tokens, w.q).reshape([b, h * wd, c]);
    const k = tf.matMul(tokens, w.k).reshape([b, h * wd, c]);
    const v = tf.matMul(tokens, w.v).reshape([b, h * wd, c]);
    const scores = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(c)));
    const mixed = tf.matMul(scores, v).reshape([b * h * wd, c]);
    return tf.add(x, tf.matMul(mixed, w.proj).reshape([b, h, wd, c])) as tf.Tensor4D;
  }

  /** eps(x, t) for x [B, H, W, inChannels] (H, W even). Caller owns the result. */
  predict(x: tf.Tensor, timestep: number): tf.Tensor {
    const w = this.weights;
    const g = this.options.groups;
    return tf.tidy(() => {
      const x4 = x as tf.Tensor4D;
      const [b, h, wd] = x4.shape;
      const bias = this.timeBias(timestep, b);
      const [scale, shift] = tf.split(bias, 2, 3);
      const h0 = tf.conv2d(x4, w.convIn as tf.Tensor4D, 1, 'same');
      let r = this.silu(groupNorm(h0, g)) as tf.Tensor4D;
      r = tf.conv2d(r, w.res1 as tf.Tensor4D, 1, 'same');
      r = tf.add(tf.mul(groupNorm(r, g), tf.add(scale, 1)), shift) as tf.Tensor4D;
      r = tf.conv2d(this.silu(r) as tf.Tensor4D, w.res2 as tf.Tensor4D, 1, 'same');
      const h1 = tf.add(h0, r) as tf.Tensor4D;
      let d = tf.conv2d(this.silu(groupNorm(h1, g)) as tf.Tensor4D, w.down as tf.Tensor4D, 2, 'same');
      d = this.attention(d);
      const [, dh, dw, c] = d.shape;
      // Nearest 2x upsample by stacking (tfjs has no tile gradient above rank 4).
      const wide = tf.stack([d, d], 3).reshape([b, dh, 2 * dw, c]);
      const up = tf.stack([wide, wide], 2).reshape([b, h, wd, c]);
      const merged = tf.add(h1, up) as tf.Tensor4D;
      const out = tf.conv2d(
        this.silu(groupNorm(merged, g)) as tf.Tensor4D,
        w.convOut as tf.Tensor4D,
        1,
        'same',
      );
      return out;
    });
  }

  /** The network as an EpsFunction (bound). */
  get eps(): EpsFunction {
    return (x, t) => this.predict(x, t);
  }

  dispose(): void {
    tf.dispose(Object.values(this.weights));
  }
}
