import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { groupNorm } from '../../lib/nn/groupNorm';
import { sinusoidalEmbedding } from '../../lib/nn/timestepEmbedding';
import { GROUP_NORM_EPS, PixelUnetSpec } from '../../converters/pixel/pixelUnetSpec';

type Params = Map<string, tf.Variable>;

/**
 * The embedded pixel UNet as eager tfjs ops over named variables, for training. Conv kernels are HWIO and linear
 * weights [in, out] here; `exportParameters` writes them in PyTorch layout (OIHW, [out, in]) under the names the
 * graph emitter (converters/pixel) reads.
 */
export class PixelUnetModel {
  readonly params: Params = new Map();
  private seed: number;

  constructor(
    readonly spec: PixelUnetSpec,
    seed: number,
  ) {
    this.seed = seed * 7919;
    const c = spec.channels;
    this.linear('time_embedding.linear_1', c[0], spec.timeEmbedding);
    this.linear('time_embedding.linear_2', spec.timeEmbedding, spec.timeEmbedding);
    this.conv('conv_in', spec.imageChannels, c[0], 3);
    for (let l = 0; l < c.length; l++) {
      this.resnet(`down.${l}.resnet`, l === 0 ? c[0] : c[l - 1], c[l]);
      if (spec.attentionLevels.includes(l)) this.attention(`down.${l}.attention`, c[l]);
      if (l < c.length - 1) this.conv(`down.${l}.downsample`, c[l], c[l], 3);
    }
    const last = c[c.length - 1];
    this.resnet('mid.resnet_0', last, last);
    this.attention('mid.attention', last);
    this.resnet('mid.resnet_1', last, last);
    for (let l = c.length - 1; l >= 0; l--) {
      const incoming = l === c.length - 1 ? last : c[l + 1];
      this.resnet(`up.${l}.resnet`, incoming + c[l], c[l]);
      if (spec.attentionLevels.includes(l)) this.attention(`up.${l}.attention`, c[l]);
      if (l > 0) this.conv(`up.${l}.upsample`, c[l], c[l], 3);
    }
    this.norm('conv_norm_out', c[0]);
    this.conv('conv_out', c[0], spec.imageChannels, 3, 0.1);
  }

  private variable(name: string, value: tf.Tensor): void {
    this.params.set(name, tf.variable(value, true));
  }

  private linear(name: string, inp: number, out: number, gain = 1): void {
    this.variable(
      `${name}.weight`,
      tf.mul(tf.randomNormal([inp, out], 0, 1, 'float32', ++this.seed), gain / Math.sqrt(inp)),
    );
    this.variable(`${name}.bias`, tf.zeros([out]));
  }

  private conv(name: string, inp: number, out: number, k: number, gain = 1): void {
    this.variable(
      `${name}.weight`,
      tf.mul(tf.randomNormal([k, k, inp, out], 0, 1, 'float32', ++this.seed), gain / Math.sqrt(k * k * inp)),
    );
    this.variable(`${name}.bias`, tf.zeros([out]));
  }

  private norm(name: string, c: number): void {
    this.variable(`${name}.weight`, tf.ones([c]));
    this.variable(`${name}.bias`, tf.zeros([c]));
  }

  private resnet(name: string, inp: number, out: number): void {
    this.norm(`${name}.norm1`, inp);
    this.conv(`${name}.conv1`, inp, out, 3);
    this.linear(`${name}.time_emb_proj`, this.spec.timeEmbedding, out);
    this.norm(`${name}.norm2`, out);
    this.conv(`${name}.conv2`, out, out, 3, 0.3);
    if (inp !== out) this.conv(`${name}.conv_shortcut`, inp, out, 1);
  }

  private attention(name: string, c: number): void {
    this.norm(`${name}.group_norm`, c);
    for (const p of ['to_q', 'to_k', 'to_v']) this.linear(`${name}.${p}`, c, c);
    this.linear(`${name}.to_out.0`, c, c, 0.3);
  }

  private p(name: string): tf.Tensor {
    const v = this.params.get(name);
    if (!v) throw new Error(`pixel UNet: no parameter '${name}'`);
    return v;
  }

  private groupNorm(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const normalized = groupNorm(x, this.spec.groups, GROUP_NORM_EPS);
    return tf.add(tf.mul(normalized, this.p(`${name}.weight`)), this.p(`${name}.bias`)) as tf.Tensor4D;
  }

  private silu(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(x));
  }

  private convApply(x: tf.Tensor4D, name: string, stride = 1): tf.Tensor4D {
    const padded =
      stride === 1
        ? x
        : tf.pad(x, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]);
    const y = tf.conv2d(
      padded,
      this.p(`${name}.weight`) as tf.Tensor4D,
      stride,
      stride === 1 ? 'same' : 'valid',
    );
    return tf.add(y, this.p(`${name}.bias`)) as tf.Tensor4D;
  }

  /** x [..., in] -> [..., out]. Flattened to 2D: tfjs's BatchMatMul gradient does not reduce a broadcast weight. */
  private linearApply(x: tf.Tensor, name: string): tf.Tensor {
    const weight = this.p(`${name}.weight`) as tf.Tensor2D;
    const shape = x.shape as number[];
    const flat = x.reshape([-1, shape[shape.length - 1]]);
    const y = tf.add(tf.matMul(flat, weight), this.p(`${name}.bias`));
    return y.reshape([...shape.slice(0, -1), weight.shape[1]]);
  }

  private resnetApply(x: tf.Tensor4D, name: string, temb: tf.Tensor): tf.Tensor4D {
    let h = this.convApply(this.silu(this.groupNorm(x, `${name}.norm1`)) as tf.Tensor4D, `${name}.conv1`);
    const t = this.linearApply(this.silu(temb), `${name}.time_emb_proj`);
    h = tf.add(h, t.reshape([t.shape[0], 1, 1, -1])) as tf.Tensor4D;
    h = this.convApply(this.silu(this.groupNorm(h, `${name}.norm2`)) as tf.Tensor4D, `${name}.conv2`);
    const shortcut = this.params.has(`${name}.conv_shortcut.weight`)
      ? this.convApply(x, `${name}.conv_shortcut`)
      : x;
    return tf.add(shortcut, h) as tf.Tensor4D;
  }

  private attentionApply(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const tokens = this.groupNorm(x, `${name}.group_norm`).reshape([n, h * w, c]);
    const q = this.linearApply(tokens, `${name}.to_q`);
    const k = this.linearApply(tokens, `${name}.to_k`);
    const v = this.linearApply(tokens, `${name}.to_v`);
    const weights = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(c)));
    const out = this.linearApply(tf.matMul(weights, v), `${name}.to_out.0`);
    return tf.add(x, out.reshape([n, h, w, c])) as tf.Tensor4D;
  }

  /** eps(x, t) for x [B, S, S, C] and per-example timesteps. */
  apply(x: tf.Tensor4D, timesteps: number[]): tf.Tensor4D {
    const c = this.spec.channels;
    const embeddingRows = timesteps.map((t) => Array.from(sinusoidalEmbedding(t, c[0])));
    const temb = this.linearApply(
      this.silu(this.linearApply(tf.tensor2d(embeddingRows), 'time_embedding.linear_1')),
      'time_embedding.linear_2',
    );
    let h = this.convApply(x, 'conv_in');
    const skips: tf.Tensor4D[] = [];
    for (let l = 0; l < c.length; l++) {
      h = this.resnetApply(h, `down.${l}.resnet`, temb);
      if (this.spec.attentionLevels.includes(l)) h = this.attentionApply(h, `down.${l}.attention`);
      skips.push(h);
      if (l < c.length - 1) h = this.convApply(h, `down.${l}.downsample`, 2);
    }
    h = this.resnetApply(h, 'mid.resnet_0', temb);
    h = this.attentionApply(h, 'mid.attention');
    h = this.resnetApply(h, 'mid.resnet_1', temb);
    for (let l = c.length - 1; l >= 0; l--) {
      h = this.resnetApply(tf.concat([h, skips[l]], 3) as tf.Tensor4D, `up.${l}.resnet`, temb);
      if (this.spec.attentionLevels.includes(l)) h = this.attentionApply(h, `up.${l}.attention`);
      if (l > 0) {
        const [, hh, ww] = h.shape;
        h = this.convApply(tf.image.resizeNearestNeighbor(h, [hh * 2, ww * 2]), `up.${l}.upsample`);
      }
    }
    return this.convApply(this.silu(this.groupNorm(h, 'conv_norm_out')) as tf.Tensor4D, 'conv_out');
  }

  /** Parameters in PyTorch layout (conv OIHW, linear [out, in]) for safetensors export. */
  exportParameters(): [string, number[], Float32Array][] {
    return [...this.params.entries()].map(([name, v]) => {
      if (v.rank === 4) {
        const [kh, kw, i, o] = v.shape as number[];
        return [
          name,
          [o, i, kh, kw],
          tf.tidy(() => tf.transpose(v, [3, 2, 0, 1]).dataSync() as Float32Array),
        ];
      }
      if (v.rank === 2)
        return [
          name,
          [v.shape[1] as number, v.shape[0] as number],
          tf.tidy(() => tf.transpose(v).dataSync() as Float32Array),
        ];
      return [name, v.shape as number[], v.dataSync() as Float32Array];
    });
  }

  /** Loads parameters saved by exportParameters (PyTorch layout); returns the checkpoint's training steps. */
  importParameters(file: string): number {
    const st = SafetensorsFile.open(file);
    try {
      for (const [name, v] of this.params) {
        const data = st.readFloat32(name);
        const shape = st.entry(name).shape;
        v.assign(
          tf.tidy(() => {
            const t = tf.tensor(data, shape);
            return v.rank === 4 ? tf.transpose(t, [2, 3, 1, 0]) : v.rank === 2 ? tf.transpose(t) : t;
          }),
        );
      }
      return Number(st.metadata.steps ?? 0);
    } finally {
      st.close();
    }
  }

  parameterCount(): number {
    return [...this.params.values()].reduce((s, v) => s + v.size, 0);
  }
}
