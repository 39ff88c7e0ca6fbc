import { Ref } from '../graph/graphBuilder';
import { mixFrames } from '../graph/frameMix';
import { Activation, NnLayers } from '../graph/nnLayers';
import { ConfigReader } from './diffusersConfig';
import { resnetBlock } from './resnetBlock';
import { timestepEmbeddingGraph } from './timestepEmbeddingGraph';

/** The parts of a diffusers UNet2DConditionModel config.json that the converter implements. */
export interface UnetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  downBlockTypes: ('CrossAttnDownBlock2D' | 'DownBlock2D')[];
  upBlockTypes: ('CrossAttnUpBlock2D' | 'UpBlock2D')[];
  layersPerBlock: number[];
  heads: number[];
  transformerLayers: number[];
  crossAttentionDim: number;
  normGroups: number;
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
  useLinearProjection: boolean;
  act: Activation;
  downsamplePadding: number;
  convInKernel: number;
  convOutKernel: number;
  sampleSize: number;
  midBlockScaleFactor: number;
}

export function parseUnetConfig(raw: Record<string, unknown>, source: string): UnetConfig {
  const c = new ConfigReader(raw, source);
  const blockOutChannels = c.ints('block_out_channels');
  const n = blockOutChannels.length;
  const downBlockTypes = c.strings('down_block_types');
  const upBlockTypes = c.strings('up_block_types');
  if (downBlockTypes.length !== n || upBlockTypes.length !== n) {
    throw new Error(
      `${source}: down_block_types and up_block_types must have one entry per block_out_channels entry`,
    );
  }
  for (const t of downBlockTypes) {
    if (t !== 'CrossAttnDownBlock2D' && t !== 'DownBlock2D') {
      throw new Error(
        `${source}: unsupported down block type '${t}', expected CrossAttnDownBlock2D or DownBlock2D`,
      );
    }
  }
  for (const t of upBlockTypes) {
    if (t !== 'CrossAttnUpBlock2D' && t !== 'UpBlock2D') {
      throw new Error(
        `${source}: unsupported up block type '${t}', expected CrossAttnUpBlock2D or UpBlock2D`,
      );
    }
  }
  c.oneOf('mid_block_type', ['UNetMidBlock2DCrossAttn'], 'UNetMidBlock2DCrossAttn');
  for (const key of [
    'class_embed_type',
    'addition_embed_type',
    'encoder_hid_dim',
    'time_cond_proj_dim',
    'num_class_embeds',
    'timestep_post_act',
    'time_embedding_act_fn',
    'cross_attention_norm',
  ]) {
    c.expect(key, [null]);
  }
  c.expect('time_embedding_type', [null, 'positional']);
  c.expect('resnet_time_scale_shift', [null, 'default']);
  c.expect('only_cross_attention', [null, false]);
  c.expect('dual_cross_attention', [null, false]);
  c.expect('upcast_attention', [null, false, true]);
  c.expect('attention_type', [null, 'default']);
  c.expect('resnet_out_scale_factor', [null, 1, 1.0]);
  c.expect('center_input_sample', [null, false]);
  // diffusers names the head count 'attention_head_dim' when num_attention_heads is null.
  const headsKey =
    raw.num_attention_heads !== null && raw.num_attention_heads !== undefined
      ? 'num_attention_heads'
      : 'attention_head_dim';
  return {
    inChannels: c.int('in_channels', 4),
    outChannels: c.int('out_channels', 4),
    blockOutChannels,
    downBlockTypes: downBlockTypes as UnetConfig['downBlockTypes'],
    upBlockTypes: upBlockTypes as UnetConfig['upBlockTypes'],
    layersPerBlock: c.intOrList('layers_per_block', n, 2),
    heads: c.intOrList(headsKey, n, 8),
    transformerLayers: c.intOrList('transformer_layers_per_block', n, 1),
    crossAttentionDim: c.int('cross_attention_dim', 768),
    normGroups: c.int('norm_num_groups', 32),
    normEps: c.number('norm_eps', 1e-5),
    flipSinToCos: c.bool('flip_sin_to_cos', true),
    freqShift: c.number('freq_shift', 0),
    useLinearProjection: c.bool('use_linear_projection', false),
    act: c.oneOf('act_fn', ['silu', 'gelu', 'relu'], 'silu') as Activation,
    downsamplePadding: c.int('downsample_padding', 1),
    convInKernel: c.int('conv_in_kernel', 3),
    convOutKernel: c.int('conv_out_kernel', 3),
    sampleSize: c.int('sample_size', 64),
    midBlockScaleFactor: c.number('mid_block_scale_factor', 1),
  };
}

/** Channels of the UNet's skip connections in diffusers' order (conv_in's output, then each down block's). */
export function unetSkipChannels(config: UnetConfig): number[] {
  const channels = [config.blockOutChannels[0]];
  config.blockOutChannels.forEach((c, i) => {
    for (let j = 0; j < config.layersPerBlock[i]; j++) channels.push(c);
    if (i < config.blockOutChannels.length - 1) channels.push(c);
  });
  return channels;
}

/**
 * Spatial sides of the skip connections for a latent of side `size` (a multiple of 2^(blocks - 1)), in the order of
 * unetSkipChannels, then the mid block's.
 */
export function unetSkipSides(config: UnetConfig, size: number): number[] {
  const n = config.blockOutChannels.length;
  const sides = [size];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < config.layersPerBlock[i]; j++) sides.push(size / 2 ** i);
    if (i < n - 1) sides.push(size / 2 ** (i + 1));
  }
  return [...sides, size / 2 ** (n - 1)];
}

/** Emits diffusers' UNet2DConditionModel; inputs sample [B,H,W,C] (NHWC), timestep [B or 1], context [B,T,D]. */
export class UnetGraph {
  private readonly o;

  constructor(
    private readonly nn: NnLayers,
    private readonly config: UnetConfig,
    /** The frame mix input of cross-frame attention (lib/models/frameMix.ts): keys and values of every attn1. */
    private readonly frameMix?: Ref,
  ) {
    this.o = nn.ops;
  }

  private resnet(x: Ref, name: string, temb: Ref): Ref {
    const { groups, eps, act } = {
      groups: this.config.normGroups,
      eps: this.config.normEps,
      act: this.config.act,
    };
    return resnetBlock(this.nn, x, name, { groups, eps, act, temb });
  }

  private transformer(x: Ref, name: string, context: Ref, heads: number, layers: number): Ref {
    const { o, nn, config } = this;
    return nn.g.scope(name, () => {
      const channels = nn.w.shape(`${name}.norm.weight`)[0];
      if (channels % heads !== 0)
        throw new Error(`${name}: ${channels} channels do not split into ${heads} heads`);
      let h = nn.groupNorm(x, `${name}.norm`, channels, config.normGroups, 1e-6);
      let tokens: Ref;
      if (config.useLinearProjection) {
        tokens = nn.linear(nn.toTokens(h, channels), `${name}.proj_in`);
      } else {
        h = nn.conv2d(h, `${name}.proj_in`);
        tokens = nn.toTokens(h, nn.w.shape(`${name}.proj_in.weight`)[0]);
      }
      const inner = nn.w.shape(`${name}.proj_in.weight`)[0];
      for (let b = 0; b < layers; b++) {
        const block = `${name}.transformer_blocks.${b}`;
        const attn = (input: Ref, ctx: Ref, which: string) =>
          nn.linear(
            nn.multiHeadAttention(
              input,
              ctx,
              { q: `${block}.${which}.to_q`, k: `${block}.${which}.to_k`, v: `${block}.${which}.to_v` },
              heads,
              inner / heads,
            ),
            `${block}.${which}.to_out.0`,
          );
        let n1 = nn.layerNorm(tokens, `${block}.norm1`, 1e-5);
        const selfContext = this.frameMix ? mixFrames(o, n1, this.frameMix) : n1;
        tokens = o.add(attn(n1, selfContext, 'attn1'), tokens);
        n1 = nn.layerNorm(tokens, `${block}.norm2`, 1e-5);
        tokens = o.add(attn(n1, context, 'attn2'), tokens);
        const n3 = nn.layerNorm(tokens, `${block}.norm3`, 1e-5);
        const [hidden, gate] = o.split(nn.linear(n3, `${block}.ff.net.0.proj`), 2, 2);
        const ff = nn.linear(o.mul(hidden, nn.activation(gate, 'gelu')), `${block}.ff.net.2`);
        tokens = o.add(ff, tokens);
      }
      let out: Ref;
      if (config.useLinearProjection) {
        out = nn.fromTokens(nn.linear(tokens, `${name}.proj_out`), x, channels);
      } else {
        out = nn.conv2d(nn.fromTokens(tokens, x, inner), `${name}.proj_out`);
      }
      return o.add(out, x);
    });
  }

  /** The timestep embedding (time_proj + time_embedding). */
  timeEmbedding(timestep: Ref): Ref {
    const { nn, config } = this;
    return timestepEmbeddingGraph(nn, timestep, config.blockOutChannels[0], {
      flipSinToCos: config.flipSinToCos,
      freqShift: config.freqShift,
      act: config.act,
    });
  }

  /**
   * conv_in, the down blocks and the mid block: the mid block's output and the skip connections, in the order
   * diffusers collects them (conv_in's output first). `addToConvIn` (ControlNet's condition embedding) is added to
   * conv_in's output.
   */
  encode(sample: Ref, temb: Ref, context: Ref, addToConvIn?: Ref): { mid: Ref; skips: Ref[] } {
    const { nn, config } = this;
    const n = config.blockOutChannels.length;
    let h = nn.conv2d(sample, 'conv_in', 1, (config.convInKernel - 1) / 2);
    if (addToConvIn) h = this.o.add(h, addToConvIn);
    const skips: Ref[] = [h];
    for (let i = 0; i < n; i++) {
      const block = `down_blocks.${i}`;
      for (let j = 0; j < config.layersPerBlock[i]; j++) {
        h = this.resnet(h, `${block}.resnets.${j}`, temb);
        if (config.downBlockTypes[i] === 'CrossAttnDownBlock2D') {
          h = this.transformer(
            h,
            `${block}.attentions.${j}`,
            context,
            config.heads[i],
            config.transformerLayers[i],
          );
        }
        skips.push(h);
      }
      if (i < n - 1) {
        // downsample_padding 0: diffusers pads (0, 1, 0, 1) itself before the stride-2 convolution.
        const input =
          config.downsamplePadding === 0
            ? this.o.pad(h, [
                [0, 0],
                [0, 1],
                [0, 1],
                [0, 0],
              ])
            : h;
        h = nn.conv2d(input, `${block}.downsamplers.0.conv`, 2, config.downsamplePadding);
        skips.push(h);
      }
    }
    h = this.resnet(h, 'mid_block.resnets.0', temb);
    h = this.transformer(
      h,
      'mid_block.attentions.0',
      context,
      config.heads[n - 1],
      config.transformerLayers[n - 1],
    );
    h = this.resnet(h, 'mid_block.resnets.1', temb);
    if (config.midBlockScaleFactor !== 1)
      throw new Error('mid_block_scale_factor other than 1 is not supported');
    return { mid: h, skips };
  }

  /** The up blocks and the output layers, from the mid block's output and the skip connections. */
  decode(mid: Ref, skipConnections: Ref[], temb: Ref, context: Ref): Ref {
    const { o, nn, config } = this;
    const n = config.blockOutChannels.length;
    const skips = [...skipConnections];
    let h = mid;
    const reversedHeads = [...config.heads].reverse();
    const reversedLayers = [...config.layersPerBlock].reverse();
    const reversedTransformerLayers = [...config.transformerLayers].reverse();
    for (let i = 0; i < n; i++) {
      const block = `up_blocks.${i}`;
      for (let j = 0; j < reversedLayers[i] + 1; j++) {
        const skip = skips.pop();
        if (!skip)
          throw new Error('UNet config: up blocks consume more skip connections than down blocks produce');
        h = this.resnet(o.concat([h, skip], 3), `${block}.resnets.${j}`, temb);
        if (config.upBlockTypes[i] === 'CrossAttnUpBlock2D') {
          h = this.transformer(
            h,
            `${block}.attentions.${j}`,
            context,
            reversedHeads[i],
            reversedTransformerLayers[i],
          );
        }
      }
      if (i < n - 1) h = nn.conv2d(o.upsampleNearest2x(h), `${block}.upsamplers.0.conv`, 1, 1);
    }
    h = nn.groupNorm(h, 'conv_norm_out', null, config.normGroups, config.normEps, config.act);
    return nn.conv2d(h, 'conv_out', 1, (config.convOutKernel - 1) / 2);
  }

  build(sample: Ref, timestep: Ref, context: Ref): Ref {
    const temb = this.timeEmbedding(timestep);
    const { mid, skips } = this.encode(sample, temb, context);
    return this.decode(mid, skips, temb, context);
  }

  /**
   * The UNet's output, and the same output with ControlNet residuals added to the skip connections and the mid
   * block's output (diffusers' down_block_additional_residuals / mid_block_additional_residual): `residuals(skips,
   * mid)` declares the residual inputs from the shapes it is given. Both outputs share the encoder.
   */
  buildWithResiduals(
    sample: Ref,
    timestep: Ref,
    context: Ref,
    residuals: (skipCount: number) => { down: Ref[]; mid: Ref },
  ): { out: Ref; controlled: Ref } {
    const { o } = this;
    const temb = this.timeEmbedding(timestep);
    const { mid, skips } = this.encode(sample, temb, context);
    const out = this.decode(mid, skips, temb, context);
    const given = residuals(skips.length);
    const controlledSkips = skips.map((skip, i) => o.add(skip, given.down[i]));
    const controlled = this.decode(o.add(mid, given.mid), controlledSkips, temb, context);
    return { out, controlled };
  }
}
