import { UnetConfig } from './unetGraph';

/**
 * The parameter names and shapes of diffusers' UNet2DConditionModel for a config, in checkpoint order. Used to
 * write synthetic checkpoints (bench convert, converter tests for configs without fixtures).
 */
export function unetParameterShapes(config: UnetConfig): [string, number[]][] {
  const params: [string, number[]][] = [];
  const add = (name: string, shape: number[]) => params.push([name, shape]);
  const boc = config.blockOutChannels;
  const n = boc.length;
  const temb = boc[0] * 4;
  const conv = (name: string, out: number, inp: number, k: number) => {
    add(`${name}.weight`, [out, inp, k, k]);
    add(`${name}.bias`, [out]);
  };
  const linear = (name: string, out: number, inp: number, bias = true) => {
    add(`${name}.weight`, [out, inp]);
    if (bias) add(`${name}.bias`, [out]);
  };
  const norm = (name: string, c: number) => {
    add(`${name}.weight`, [c]);
    add(`${name}.bias`, [c]);
  };
  const resnet = (name: string, inp: number, out: number) => {
    norm(`${name}.norm1`, inp);
    conv(`${name}.conv1`, out, inp, 3);
    linear(`${name}.time_emb_proj`, out, temb);
    norm(`${name}.norm2`, out);
    conv(`${name}.conv2`, out, out, 3);
    if (inp !== out) conv(`${name}.conv_shortcut`, out, inp, 1);
  };
  const transformer = (name: string, c: number, layers: number) => {
    norm(`${name}.norm`, c);
    if (config.useLinearProjection) linear(`${name}.proj_in`, c, c);
    else conv(`${name}.proj_in`, c, c, 1);
    for (let b = 0; b < layers; b++) {
      const block = `${name}.transformer_blocks.${b}`;
      for (const [attn, kv] of [
        ['attn1', c],
        ['attn2', config.crossAttentionDim],
      ] as const) {
        linear(`${block}.${attn}.to_q`, c, c, false);
        linear(`${block}.${attn}.to_k`, c, kv, false);
        linear(`${block}.${attn}.to_v`, c, kv, false);
        linear(`${block}.${attn}.to_out.0`, c, c);
      }
      linear(`${block}.ff.net.0.proj`, 8 * c, c);
      linear(`${block}.ff.net.2`, c, 4 * c);
      for (const k of ['norm1', 'norm2', 'norm3']) norm(`${block}.${k}`, c);
    }
    if (config.useLinearProjection) linear(`${name}.proj_out`, c, c);
    else conv(`${name}.proj_out`, c, c, 1);
  };
  conv('conv_in', boc[0], config.inChannels, config.convInKernel);
  linear('time_embedding.linear_1', temb, boc[0]);
  linear('time_embedding.linear_2', temb, temb);
  for (let i = 0; i < n; i++) {
    const out = boc[i];
    const input = i === 0 ? boc[0] : boc[i - 1];
    for (let j = 0; j < config.layersPerBlock[i]; j++) {
      resnet(`down_blocks.${i}.resnets.${j}`, j === 0 ? input : out, out);
      if (config.downBlockTypes[i] === 'CrossAttnDownBlock2D')
        transformer(`down_blocks.${i}.attentions.${j}`, out, config.transformerLayers[i]);
    }
    if (i < n - 1) conv(`down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
  }
  const last = boc[n - 1];
  resnet('mid_block.resnets.0', last, last);
  transformer('mid_block.attentions.0', last, config.transformerLayers[n - 1]);
  resnet('mid_block.resnets.1', last, last);
  const reversed = [...boc].reverse();
  const reversedLayers = [...config.layersPerBlock].reverse();
  const reversedTransformerLayers = [...config.transformerLayers].reverse();
  let output = reversed[0];
  for (let i = 0; i < n; i++) {
    const prev = output;
    output = reversed[i];
    const input = reversed[Math.min(i + 1, n - 1)];
    const layers = reversedLayers[i] + 1;
    for (let j = 0; j < layers; j++) {
      const skip = j === layers - 1 ? input : output;
      const resIn = j === 0 ? prev : output;
      resnet(`up_blocks.${i}.resnets.${j}`, resIn + skip, output);
      if (config.upBlockTypes[i] === 'CrossAttnUpBlock2D')
        transformer(`up_blocks.${i}.attentions.${j}`, output, reversedTransformerLayers[i]);
    }
    if (i < n - 1) conv(`up_blocks.${i}.upsamplers.0.conv`, output, output, 3);
  }
  norm('conv_norm_out', boc[0]);
  conv('conv_out', config.outChannels, boc[0], config.convOutKernel);
  return params;
}
