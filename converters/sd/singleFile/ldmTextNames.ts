import { TensorFile } from '../../../lib/io/tensorFile';
import { TensorSource } from './renamedTensorFile';

/** SD v1.x: a transformers CLIPTextModel under `cond_stage_model.transformer.` (with or without `text_model.`). */
export function ldmClipTextMap(keys: string[], prefix: string): Map<string, TensorSource> {
  const map = new Map<string, TensorSource>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest.endsWith('position_ids')) continue;
    map.set(rest.startsWith('text_model.') ? rest : `text_model.${rest}`, { name: key });
  }
  return map;
}

const OPEN_CLIP_LAYER_PARTS: [string, string][] = [
  ['ln_1.', 'layer_norm1.'],
  ['ln_2.', 'layer_norm2.'],
  ['mlp.c_fc.', 'mlp.fc1.'],
  ['mlp.c_proj.', 'mlp.fc2.'],
  ['attn.out_proj.', 'self_attn.out_proj.'],
];

/**
 * SD v2.x: an OpenCLIP text tower under `cond_stage_model.model.`, renamed to transformers' CLIPTextModel (the
 * fused `attn.in_proj_*` split into q/k/v). `layers` of its blocks are kept: SD v2 conditions on the penultimate
 * block's output, so diffusers' SD v2 text encoder has one block fewer than the checkpoint.
 */
export function openClipTextMap(file: TensorFile, prefix: string, layers: number): Map<string, TensorSource> {
  const map = new Map<string, TensorSource>();
  const set = (name: string, source: TensorSource) => map.set(`text_model.${name}`, source);
  set('embeddings.token_embedding.weight', { name: `${prefix}token_embedding.weight` });
  set('embeddings.position_embedding.weight', { name: `${prefix}positional_embedding` });
  set('final_layer_norm.weight', { name: `${prefix}ln_final.weight` });
  set('final_layer_norm.bias', { name: `${prefix}ln_final.bias` });
  for (const key of file.names()) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}transformer\\.resblocks\\.(\\d+)\\.(.+)$`).exec(
      key,
    );
    if (!m || Number(m[1]) >= layers) continue;
    const [layer, rest] = [m[1], m[2]];
    const base = `encoder.layers.${layer}.`;
    const fused = /^attn\.in_proj_(weight|bias)$/.exec(rest);
    if (fused) {
      const width = file.entry(key).shape[0] / 3;
      ['q_proj', 'k_proj', 'v_proj'].forEach((projection, i) =>
        set(`${base}self_attn.${projection}.${fused[1]}`, { name: key, rows: [i * width, (i + 1) * width] }),
      );
      continue;
    }
    const part = OPEN_CLIP_LAYER_PARTS.find(([open]) => rest.startsWith(open));
    if (part) set(base + part[1] + rest.slice(part[0].length), { name: key });
  }
  return map;
}

/** The number of `transformer.resblocks.<i>` under `prefix`. */
export function openClipLayerCount(keys: string[], prefix: string): number {
  const p = `${prefix}transformer.resblocks.`;
  return new Set(keys.filter((k) => k.startsWith(p)).map((k) => k.slice(p.length).split('.')[0])).size;
}
