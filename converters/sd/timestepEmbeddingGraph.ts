import { Ref } from '../graph/graphBuilder';
import { Activation, NnLayers } from '../graph/nnLayers';

/**
 * diffusers' sinusoidal timestep projection (max period 10000) of a float timestep input [B or 1], followed by
 * the `time_embedding.linear_1 -> act -> linear_2` MLP.
 */
export function timestepEmbeddingGraph(
  nn: NnLayers,
  timestep: Ref,
  dim: number,
  options: { flipSinToCos: boolean; freqShift: number; act: Activation },
): Ref {
  const o = nn.ops;
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / (half - options.freqShift));
  const args = o.mul(
    o.reshape(timestep, [-1, 1]),
    nn.g.constant('time_proj.freqs', freqs, [1, half], 'float32', true),
  );
  const sin = o.unary('Sin', args);
  const cos = o.unary('Cos', args);
  let emb = options.flipSinToCos ? o.concat([cos, sin], 1) : o.concat([sin, cos], 1);
  if (dim % 2 === 1)
    emb = o.pad(emb, [
      [0, 0],
      [0, 1],
    ]);
  return nn.g.scope('time_embedding', () => {
    const h = nn.activation(nn.linear(emb, 'time_embedding.linear_1'), options.act);
    return nn.linear(h, 'time_embedding.linear_2');
  });
}
