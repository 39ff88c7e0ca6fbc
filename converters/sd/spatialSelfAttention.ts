import { Ref } from '../graph/graphBuilder';
import { NnLayers } from '../graph/nnLayers';

/**
 * Single-head self-attention over all pixels of NHWC x with its own GroupNorm and a residual (diffusers'
 * VAE mid-block attention). `legacy` selects the old names query/key/value/proj_attn.
 */
export function spatialSelfAttention(nn: NnLayers, x: Ref, name: string, groups: number, eps: number): Ref {
  const legacy = nn.w.has(`${name}.query.weight`);
  const names = legacy
    ? {
        q: `${name}.query`,
        k: `${name}.key`,
        v: `${name}.value`,
        out: `${name}.proj_attn`,
        norm: `${name}.group_norm`,
      }
    : {
        q: `${name}.to_q`,
        k: `${name}.to_k`,
        v: `${name}.to_v`,
        out: `${name}.to_out.0`,
        norm: `${name}.group_norm`,
      };
  return nn.g.scope(name, () => {
    const channels = nn.w.shape(`${names.norm}.weight`)[0];
    const h = nn.groupNorm(x, names.norm, channels, groups, eps);
    const tokens = nn.toTokens(h, channels);
    const mixed = nn.multiHeadAttention(tokens, tokens, names, 1, channels);
    return nn.ops.add(nn.fromTokens(nn.linear(mixed, names.out), x, channels), x);
  });
}
