import { TensorSource } from './renamedTensorFile';

const ATTENTION_PARTS: Record<string, string> = {
  norm: 'group_norm',
  q: 'to_q',
  k: 'to_k',
  v: 'to_v',
  proj_out: 'to_out.0',
};

function renameResnet(rest: string): string {
  return rest.replace(/^nin_shortcut\./, 'conv_shortcut.');
}

/**
 * The diffusers name of one LDM VAE tensor (its name after `first_stage_model.`, or as stored in a VAE-only file),
 * and whether it is a 1x1 convolution that diffusers stores as a linear layer; null if it has no diffusers name.
 * `upLevels`: the decoder's resolution levels (LDM numbers them from the lowest resolution up, diffusers from the
 * top down).
 */
export function diffusersVaeName(ldm: string, upLevels: number): { name: string; squeeze?: boolean } | null {
  if (/^(quant_conv|post_quant_conv)\./.test(ldm)) return { name: ldm };
  const m = /^(encoder|decoder)\.(.+)$/.exec(ldm);
  if (!m) return null;
  const [coder, rest] = [m[1], m[2]];
  let r: RegExpExecArray | null;
  if (/^(conv_in|conv_out)\./.test(rest)) return { name: `${coder}.${rest}` };
  if (rest.startsWith('norm_out.')) return { name: `${coder}.conv_norm_out.${rest.slice(9)}` };
  if ((r = /^mid\.block_([12])\.(.+)$/.exec(rest))) {
    return { name: `${coder}.mid_block.resnets.${Number(r[1]) - 1}.${renameResnet(r[2])}` };
  }
  if ((r = /^mid\.attn_1\.(norm|q|k|v|proj_out)\.(.+)$/.exec(rest))) {
    return {
      name: `${coder}.mid_block.attentions.0.${ATTENTION_PARTS[r[1]]}.${r[2]}`,
      squeeze: r[1] !== 'norm',
    };
  }
  if ((r = /^down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest))) {
    return { name: `${coder}.down_blocks.${r[1]}.resnets.${r[2]}.${renameResnet(r[3])}` };
  }
  if ((r = /^down\.(\d+)\.downsample\.conv\.(.+)$/.exec(rest))) {
    return { name: `${coder}.down_blocks.${r[1]}.downsamplers.0.conv.${r[2]}` };
  }
  if ((r = /^up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest))) {
    return {
      name: `${coder}.up_blocks.${upLevels - 1 - Number(r[1])}.resnets.${r[2]}.${renameResnet(r[3])}`,
    };
  }
  if ((r = /^up\.(\d+)\.upsample\.conv\.(.+)$/.exec(rest))) {
    return { name: `${coder}.up_blocks.${upLevels - 1 - Number(r[1])}.upsamplers.0.conv.${r[2]}` };
  }
  return null;
}

/** The number of decoder levels (`decoder.up.<i>`) among LDM VAE names (without prefix). */
export function ldmVaeUpLevels(own: string[]): number {
  return new Set(own.map((k) => /^decoder\.up\.(\d+)\./.exec(k)?.[1]).filter(Boolean)).size;
}

/** diffusers name -> LDM tensor for every VAE tensor under `prefix` ('first_stage_model.', or '' in a VAE-only file). */
export function ldmVaeMap(keys: string[], prefix: string): Map<string, TensorSource> {
  const own = keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  const upLevels = ldmVaeUpLevels(own);
  const map = new Map<string, TensorSource>();
  for (const ldm of own) {
    const mapped = diffusersVaeName(ldm, upLevels);
    if (mapped) map.set(mapped.name, { name: prefix + ldm, squeeze: mapped.squeeze });
  }
  return map;
}
