import { CheckpointWeights } from '../weights/weightSource';
import { convWeightToHwio } from '../weights/layout';
import { SAG_ATTENTION, SAG_GROUP_NORM } from '../../lib/kernels';
import { FusedOpSet, FusedOps, fusedOpSet } from './fusedOps';
import { GraphBuilder, Ref } from './graphBuilder';
import { GraphOps } from './graphOps';
import { attr } from './tfAttr';

export type Activation = 'silu' | 'gelu' | 'quick_gelu' | 'relu' | 'gelu_pytorch_tanh';

/**
 * Neural-network layers emitted as primitive graph ops, with parameters read from a checkpoint by their
 * PyTorch names. Activations are NHWC (images) or [batch, tokens, channels] (sequences).
 */
export class NnLayers {
  readonly ops: GraphOps;
  /**
   * Which layers are emitted as sag's fused ops (default: GroupNorm (+SiLU) as SagGroupNorm, attention without a
   * mask as SagAttention) rather than primitive ops (a graph any tfjs program can run).
   */
  readonly fused: FusedOpSet;

  constructor(
    readonly g: GraphBuilder,
    readonly w: CheckpointWeights,
    fusedOps: FusedOps = true,
  ) {
    this.ops = new GraphOps(g);
    this.fused = fusedOpSet(fusedOps);
  }

  /** Weight constants already in the graph, by checkpoint name and layout: a layer emitted twice shares them. */
  private readonly weightRefs = new Map<string, Ref>();

  private weightConstant(key: string, make: () => Ref): Ref {
    let ref = this.weightRefs.get(key);
    if (!ref) {
      ref = make();
      this.weightRefs.set(key, ref);
    }
    return ref;
  }

  /** A checkpoint tensor as a graph constant (same layout). */
  param(name: string, expectedShape?: number[]): Ref {
    return this.weightConstant(`param:${name}`, () => {
      const { data, shape } = this.w.get(name, expectedShape);
      return this.g.constant(name, data, shape);
    });
  }

  /** y = x W^T + b for a PyTorch Linear [out, in]; x of any rank. 1x1-conv weights [out, in, 1, 1] are accepted. */
  linear(x: Ref, name: string, bias = true): Ref {
    const weight = this.weightConstant(`linear:${name}`, () => {
      const { data, shape } = this.w.get(`${name}.weight`);
      if (shape.length === 4 && (shape[2] !== 1 || shape[3] !== 1)) {
        throw new Error(
          `${this.w.describe()}: '${name}.weight' has shape [${shape}], expected a linear or 1x1 weight`,
        );
      }
      return this.g.constant(`${name}.weight`, data, shape.slice(0, 2));
    });
    let y = this.ops.matmul(x, weight, false, true);
    if (bias && this.w.has(`${name}.bias`)) y = this.ops.add(y, this.param(`${name}.bias`));
    return y;
  }

  /** PyTorch Conv2d (symmetric zero padding) on NHWC x. */
  conv2d(x: Ref, name: string, stride = 1, padding = 0): Ref {
    const rawShape = this.w.shape(`${name}.weight`);
    if (rawShape.length !== 4) throw new Error(`${this.w.describe()}: '${name}.weight' is not a conv weight`);
    const filter = this.weightConstant(`conv:${name}`, () => {
      const raw = this.w.get(`${name}.weight`);
      const { data, shape } = convWeightToHwio(raw.data, raw.shape);
      return this.g.constant(`${name}.weight`, data, shape);
    });
    const [kh, kw] = [rawShape[2], rawShape[3]];
    let y: Ref;
    if (stride === 1 && kh === kw && kh % 2 === 1 && padding === (kh - 1) / 2) {
      y = this.ops.conv2d(x, filter, 1, 'SAME');
    } else {
      const padded =
        padding > 0
          ? this.ops.pad(x, [
              [0, 0],
              [padding, padding],
              [padding, padding],
              [0, 0],
            ])
          : x;
      y = this.ops.conv2d(padded, filter, stride, 'VALID');
    }
    if (this.w.has(`${name}.bias`)) y = this.ops.add(y, this.param(`${name}.bias`));
    return y;
  }

  /**
   * GroupNorm over NHWC x with affine parameters `name.weight`, `name.bias` (omitted when name is null), then
   * `activation` if given. With fused ops and affine parameters, GroupNorm and a SiLU are one SagGroupNorm node.
   * Otherwise mean and variance via sub/square/mean (tfjs's SquaredDifference gradient ignores broadcasting).
   */
  groupNorm(
    x: Ref,
    name: string | null,
    channels: number | null,
    groups: number,
    eps: number,
    activation?: Activation,
  ): Ref {
    const o = this.ops;
    if (channels === null) {
      if (name === null) throw new Error('groupNorm without affine parameters needs the channel count');
      channels = this.w.shape(`${name}.weight`)[0];
    }
    if (channels % groups !== 0) throw new Error(`GroupNorm ${name}: ${channels} channels, ${groups} groups`);
    if (this.fused.groupNorm && name !== null && (activation === undefined || activation === 'silu'))
      return this.g.op(
        SAG_GROUP_NORM,
        [x, this.param(`${name}.weight`, [channels]), this.param(`${name}.bias`, [channels])],
        {
          groups: attr.int(groups),
          epsilon: attr.float(eps),
          activation: attr.string(activation ?? 'none'),
        },
      );
    const grouped = o.reshape(x, o.dynamicShape([{ of: x, dim: 0 }, -1, groups, channels / groups]));
    const mean = o.mean(grouped, [1, 3]);
    const centered = o.sub(grouped, mean);
    const variance = o.mean(o.unary('Square', centered), [1, 3]);
    const normalized = o.mul(centered, o.unary('Rsqrt', o.addScalar(variance, eps)));
    let y = o.reshape(normalized, o.shapeOf(x));
    if (name !== null)
      y = o.add(o.mul(y, this.param(`${name}.weight`, [channels])), this.param(`${name}.bias`, [channels]));
    return activation === undefined ? y : this.activation(y, activation);
  }

  /** LayerNorm over the last axis. */
  layerNorm(x: Ref, name: string, eps: number): Ref {
    const o = this.ops;
    const mean = o.mean(x, [-1]);
    const centered = o.sub(x, mean);
    const variance = o.mean(o.unary('Square', centered), [-1]);
    const normalized = o.mul(centered, o.unary('Rsqrt', o.addScalar(variance, eps)));
    return o.add(o.mul(normalized, this.param(`${name}.weight`)), this.param(`${name}.bias`));
  }

  activation(x: Ref, kind: Activation): Ref {
    const o = this.ops;
    switch (kind) {
      case 'silu':
        return o.mul(x, o.unary('Sigmoid', x));
      case 'gelu':
        return o.mul(o.scale(x, 0.5), o.addScalar(o.unary('Erf', o.scale(x, Math.SQRT1_2)), 1));
      case 'gelu_pytorch_tanh': {
        const inner = o.scale(
          o.add(x, o.scale(o.mul(o.unary('Square', x), x), 0.044715)),
          Math.sqrt(2 / Math.PI),
        );
        return o.mul(o.scale(x, 0.5), o.addScalar(o.unary('Tanh', inner), 1));
      }
      case 'quick_gelu':
        return o.mul(x, o.unary('Sigmoid', o.scale(x, 1.702)));
      case 'relu':
        return o.unary('Relu', x);
      default:
        throw new Error(`unsupported activation '${String(kind)}'`);
    }
  }

  /**
   * Multi-head scaled dot-product attention on token tensors [B, T, C]: q from `queryTokens`, k/v from
   * `contextTokens`; `q`, `k`, `v` name the projections. Returns [B, Tq, heads * headDim] before the output
   * projection. `additiveMask` ([Tq, Tk]) is added to the scores. With fused ops and no mask, one SagAttention node
   * after the projections.
   */
  multiHeadAttention(
    queryTokens: Ref,
    contextTokens: Ref,
    names: { q: string; k: string; v: string },
    heads: number,
    headDim: number,
    additiveMask?: Ref,
  ): Ref {
    const o = this.ops;
    if (this.fused.attention && !additiveMask)
      return this.g.op(
        SAG_ATTENTION,
        [
          this.linear(queryTokens, names.q),
          this.linear(contextTokens, names.k),
          this.linear(contextTokens, names.v),
        ],
        { heads: attr.int(heads), scale: attr.float(1 / Math.sqrt(headDim)) },
      );
    const splitHeads = (t: Ref) =>
      o.transpose(
        o.reshape(t, o.dynamicShape([{ of: t, dim: 0 }, { of: t, dim: 1 }, heads, headDim])),
        [0, 2, 1, 3],
      );
    const q = splitHeads(this.linear(queryTokens, names.q));
    const k = splitHeads(this.linear(contextTokens, names.k));
    const v = splitHeads(this.linear(contextTokens, names.v));
    let scores = o.scale(o.matmul(q, k, false, true), 1 / Math.sqrt(headDim));
    if (additiveMask) scores = o.add(scores, additiveMask);
    const mixed = o.transpose(o.matmul(o.softmax(scores), v), [0, 2, 1, 3]);
    return o.reshape(
      mixed,
      o.dynamicShape([{ of: queryTokens, dim: 0 }, { of: queryTokens, dim: 1 }, heads * headDim]),
    );
  }

  /** NHWC [B, H, W, C] -> tokens [B, H*W, C]. */
  toTokens(x: Ref, channels: number): Ref {
    return this.ops.reshape(x, this.ops.dynamicShape([{ of: x, dim: 0 }, -1, channels]));
  }

  /** Tokens [B, H*W, C] -> NHWC with the spatial shape of `like`. */
  fromTokens(tokens: Ref, like: Ref, channels: number): Ref {
    const o = this.ops;
    return o.reshape(
      tokens,
      o.dynamicShape([{ of: like, dim: 0 }, { of: like, dim: 1 }, { of: like, dim: 2 }, channels]),
    );
  }
}
