import { Ref } from '../graph/graphBuilder';
import { NnLayers } from '../graph/nnLayers';
import { ConfigReader } from './diffusersConfig';
import { UnetConfig, UnetGraph, parseUnetConfig, unetSkipChannels } from './unetGraph';

/** A diffusers ControlNetModel config: its UNet encoder's config and the condition embedding's. */
export interface ControlNetConfig {
  unet: UnetConfig;
  conditioningChannels: number;
  /** Channels of the condition embedding's convolutions; each after the first halves the resolution. */
  embeddingChannels: number[];
  /** diffusers' controlnet_conditioning_channel_order: the loader flips 'bgr' models' condition images (the graph takes what the model was trained on). */
  channelOrder: 'rgb' | 'bgr';
  /** Residuals averaged over space (the 'shuffle' ControlNets). */
  globalPool: boolean;
}

export function parseControlNetConfig(raw: Record<string, unknown>, source: string): ControlNetConfig {
  const c = new ConfigReader(raw, source);
  const down = c.strings('down_block_types');
  // A ControlNet has the UNet's encoder only; its config has no up blocks.
  const up = [...down]
    .reverse()
    .map((t) => (t === 'CrossAttnDownBlock2D' ? 'CrossAttnUpBlock2D' : 'UpBlock2D'));
  return {
    unet: parseUnetConfig({ ...raw, up_block_types: up, out_channels: raw.in_channels ?? 4 }, source),
    conditioningChannels: c.int('conditioning_channels', 3),
    embeddingChannels: c.ints('conditioning_embedding_out_channels'),
    channelOrder: c.oneOf('controlnet_conditioning_channel_order', ['rgb', 'bgr'], 'rgb') as 'rgb' | 'bgr',
    globalPool: c.bool('global_pool_conditions', false),
  };
}

/** The number of residuals a ControlNet gives (one per UNet skip connection, plus the mid block's). */
export function controlNetResidualChannels(config: ControlNetConfig): { down: number[]; mid: number } {
  const down = unetSkipChannels(config.unet);
  return { down, mid: down[down.length - 1] };
}

/**
 * diffusers' ControlNetModel: the condition image [B, H, W, C] in [0, 1] through the condition embedding (3x3
 * convolutions with SiLU, stride 2 between channel changes), added to the UNet encoder's conv_in output; the
 * encoder's skip connections and mid block output through the zero convolutions (1x1), times `scale`.
 */
export class ControlNetGraph {
  constructor(
    private readonly nn: NnLayers,
    private readonly config: ControlNetConfig,
  ) {}

  private conditionEmbedding(condition: Ref): Ref {
    const { nn, config } = this;
    const name = 'controlnet_cond_embedding';
    let h = nn.activation(nn.conv2d(condition, `${name}.conv_in`, 1, 1), 'silu');
    for (let i = 0; i < config.embeddingChannels.length - 1; i++) {
      h = nn.activation(nn.conv2d(h, `${name}.blocks.${2 * i}`, 1, 1), 'silu');
      h = nn.activation(nn.conv2d(h, `${name}.blocks.${2 * i + 1}`, 2, 1), 'silu');
    }
    return nn.conv2d(h, `${name}.conv_out`, 1, 1);
  }

  build(sample: Ref, timestep: Ref, context: Ref, condition: Ref, scale: Ref): { down: Ref[]; mid: Ref } {
    const { nn, config } = this;
    const o = nn.ops;
    const unet = new UnetGraph(nn, config.unet);
    const temb = unet.timeEmbedding(timestep);
    const { mid, skips } = unet.encode(sample, temb, context, this.conditionEmbedding(condition));
    const residual = (h: Ref, block: string) => {
      const r = o.mul(nn.conv2d(h, block), scale);
      return config.globalPool ? o.mean(r, [1, 2], true) : r;
    };
    return {
      down: skips.map((skip, i) => residual(skip, `controlnet_down_blocks.${i}`)),
      mid: residual(mid, 'controlnet_mid_block'),
    };
  }
}
