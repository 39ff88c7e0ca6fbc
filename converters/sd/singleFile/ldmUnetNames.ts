import { TensorSource } from './renamedTensorFile';

const RESNET_PARTS: [string, string][] = [
  ['in_layers.0.', 'norm1.'],
  ['in_layers.2.', 'conv1.'],
  ['emb_layers.1.', 'time_emb_proj.'],
  ['out_layers.0.', 'norm2.'],
  ['out_layers.3.', 'conv2.'],
  ['skip_connection.', 'conv_shortcut.'],
];

const TOP_LEVEL: [string, string][] = [
  ['time_embed.0.', 'time_embedding.linear_1.'],
  ['time_embed.2.', 'time_embedding.linear_2.'],
  ['input_blocks.0.0.', 'conv_in.'],
  ['out.0.', 'conv_norm_out.'],
  ['out.2.', 'conv_out.'],
];

function renameResnet(rest: string): string {
  const part = RESNET_PARTS.find(([ldm]) => rest.startsWith(ldm));
  return part ? part[1] + rest.slice(part[0].length) : rest;
}

/**
 * ResNets per down block in an LDM UNet: input_blocks.0 is conv_in, then each down block has that many
 * (ResNet, attention) entries followed by one downsampler (`input_blocks.k.0.op`).
 */
export function ldmLayersPerBlock(keys: string[]): number {
  const downsamplers = keys
    .map((k) => /^input_blocks\.(\d+)\.0\.op\.weight$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (downsamplers.length > 0) return Math.min(...downsamplers) - 1;
  const blocks = new Set(keys.map((k) => /^input_blocks\.(\d+)\./.exec(k)?.[1]).filter(Boolean));
  return blocks.size - 1;
}

/** The diffusers name of one LDM UNet tensor (its name after `model.diffusion_model.`), or null if it has none. */
export function diffusersUnetName(ldm: string, layersPerBlock: number): string | null {
  const top = TOP_LEVEL.find(([prefix]) => ldm.startsWith(prefix));
  if (top) return top[1] + ldm.slice(top[0].length);
  const perBlock = layersPerBlock + 1;
  let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(ldm);
  if (m) {
    const k = Number(m[1]) - 1;
    const [block, layer, part, rest] = [Math.floor(k / perBlock), k % perBlock, Number(m[2]), m[3]];
    if (layer === layersPerBlock) {
      return rest.startsWith('op.') ? `down_blocks.${block}.downsamplers.0.conv.${rest.slice(3)}` : null;
    }
    if (part === 0) return `down_blocks.${block}.resnets.${layer}.${renameResnet(rest)}`;
    if (part === 1) return `down_blocks.${block}.attentions.${layer}.${rest}`;
    return null;
  }
  m = /^middle_block\.(\d)\.(.+)$/.exec(ldm);
  if (m) {
    const names = ['resnets.0', 'attentions.0', 'resnets.1'];
    const name = names[Number(m[1])];
    if (!name) return null;
    return `mid_block.${name}.${name.startsWith('resnets') ? renameResnet(m[2]) : m[2]}`;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(ldm);
  if (m) {
    const k = Number(m[1]);
    const [block, layer, part, rest] = [Math.floor(k / perBlock), k % perBlock, Number(m[2]), m[3]];
    if (part === 0) return `up_blocks.${block}.resnets.${layer}.${renameResnet(rest)}`;
    // After the ResNet: an attention, then the upsampler (`conv.`) if the block has one.
    if (rest.startsWith('conv.')) return `up_blocks.${block}.upsamplers.0.conv.${rest.slice(5)}`;
    if (part === 1) return `up_blocks.${block}.attentions.${layer}.${rest}`;
    return null;
  }
  return null;
}

/** diffusers name -> LDM tensor for every tensor under `prefix` (e.g. 'model.diffusion_model.'). */
export function ldmUnetMap(keys: string[], prefix: string): Map<string, TensorSource> {
  const own = keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  const layers = ldmLayersPerBlock(own);
  const map = new Map<string, TensorSource>();
  for (const ldm of own) {
    const name = diffusersUnetName(ldm, layers);
    if (name) map.set(name, { name: prefix + ldm });
  }
  return map;
}
