import { PixelUnetSpec } from './pixelUnetSpec';
import { Ref } from '../graph/graphBuilder';
import { NnLayers } from '../graph/nnLayers';
import { resnetBlock } from '../sd/resnetBlock';
import { spatialSelfAttention } from '../sd/spatialSelfAttention';
import { timestepEmbeddingGraph } from '../sd/timestepEmbeddingGraph';

const EPS = 1e-5;

/**
 * Emits the embedded pixel-space UNet (weights/train/pixelUnetModel.ts) from its checkpoint: the same
 * layers as the training code, as primitive graph ops. Inputs: sample [B, S, S, C] in [-1, 1], timestep [B or 1],
 * and optionally the frame mix [B, B] of the self-attentions (cross-frame attention; see frameMix.ts).
 */
export function pixelUnetGraph(
  nn: NnLayers,
  spec: PixelUnetSpec,
  sample: Ref,
  timestep: Ref,
  frameMix?: Ref,
): Ref {
  const c = spec.channels;
  const res = (x: Ref, name: string, temb: Ref) =>
    resnetBlock(nn, x, name, { groups: spec.groups, eps: EPS, act: 'silu', temb });
  const attn = (x: Ref, name: string) => spatialSelfAttention(nn, x, name, spec.groups, EPS, frameMix);
  const temb = timestepEmbeddingGraph(nn, timestep, c[0], { flipSinToCos: true, freqShift: 0, act: 'silu' });
  let h = nn.conv2d(sample, 'conv_in', 1, 1);
  const skips: Ref[] = [];
  for (let l = 0; l < c.length; l++) {
    h = res(h, `down.${l}.resnet`, temb);
    if (spec.attentionLevels.includes(l)) h = attn(h, `down.${l}.attention`);
    skips.push(h);
    if (l < c.length - 1) h = nn.conv2d(h, `down.${l}.downsample`, 2, 1);
  }
  h = res(h, 'mid.resnet_0', temb);
  h = attn(h, 'mid.attention');
  h = res(h, 'mid.resnet_1', temb);
  for (let l = c.length - 1; l >= 0; l--) {
    h = res(nn.ops.concat([h, skips[l]], 3), `up.${l}.resnet`, temb);
    if (spec.attentionLevels.includes(l)) h = attn(h, `up.${l}.attention`);
    if (l > 0) h = nn.conv2d(nn.ops.upsampleNearest2x(h), `up.${l}.upsample`, 1, 1);
  }
  h = nn.groupNorm(h, 'conv_norm_out', null, spec.groups, EPS, 'silu');
  return nn.conv2d(h, 'conv_out', 1, 1);
}
