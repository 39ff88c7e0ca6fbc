import { TensorFile } from '../../../lib/io/tensorFile';

/**
 * diffusers-style configs for an SD v1.x / v2.x single-file checkpoint, read from its tensors' names and shapes where
 * they say it and from the released models' configs where they cannot (group counts, head counts, the scheduler).
 * `--config <diffusers dir>` replaces them for anything else.
 */

export type PredictionType = 'epsilon' | 'v_prediction';
type Raw = Record<string, unknown>;

function shapeOf(file: TensorFile, name: string): number[] {
  if (!file.has(name)) throw new Error(`${file.path}: missing tensor '${name}'`);
  return file.entry(name).shape;
}

/** How many distinct `<prefix><i>.` indices the names have. */
function countIndices(names: string[], prefix: string): number {
  return new Set(names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length).split('.')[0]))
    .size;
}

/** What the UNet's tensors say of its architecture (everything but the head counts). */
export function inferUnetStructure(unet: TensorFile): Raw {
  const names = unet.names();
  const blocks = countIndices(names, 'down_blocks.');
  const blockOutChannels = Array.from(
    { length: blocks },
    (_, b) => shapeOf(unet, `down_blocks.${b}.resnets.0.conv1.weight`)[0],
  );
  const hasAttention = (kind: string, b: number) =>
    names.some((n) => n.startsWith(`${kind}.${b}.attentions.`));
  return {
    _class_name: 'UNet2DConditionModel',
    in_channels: shapeOf(unet, 'conv_in.weight')[1],
    out_channels: shapeOf(unet, 'conv_out.weight')[0],
    block_out_channels: blockOutChannels,
    down_block_types: blockOutChannels.map((_, b) =>
      hasAttention('down_blocks', b) ? 'CrossAttnDownBlock2D' : 'DownBlock2D',
    ),
    up_block_types: blockOutChannels.map((_, b) =>
      hasAttention('up_blocks', b) ? 'CrossAttnUpBlock2D' : 'UpBlock2D',
    ),
    layers_per_block: countIndices(names, 'down_blocks.0.resnets.'),
    transformer_layers_per_block: countIndices(names, 'mid_block.attentions.0.transformer_blocks.'),
    cross_attention_dim: shapeOf(unet, 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight')[1],
    use_linear_projection: shapeOf(unet, 'mid_block.attentions.0.proj_in.weight').length === 2,
  };
}

/**
 * The UNet's config from a view with diffusers names: its structure, and what the released models use where the
 * tensors cannot say: SD v1 (768-wide cross-attention) counts 8 heads per block, SD v2 has 64-wide heads.
 */
export function inferUnetConfig(unet: TensorFile, imageSize: number): Raw {
  const structure = inferUnetStructure(unet);
  const blockOutChannels = structure.block_out_channels as number[];
  const crossAttentionDim = structure.cross_attention_dim as number;
  const v1 = crossAttentionDim === 768;
  if (!v1 && blockOutChannels.some((c) => c % 64 !== 0)) {
    throw new Error(
      `${unet.path}: cross-attention width ${crossAttentionDim} is not SD v1's 768, and the blocks' channels [${blockOutChannels}] do not split into SD v2's 64-wide heads: the head counts cannot be read from the tensors; pass --config <a diffusers directory with this model's configs>`,
    );
  }
  return {
    ...structure,
    attention_head_dim: v1 ? 8 : blockOutChannels.map((c) => c / 64),
    norm_num_groups: 32,
    norm_eps: 1e-5,
    flip_sin_to_cos: true,
    freq_shift: 0,
    downsample_padding: 1,
    act_fn: 'silu',
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    sample_size: imageSize / 8,
  };
}

export function inferVaeConfig(vae: TensorFile, imageSize: number): Raw {
  const names = vae.names();
  const levels = countIndices(names, 'encoder.down_blocks.');
  const blockOutChannels = Array.from(
    { length: levels },
    (_, i) => shapeOf(vae, `encoder.down_blocks.${i}.resnets.0.conv1.weight`)[0],
  );
  return {
    _class_name: 'AutoencoderKL',
    in_channels: shapeOf(vae, 'encoder.conv_in.weight')[1],
    out_channels: shapeOf(vae, 'decoder.conv_out.weight')[0],
    latent_channels: shapeOf(vae, 'decoder.conv_in.weight')[1],
    block_out_channels: blockOutChannels,
    down_block_types: blockOutChannels.map(() => 'DownEncoderBlock2D'),
    up_block_types: blockOutChannels.map(() => 'UpDecoderBlock2D'),
    layers_per_block: countIndices(names, 'encoder.down_blocks.0.resnets.'),
    norm_num_groups: 32,
    act_fn: 'silu',
    scaling_factor: 0.18215,
    sample_size: imageSize,
  };
}

/** The text encoder's config: CLIP ViT-L/14's text tower (SD v1) or OpenCLIP ViT-H's (SD v2), sized from the tensors. */
export function inferTextConfig(text: TensorFile, openClip: boolean): Raw {
  const names = text.names();
  const [vocabSize, hiddenSize] = shapeOf(text, 'text_model.embeddings.token_embedding.weight');
  return {
    _class_name: 'CLIPTextModel',
    model_type: 'clip_text_model',
    vocab_size: vocabSize,
    hidden_size: hiddenSize,
    intermediate_size: shapeOf(text, 'text_model.encoder.layers.0.mlp.fc1.weight')[0],
    num_hidden_layers: countIndices(names, 'text_model.encoder.layers.'),
    num_attention_heads: hiddenSize / 64,
    max_position_embeddings: shapeOf(text, 'text_model.embeddings.position_embedding.weight')[0],
    hidden_act: openClip ? 'gelu' : 'quick_gelu',
    layer_norm_eps: 1e-5,
    bos_token_id: 0,
    eos_token_id: 2,
    pad_token_id: 1,
  };
}

/** The scheduler the SD v1/v2 releases ship (PNDM settings; sag uses its beta schedule and prediction type). */
export function standardSchedulerConfig(predictionType: PredictionType): Raw {
  return {
    _class_name: 'PNDMScheduler',
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    num_train_timesteps: 1000,
    prediction_type: predictionType,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    clip_sample: false,
  };
}
