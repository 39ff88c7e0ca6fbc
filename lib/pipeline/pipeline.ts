import { BackendChoice, StartedBackend, startBackend } from '../backend';
import { readAestheticHead } from '../losses/aestheticHeadFile';
import { ArcfaceModel } from '../models/arcfaceModel';
import { ClipModel } from '../models/clipModel';
import { ControlNetModel } from '../models/controlNetModel';
import { ImageClassifier } from '../models/imageClassifier';
import { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import { sagManifestFormat } from '../models/sagManifestFile';
import { StableDiffusionModels } from '../models/stableDiffusionModels';
import { generateOptionsFromJson } from '../options/optionsJson';
import { embeddedModelDir } from './embeddedModels';
import { Generator, GeneratorModels } from './generation';
import { withInputName } from './inputName';
import { readOptionImageFile } from './optionImageFile';

export type { GenerateCallbacks, GenerateResult, GenerateRunOptions } from './generation';

export interface PipelineOptions {
  /** A `sag convert sd` directory or a pixel diffusion directory; default: the embedded digit model. */
  model?: string;
  /** A `sag convert vae` directory whose VAE replaces the Stable Diffusion model's. */
  vae?: string;
  /** A `sag convert controlnet` directory; its condition image is the `control` generation option. */
  controlnet?: string;
  clip?: string;
  arcface?: string;
  aestheticHead?: string;
  pickscore?: string;
  hps?: string;
  /** An image classifier directory (class / classifier-style guidance); default for pixel models: the embedded one. */
  classifier?: string;
  backend?: BackendChoice;
  /** Print the chosen backend (default true). */
  announceBackend?: boolean;
}

/**
 * Models loaded from directories and the backend started (Node); call generate() any number of times, dispose()
 * once. Option images are files.
 */
export class Pipeline extends Generator {
  private constructor(
    readonly backend: StartedBackend,
    models: Omit<GeneratorModels, 'backendName' | 'readImage'>,
  ) {
    super({ ...models, backendName: backend.name, readImage: readOptionImageFile });
  }

  static async load(options: PipelineOptions = {}): Promise<Pipeline> {
    const backend = await startBackend(options.backend ?? 'auto', { announce: options.announceBackend });
    const modelDir = options.model ?? embeddedModelDir('digit-unet');
    const format = withInputName('--model', () => sagManifestFormat(modelDir));
    if (format !== 'sag-stable-diffusion' && format !== 'sag-pixel-diffusion')
      throw new Error(
        `--model ${modelDir}: a '${format}' directory is not a diffusion model (expected 'sag-stable-diffusion' or 'sag-pixel-diffusion')`,
      );
    if (options.vae && format !== 'sag-stable-diffusion') {
      throw new Error(
        `--vae ${options.vae}: only Stable Diffusion models have a VAE (--model ${modelDir} is a pixel model)`,
      );
    }
    const sd =
      format === 'sag-stable-diffusion'
        ? await StableDiffusionModels.load(modelDir, { vae: options.vae })
        : null;
    const pixel = format === 'sag-pixel-diffusion' ? await PixelDiffusionModel.load(modelDir) : null;
    const controlnet = options.controlnet ? await loadControlNetFor(sd, options.controlnet, modelDir) : null;
    const modelDefaults = generateOptionsFromJson(
      pixel?.manifest.defaults ?? {},
      `--model ${modelDir}: sag.json defaults`,
    );
    // The embedded classifier guides the embedded model by default; a --classifier that is not there is an error.
    const classifierDir = options.classifier ?? (pixel ? embeddedModelDir('digit-classifier') : undefined);
    return new Pipeline(backend, {
      sd,
      pixel,
      clip: options.clip ? await ClipModel.load(options.clip) : null,
      arcface: options.arcface ? await ArcfaceModel.load(options.arcface) : null,
      classifier: classifierDir
        ? await withInputName('--classifier', () => ImageClassifier.load(classifierDir))
        : null,
      extras: {
        aestheticHead: options.aestheticHead ? await readAestheticHead(options.aestheticHead) : null,
        pickscore: options.pickscore ? await ClipModel.load(options.pickscore) : null,
        hps: options.hps ? await ClipModel.load(options.hps) : null,
      },
      modelDefaults,
      controlnet,
    });
  }

  dispose(): void {
    for (const m of [
      this.sd,
      this.pixel,
      this.clip,
      this.arcface,
      this.classifier,
      this.extras.pickscore,
      this.extras.hps,
      this.controlnet,
    ])
      m?.dispose();
  }
}

/** A ControlNet for the Stable Diffusion model `sd`, checked against its UNet. */
async function loadControlNetFor(
  sd: StableDiffusionModels | null,
  dir: string,
  modelDir: string,
): Promise<ControlNetModel> {
  if (!sd)
    throw new Error(
      `--controlnet ${dir}: only Stable Diffusion models take a ControlNet (--model ${modelDir})`,
    );
  const net = await withInputName('--controlnet', () => ControlNetModel.load(dir));
  const fail = (why: string): never => {
    net.dispose();
    throw new Error(`--controlnet ${dir}: ${why}`);
  };
  if (!sd.unetTakesResiduals) {
    fail(
      `the UNet of --model ${modelDir} takes no ControlNet residuals (converted by an older sag): convert it again`,
    );
  }
  const given = net.manifest.residualChannels;
  const expected = sd.unetResidualChannels();
  if (
    JSON.stringify(given) !== JSON.stringify(expected) ||
    net.manifest.crossAttentionDim !== sd.manifest.crossAttentionDim
  ) {
    fail(
      `made for another UNet (residual channels ${JSON.stringify(given)}, text width ${net.manifest.crossAttentionDim}; --model ${modelDir} has ${JSON.stringify(expected)}, ${sd.manifest.crossAttentionDim})`,
    );
  }
  if (net.manifest.conditionDownscale !== sd.vaeDownscale) {
    fail(
      `its condition images are ${net.manifest.conditionDownscale}x the latent size, the model's images ${sd.vaeDownscale}x`,
    );
  }
  return net;
}

/** Loads the models and starts the backend: `const p = await loadPipeline({ model, clip }); await p.generate({...})`. */
export function loadPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  return Pipeline.load(options);
}
