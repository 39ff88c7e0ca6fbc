import { Ref } from '../graph/graphBuilder';
import { NnLayers } from '../graph/nnLayers';
import { ClipTextConfig, ClipTransformerConfig, ClipVisionConfig } from './clipConfig';

/** Pre-norm CLIP encoder layers; returns every hidden state (index 0 = the input). `prefix` ends with '.' or is ''. */
function encoderLayers(
  nn: NnLayers,
  input: Ref,
  prefix: string,
  config: ClipTransformerConfig,
  mask?: Ref,
): Ref[] {
  const o = nn.ops;
  const headDim = config.hiddenSize / config.heads;
  const states = [input];
  let h = input;
  for (let i = 0; i < config.layers; i++) {
    const layer = `${prefix}encoder.layers.${i}`;
    h = nn.g.scope(layer, () => {
      const n1 = nn.layerNorm(h, `${layer}.layer_norm1`, config.layerNormEps);
      const attn = nn.multiHeadAttention(
        n1,
        n1,
        { q: `${layer}.self_attn.q_proj`, k: `${layer}.self_attn.k_proj`, v: `${layer}.self_attn.v_proj` },
        config.heads,
        headDim,
        mask,
      );
      const afterAttn = o.add(h, nn.linear(attn, `${layer}.self_attn.out_proj`));
      const n2 = nn.layerNorm(afterAttn, `${layer}.layer_norm2`, config.layerNormEps);
      const mlp = nn.linear(nn.activation(nn.linear(n2, `${layer}.mlp.fc1`), config.act), `${layer}.mlp.fc2`);
      return o.add(afterAttn, mlp);
    });
    states.push(h);
  }
  return states;
}

/** x / ||x|| over the last axis. */
function l2Normalize(nn: NnLayers, x: Ref): Ref {
  const o = nn.ops;
  return o.mul(x, o.unary('Rsqrt', o.sum(o.unary('Square', x), [-1])));
}

/**
 * CLIP text tower on token ids [B, T] (T = max positions): returns the last hidden state after the final
 * LayerNorm. With `projection`, also the L2-normalised projected embedding of the token selected by `eosMask`
 * ([B, T] one-hot, computed by the caller from the ids: tfjs has no gradient for ArgMax).
 */
export function clipTextGraph(
  nn: NnLayers,
  prefix: string,
  config: ClipTextConfig,
  ids: Ref,
  projection?: { name: string; eosMask: Ref },
): { lastHiddenState: Ref; textEmbeds?: Ref } {
  const o = nn.ops;
  const t = config.maxPositions;
  const tokens = o.gather(nn.param(`${prefix}embeddings.token_embedding.weight`), ids, 0);
  const positions = nn.w.get(`${prefix}embeddings.position_embedding.weight`);
  const h0 = o.add(
    tokens,
    nn.g.constant(
      `${prefix}embeddings.position_embedding.weight`,
      positions.data.subarray(0, t * config.hiddenSize),
      [t, config.hiddenSize],
    ),
  );
  // Causal mask: large negative above the diagonal (float32 min, as transformers uses).
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -3.4028234663852886e38;
  const states = encoderLayers(
    nn,
    h0,
    prefix,
    config,
    nn.g.constant(`${prefix}causal_mask`, mask, [t, t], 'float32', true),
  );
  const last = nn.layerNorm(states[states.length - 1], `${prefix}final_layer_norm`, config.layerNormEps);
  if (!projection) return { lastHiddenState: last };
  const pooled = o.sum(o.mul(last, o.reshape(projection.eosMask, [-1, t, 1])), [1], false);
  return { lastHiddenState: last, textEmbeds: l2Normalize(nn, nn.linear(pooled, projection.name, false)) };
}

/**
 * CLIP vision tower on pixel values [B, S, S, C] (already normalised with CLIP's mean/std): every hidden state
 * (0 = embeddings after pre_layrnorm) and the L2-normalised projected image embedding.
 */
export function clipVisionGraph(
  nn: NnLayers,
  prefix: string,
  config: ClipVisionConfig,
  pixels: Ref,
  projectionName: string,
): { hiddenStates: Ref[]; imageEmbeds: Ref } {
  const o = nn.ops;
  const d = config.hiddenSize;
  const grid = config.imageSize / config.patchSize;
  if (!Number.isInteger(grid))
    throw new Error(
      `CLIP vision: image_size ${config.imageSize} is not a multiple of patch_size ${config.patchSize}`,
    );
  const patches = nn.toTokens(
    nn.conv2d(pixels, `${prefix}embeddings.patch_embedding`, config.patchSize, 0),
    d,
  );
  const classToken = o.reshape(nn.param(`${prefix}embeddings.class_embedding`, [d]), [1, 1, d]);
  const batchTiles = o.dynamicShape([{ of: pixels, dim: 0 }, 1, 1]);
  const embeddings = o.add(
    o.concat([o.tile(classToken, batchTiles), patches], 1),
    nn.param(`${prefix}embeddings.position_embedding.weight`, [grid * grid + 1, d]),
  );
  const h0 = nn.layerNorm(embeddings, `${prefix}pre_layrnorm`, config.layerNormEps);
  const hiddenStates = encoderLayers(nn, h0, prefix, config);
  const cls = o.reshape(o.slice(hiddenStates[hiddenStates.length - 1], [0, 0, 0], [-1, 1, -1]), [-1, d]);
  const pooled = nn.layerNorm(cls, `${prefix}post_layernorm`, config.layerNormEps);
  return { hiddenStates, imageEmbeds: l2Normalize(nn, nn.linear(pooled, projectionName, false)) };
}
