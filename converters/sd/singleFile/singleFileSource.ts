import * as fs from 'fs';
import * as path from 'path';
import { TensorFile, openTensorFile } from '../../../lib/io/tensorFile';
import { packageRoot } from '../../../lib/packageRoot';
import { CheckpointWeights } from '../../weights/weightSource';
import { StableDiffusionSource, diffusersConfigs } from '../stableDiffusionSource';
import { emaName, structuredEmaName } from './flatEmaNames';
import {
  PredictionType,
  inferTextConfig,
  inferUnetConfig,
  inferVaeConfig,
  standardSchedulerConfig,
} from './ldmConfigs';
import { ldmUnetMap } from './ldmUnetNames';
import { ldmClipTextMap, openClipLayerCount, openClipTextMap } from './ldmTextNames';
import { ldmVaeMap } from './ldmVaeNames';
import { RenamedTensorFile, unclosedView } from './renamedTensorFile';

export interface SingleFileOptions {
  /** A diffusers Stable Diffusion directory whose configs (and tokenizer, scheduler) replace the inferred ones. */
  configDir?: string;
  /** A directory with the CLIP tokenizer's vocab.json and merges.txt (default: the one shipped in weights/). */
  tokenizerDir?: string;
  /** Overrides the scheduler's prediction type (SD v2 checkpoints do not say which they are). */
  predictionType?: PredictionType;
  /** Use the UNet's EMA weights (`model_ema.*`). Files that hold only EMA weights use them anyway. */
  ema?: boolean;
  /** A VAE to use instead of the checkpoint's: a VAE-only file (LDM or diffusers names) or a diffusers vae/ folder. */
  vae?: string;
  log?: (line: string) => void;
}

const UNET_PREFIX = 'model.diffusion_model.';
const VAE_PREFIX = 'first_stage_model.';
const CLIP_PREFIX = 'cond_stage_model.transformer.';
const OPEN_CLIP_PREFIX = 'cond_stage_model.model.';

export type SingleFileKind = 'sd-v1' | 'sd-v2';

/** The UNet's tensors by diffusers name, from the structured LDM names or from their EMA copies. */
function unetView(
  file: TensorFile,
  names: string[],
  ema: boolean | undefined,
  log: (line: string) => void,
): RenamedTensorFile {
  const structured = names.filter((n) => n.startsWith(UNET_PREFIX));
  const flatEma = names.filter((n) => n.startsWith('model_ema.diffusion_model'));
  if (structured.length > 0 && !ema)
    return new RenamedTensorFile(file, ldmUnetMap(names, UNET_PREFIX), 'unet');
  if (structured.length > 0) {
    const emaNames = new Set(flatEma);
    const missing = structured.filter((n) => !emaNames.has(emaName(n)));
    if (missing.length > 0) {
      throw new Error(
        `${file.path}: --ema: no EMA copy of '${missing[0]}' (${missing.length} UNet tensors have none)`,
      );
    }
    const map = ldmUnetMap(names, UNET_PREFIX);
    for (const source of map.values()) source.name = emaName(source.name);
    return new RenamedTensorFile(file, map, 'unet, EMA weights');
  }
  if (flatEma.length === 0) {
    throw new Error(
      `${file.path}: no Stable Diffusion UNet in this file (no '${UNET_PREFIX}*' or 'model_ema.*' tensors); a VAE-only file goes to --vae`,
    );
  }
  log('the checkpoint holds only EMA weights of the UNet: using them');
  const byStructured = new Map<string, string>();
  for (const flat of flatEma) {
    const structuredName = structuredEmaName(flat);
    if (structuredName) byStructured.set(structuredName, flat);
  }
  const map = ldmUnetMap([...byStructured.keys()], UNET_PREFIX);
  for (const source of map.values()) source.name = byStructured.get(source.name) as string;
  return new RenamedTensorFile(file, map, 'unet, EMA weights');
}

/** A VAE file's tensors by diffusers name: LDM names (with or without `first_stage_model.`) or diffusers names. */
export function vaeView(file: TensorFile, names: string[]): RenamedTensorFile | TensorFile {
  if (names.some((n) => n.startsWith(`${VAE_PREFIX}encoder.`))) {
    return new RenamedTensorFile(file, ldmVaeMap(names, VAE_PREFIX), 'vae');
  }
  if (names.includes('encoder.down.0.block.0.conv1.weight')) {
    return new RenamedTensorFile(file, ldmVaeMap(names, ''), 'vae');
  }
  if (names.includes('encoder.down_blocks.0.resnets.0.conv1.weight')) return file;
  throw new Error(
    `${file.path}: no VAE in this file (expected '${VAE_PREFIX}encoder.*', 'encoder.down.*' or 'encoder.down_blocks.*' tensors)`,
  );
}

function textView(file: TensorFile, names: string[]): { view: RenamedTensorFile; openClip: boolean } {
  if (names.some((n) => n.startsWith(CLIP_PREFIX))) {
    return {
      view: new RenamedTensorFile(file, ldmClipTextMap(names, CLIP_PREFIX), 'text encoder'),
      openClip: false,
    };
  }
  if (names.some((n) => n.startsWith(OPEN_CLIP_PREFIX))) {
    // SD v2 conditions on the penultimate block: diffusers' text encoder keeps all but the last.
    const layers = openClipLayerCount(names, OPEN_CLIP_PREFIX) - 1;
    return {
      view: new RenamedTensorFile(file, openClipTextMap(file, OPEN_CLIP_PREFIX, layers), 'text encoder'),
      openClip: true,
    };
  }
  throw new Error(
    `${file.path}: no text encoder in this file (no '${CLIP_PREFIX}*' or '${OPEN_CLIP_PREFIX}*' tensors)`,
  );
}

/** CLIP's BPE tokenizer as shipped in weights/ (SD v1 and v2 use it; see its README). */
export function shippedClipTokenizer(): string {
  return path.join(packageRoot(), 'weights', 'clip-tokenizer');
}

/** The tokenizer directory of a single-file conversion: --tokenizer, the --config directory's, or the shipped one. */
export function resolveTokenizer(options: SingleFileOptions): string {
  const candidates = [options.tokenizerDir, options.configDir && path.join(options.configDir, 'tokenizer')];
  for (const dir of candidates) {
    if (!dir) continue;
    if (!fs.existsSync(path.join(dir, 'vocab.json')) || !fs.existsSync(path.join(dir, 'merges.txt'))) {
      throw new Error(`${dir}: not a CLIP tokenizer directory (expected vocab.json and merges.txt)`);
    }
    return dir;
  }
  return shippedClipTokenizer();
}

/**
 * A Stable Diffusion v1.x / v2.x single-file checkpoint (.safetensors, or .ckpt read without executing pickle code)
 * in the original LDM layout: UNet under `model.diffusion_model.`, VAE under `first_stage_model.`, text encoder under
 * `cond_stage_model.transformer.` (v1, CLIP) or `cond_stage_model.model.` (v2, OpenCLIP). The architecture is read
 * from the tensors (see ldmConfigs.ts) unless `configDir` gives diffusers configs.
 */
export async function singleFileSource(
  file: string,
  options: SingleFileOptions = {},
): Promise<StableDiffusionSource & { kind: SingleFileKind }> {
  const log = options.log ?? (() => undefined);
  const checkpoint = await openTensorFile(file);
  let vaeFile: TensorFile | null = null;
  try {
    const names = checkpoint.names();
    const unet = unetView(checkpoint, names, options.ema, log);
    const text = textView(checkpoint, names);
    let vae: TensorFile;
    if (options.vae) {
      vaeFile = await openTensorFile(vaeWeightFile(options.vae));
      vae = vaeView(vaeFile, vaeFile.names());
    } else {
      vae = vaeView(checkpoint, names);
    }
    const kind: SingleFileKind = text.openClip ? 'sd-v2' : 'sd-v1';
    const predictionType: PredictionType =
      options.predictionType ?? (kind === 'sd-v2' ? 'v_prediction' : 'epsilon');
    if (kind === 'sd-v2' && !options.predictionType && !options.configDir) {
      log(
        'SD v2 checkpoint: assuming v-prediction at 768 px (the 768-v models); pass --prediction-type epsilon for the 512-base ones',
      );
    }
    const imageSize = predictionType === 'v_prediction' ? 768 : 512;
    const tokenizerDir = resolveTokenizer(options);
    const inferredSource = `${file} (inferred from its tensors)`;
    const configs = options.configDir
      ? diffusersConfigs(options.configDir)
      : {
          unet: { raw: inferUnetConfig(unet, imageSize), source: inferredSource },
          vae: { raw: inferVaeConfig(vae, imageSize), source: inferredSource },
          text_encoder: { raw: inferTextConfig(text.view, text.openClip), source: inferredSource },
          scheduler: { raw: standardSchedulerConfig(predictionType), source: inferredSource },
        };
    if (options.configDir && options.predictionType) {
      configs.scheduler = {
        ...configs.scheduler,
        raw: { ...configs.scheduler.raw, prediction_type: options.predictionType },
      };
    }
    const views: Record<'unet' | 'vae' | 'text_encoder', TensorFile> = { unet, vae, text_encoder: text.view };
    const heldVae = vaeFile;
    return {
      kind,
      description: path.resolve(file),
      configs,
      tokenizerDir,
      // The views share the open files: closing the weights must not close them (the source's close() does).
      weights: async (component) => CheckpointWeights.fromFiles([unclosedView(views[component])]),
      // OpenCLIP's tokenizer pads with '!' (id 0), not with the end token; diffusers' SD v2 tokenizer says so.
      tokenizerConfig: text.openClip && !options.configDir ? { pad_token: '!' } : undefined,
      close: () => {
        checkpoint.close();
        heldVae?.close();
      },
    };
  } catch (error) {
    checkpoint.close();
    vaeFile?.close();
    throw error;
  }
}

/** The weight file of a VAE: the file itself, or the weights of a diffusers vae/ folder. */
export function vaeWeightFile(vae: string): string {
  if (!fs.existsSync(vae)) throw new Error(`${vae}: file not found`);
  if (!fs.statSync(vae).isDirectory()) return vae;
  const file = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin']
    .map((f) => path.join(vae, f))
    .find((f) => fs.existsSync(f));
  if (!file)
    throw new Error(`${vae}: not a diffusers VAE folder (no diffusion_pytorch_model.safetensors or .bin)`);
  return file;
}
