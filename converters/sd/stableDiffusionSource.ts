import * as fs from 'fs';
import * as path from 'path';
import { CheckpointWeights } from '../weights/weightSource';
import { readJsonConfig } from './diffusersConfig';

export type StableDiffusionComponent = 'unet' | 'vae' | 'text_encoder';

/** A raw diffusers/transformers config and where it came from (for error messages). */
export interface SourcedConfig {
  raw: Record<string, unknown>;
  source: string;
}

/**
 * What `sag convert sd` converts: the components' configs, the tokenizer files, and the weights of each component
 * under diffusers / transformers names. A diffusers directory is one; a single-file checkpoint another.
 */
export interface StableDiffusionSource {
  /** Recorded in sag.json as the source. */
  readonly description: string;
  readonly configs: Record<StableDiffusionComponent | 'scheduler', SourcedConfig>;
  /** A directory with vocab.json and merges.txt (and optionally tokenizer_config.json, special_tokens_map.json). */
  readonly tokenizerDir: string;
  /** Entries that replace or add to the tokenizer's tokenizer_config.json. */
  readonly tokenizerConfig?: Record<string, unknown>;
  /** The component's weights; the caller closes them. */
  weights(component: StableDiffusionComponent): Promise<CheckpointWeights>;
  /** Releases what the source holds open. */
  close(): void;
}

/** Checks that `dir` is a diffusers Stable Diffusion directory, naming what is wrong if not. */
export function assertStableDiffusionLayout(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: directory not found`);
  const topConfig = path.join(dir, 'config.json');
  if (fs.existsSync(topConfig)) {
    const type = (JSON.parse(fs.readFileSync(topConfig, 'utf8')) as { model_type?: string }).model_type;
    if (type === 'clip')
      throw new Error(
        `${dir}: this is a transformers CLIP directory, not Stable Diffusion (use 'sag convert clip')`,
      );
  }
  for (const part of [
    'unet/config.json',
    'vae/config.json',
    'text_encoder/config.json',
    'tokenizer/vocab.json',
    'tokenizer/merges.txt',
    'scheduler/scheduler_config.json',
  ]) {
    if (!fs.existsSync(path.join(dir, part))) {
      throw new Error(`${dir}: not a diffusers Stable Diffusion directory (missing ${part})`);
    }
  }
}

/** The configs of a diffusers Stable Diffusion directory (also what `--config` of a single file reads). */
export function diffusersConfigs(dir: string): StableDiffusionSource['configs'] {
  const sourced = (component: string, kind: string): SourcedConfig => ({
    raw: readJsonConfig(path.join(dir, component), kind),
    source: path.join(dir, component, 'config.json'),
  });
  const schedulerFile = path.join(dir, 'scheduler', 'scheduler_config.json');
  return {
    unet: sourced('unet', 'UNet'),
    vae: sourced('vae', 'VAE'),
    text_encoder: sourced('text_encoder', 'text encoder'),
    scheduler: {
      raw: JSON.parse(fs.readFileSync(schedulerFile, 'utf8')) as Record<string, unknown>,
      source: schedulerFile,
    },
  };
}

/** The weight file base names diffusers and transformers use per component. */
const WEIGHT_BASES: Record<StableDiffusionComponent, string[]> = {
  unet: ['diffusion_pytorch_model', 'model'],
  vae: ['diffusion_pytorch_model', 'model'],
  text_encoder: ['model', 'pytorch_model'],
};

/** A diffusers Stable Diffusion directory (model_index.json layout). */
export function diffusersDirectorySource(dir: string): StableDiffusionSource {
  assertStableDiffusionLayout(dir);
  return {
    description: path.resolve(dir),
    configs: diffusersConfigs(dir),
    tokenizerDir: path.join(dir, 'tokenizer'),
    weights: (component) =>
      CheckpointWeights.openDirectory(path.join(dir, component), WEIGHT_BASES[component]),
    close: () => undefined,
  };
}
