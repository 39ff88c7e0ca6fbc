import { Ref } from '../graph/graphBuilder';
import { Activation, NnLayers } from '../graph/nnLayers';

export interface ResnetOptions {
  groups: number;
  eps: number;
  act: Activation;
  /** The time embedding [B, T] (UNet) or null (VAE). */
  temb: Ref | null;
}

/** diffusers ResnetBlock2D ('default' time-embedding norm, output scale 1) on NHWC x. */
export function resnetBlock(nn: NnLayers, x: Ref, name: string, options: ResnetOptions): Ref {
  const o = nn.ops;
  const { groups, eps, act, temb } = options;
  return nn.g.scope(name, () => {
    let h = nn.groupNorm(x, `${name}.norm1`, null, groups, eps, act);
    h = nn.conv2d(h, `${name}.conv1`, 1, 1);
    if (temb !== null) {
      const t = nn.linear(nn.activation(temb, act), `${name}.time_emb_proj`);
      const channels = nn.w.shape(`${name}.time_emb_proj.weight`)[0];
      h = o.add(h, o.reshape(t, [-1, 1, 1, channels]));
    }
    h = nn.groupNorm(h, `${name}.norm2`, null, groups, eps, act);
    h = nn.conv2d(h, `${name}.conv2`, 1, 1);
    const shortcut = nn.w.has(`${name}.conv_shortcut.weight`) ? nn.conv2d(x, `${name}.conv_shortcut`) : x;
    return o.add(shortcut, h);
  });
}
