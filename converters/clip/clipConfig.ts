import { Activation } from '../graph/nnLayers';
import { ConfigReader } from '../sd/diffusersConfig';

export interface ClipTransformerConfig {
  hiddenSize: number;
  heads: number;
  layers: number;
  act: Activation;
  layerNormEps: number;
}

export interface ClipTextConfig extends ClipTransformerConfig {
  vocabSize: number;
  maxPositions: number;
  eosTokenId: number;
}

export interface ClipVisionConfig extends ClipTransformerConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
}

function transformerConfig(c: ConfigReader): ClipTransformerConfig {
  return {
    hiddenSize: c.int('hidden_size'),
    heads: c.int('num_attention_heads'),
    layers: c.int('num_hidden_layers'),
    act: c.oneOf(
      'hidden_act',
      ['quick_gelu', 'gelu', 'gelu_pytorch_tanh', 'relu'],
      'quick_gelu',
    ) as Activation,
    layerNormEps: c.number('layer_norm_eps', 1e-5),
  };
}

export function parseClipTextConfig(raw: Record<string, unknown>, source: string): ClipTextConfig {
  const c = new ConfigReader(raw, source);
  return {
    ...transformerConfig(c),
    vocabSize: c.int('vocab_size', 49408),
    maxPositions: c.int('max_position_embeddings', 77),
    eosTokenId: c.int('eos_token_id', 2),
  };
}

export function parseClipVisionConfig(raw: Record<string, unknown>, source: string): ClipVisionConfig {
  const c = new ConfigReader(raw, source);
  return {
    ...transformerConfig(c),
    imageSize: c.int('image_size', 224),
    patchSize: c.int('patch_size', 32),
    channels: c.int('num_channels', 3),
  };
}
