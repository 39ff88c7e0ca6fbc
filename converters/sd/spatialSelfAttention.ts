import { Ref } from '../graph/graphBuilder';
import { mixFrames } from '../graph/frameMix';
import { NnLayers } from '../graph/nnLayers';

/**
 * Single-head self-attention over all pixels of NHWC x with its own GroupNorm and a residual (diffusers'
 * VAE mid-block attention). `legacy` selects the old names query/key/value/proj_attn. With `frameMix` (see
 * frameMix.ts) the keys and values come from the frames it names.
 */
export function spatialSelfAttention(
  nn: NnLayers,
  x: Ref,
  name: string,
  groups: number,
  eps: number,
  frameMix?: Ref,
): Ref {
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
    const context = frameMix ? mixFrames(nn.ops, tokens, frameMix) : tokens;
    const mixed = nn.multiHeadAttention(tokens, context, names, 1, channels);
    return nn.ops.add(nn.fromTokens(nn.linear(mixed, names.out), x, channels), x);
  });
}
