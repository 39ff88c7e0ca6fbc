import { Ref } from '../graph/graphBuilder';
import { Activation, NnLayers } from '../graph/nnLayers';
import { ConfigReader } from './diffusersConfig';
import { resnetBlock } from './resnetBlock';
import { spatialSelfAttention } from './spatialSelfAttention';

/** The parts of a diffusers AutoencoderKL config.json that the converter implements. */
export interface VaeConfig {
  inChannels: number;
  outChannels: number;
  latentChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  normGroups: number;
  act: Activation;
  scalingFactor: number;
  sampleSize: number;
  useQuantConv: boolean;
  usePostQuantConv: boolean;
  midBlockAttention: boolean;
}

export function parseVaeConfig(raw: Record<string, unknown>, source: string): VaeConfig {
  const c = new ConfigReader(raw, source);
  const blockOutChannels = c.ints('block_out_channels');
  for (const t of c.strings('down_block_types')) {
    if (t !== 'DownEncoderBlock2D')
      throw new Error(`${source}: unsupported down block type '${t}', expected DownEncoderBlock2D`);
  }
  for (const t of c.strings('up_block_types')) {
    if (t !== 'UpDecoderBlock2D')
      throw new Error(`${source}: unsupported up block type '${t}', expected UpDecoderBlock2D`);
  }
  c.expect('shift_factor', [null, 0]);
  c.expect('latents_mean', [null]);
  c.expect('latents_std', [null]);
  return {
    inChannels: c.int('in_channels', 3),
    outChannels: c.int('out_channels', 3),
    latentChannels: c.int('latent_channels', 4),
    blockOutChannels,
    layersPerBlock: c.int('layers_per_block', 2),
    normGroups: c.int('norm_num_groups', 32),
    act: c.oneOf('act_fn', ['silu', 'relu', 'gelu'], 'silu') as Activation,
    scalingFactor: c.number('scaling_factor', 0.18215),
    sampleSize: c.int('sample_size', 512),
    useQuantConv: c.bool('use_quant_conv', true),
    usePostQuantConv: c.bool('use_post_quant_conv', true),
    midBlockAttention: c.bool('mid_block_add_attention', true),
  };
}

const VAE_EPS = 1e-6;

/** Emits diffusers' AutoencoderKL decoder (latent -> image in [-1, 1]) and encoder (image -> mean, logvar). */
export class VaeGraph {
  constructor(
    private readonly nn: NnLayers,
    private readonly config: VaeConfig,
  ) {}

  private resnet(x: Ref, name: string): Ref {
    return resnetBlock(this.nn, x, name, {
      groups: this.config.normGroups,
      eps: VAE_EPS,
      act: this.config.act,
      temb: null,
    });
  }

  private attention(x: Ref, name: string): Ref {
    return spatialSelfAttention(this.nn, x, name, this.config.normGroups, VAE_EPS);
  }

  private midBlock(h: Ref, prefix: string): Ref {
    h = this.resnet(h, `${prefix}.mid_block.resnets.0`);
    if (this.config.midBlockAttention) h = this.attention(h, `${prefix}.mid_block.attentions.0`);
    return this.resnet(h, `${prefix}.mid_block.resnets.1`);
  }

  /** latent (unscaled) [B, h, w, latent] -> image [B, H, W, out] in about [-1, 1]. */
  decode(latent: Ref): Ref {
    const { nn, config } = this;
    let h = config.usePostQuantConv ? nn.conv2d(latent, 'post_quant_conv') : latent;
    h = nn.conv2d(h, 'decoder.conv_in', 1, 1);
    h = this.midBlock(h, 'decoder');
    const n = config.blockOutChannels.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < config.layersPerBlock + 1; j++)
        h = this.resnet(h, `decoder.up_blocks.${i}.resnets.${j}`);
      if (i < n - 1)
        h = nn.conv2d(nn.ops.upsampleNearest2x(h), `decoder.up_blocks.${i}.upsamplers.0.conv`, 1, 1);
    }
    h = nn.groupNorm(h, 'decoder.conv_norm_out', null, config.normGroups, VAE_EPS, config.act);
    return nn.conv2d(h, 'decoder.conv_out', 1, 1);
  }

  /** image [B, H, W, in] in [-1, 1] -> { mean, logvar } of the latent distribution (logvar clamped to [-30, 20]). */
  encode(image: Ref): { mean: Ref; logvar: Ref } {
    const { nn, config } = this;
    const o = nn.ops;
    let h = nn.conv2d(image, 'encoder.conv_in', 1, 1);
    const n = config.blockOutChannels.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < config.layersPerBlock; j++)
        h = this.resnet(h, `encoder.down_blocks.${i}.resnets.${j}`);
      if (i < n - 1) {
        // diffusers pads (0, 1, 0, 1) before a stride-2 conv without padding.
        const padded = o.pad(h, [
          [0, 0],
          [0, 1],
          [0, 1],
          [0, 0],
        ]);
        h = nn.conv2d(padded, `encoder.down_blocks.${i}.downsamplers.0.conv`, 2, 0);
      }
    }
    h = this.midBlock(h, 'encoder');
    h = nn.groupNorm(h, 'encoder.conv_norm_out', null, config.normGroups, VAE_EPS, config.act);
    h = nn.conv2d(h, 'encoder.conv_out', 1, 1);
    if (config.useQuantConv) h = nn.conv2d(h, 'quant_conv');
    const [mean, logvar] = o.split(h, 2, 3);
    const clamped = o.minimum(o.maximum(logvar, nn.g.scalar(-30)), nn.g.scalar(20));
    return { mean, logvar: clamped };
  }
}
