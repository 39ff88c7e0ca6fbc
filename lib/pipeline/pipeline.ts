import { NetworkCalls, countingDenoiser } from '../guidance/countingDenoiser';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice, StartedBackend, startBackend } from '../backend';
import { readNumbers } from '../backend/readTensor';
import { Denoiser } from '../guidance/denoiser';
import { StepRecord, runGuidedSampling } from '../guidance/guidedSampling';
import { AestheticHead, readAestheticHead } from '../losses/aestheticHead';
import { ImageLoss, lossPerImage } from '../losses/imageLoss';
import { ArcfaceModel } from '../models/arcfaceModel';
import { ClipModel } from '../models/clipModel';
import { ControlNetModel } from '../models/controlNetModel';
import { ImageClassifier } from '../models/imageClassifier';
import { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import { sagManifestFormat } from '../models/sagManifest';
import { useVjpGraphs } from '../models/vjpGraphSwitch';
import { StableDiffusionModels } from '../models/stableDiffusionModels';
import { GenerateOptions, optionSpec } from '../options/generateOptions';
import { EULER } from '../ode/tableaus';
import { usesOneStepEstimate } from '../guidance/guidanceSettings';
import { generateOptionsFromJson } from '../options/optionsJson';
import { InvalidOptionError } from '../options/invalidOption';
import { resolveGenerateOptions } from '../options/resolveGenerateOptions';
import { createSampler } from '../samplers';
import { SeededNoise } from '../samplers/seededNoise';
import { embeddedModelDir } from './embeddedModels';
import { LossModels, buildGuidanceLoss, optionImage } from './guidanceLoss';
import { PerImageInputs, initialSample } from './initialSample';
import { withInputName } from './inputName';
import { LatentDenoiser } from './latentDenoiser';
import { PixelDenoiser } from './pixelDenoiser';
import { ResourcePeaks } from './resourcePeaks';
import { guidanceSettingsFor } from './runSettings';

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

export interface GenerateCallbacks {
  onStep?: (record: StepRecord, done: number, total: number) => void;
  onWarning?: (message: string) => void;
}

export interface GenerateRunOptions extends GenerateCallbacks {
  /** Inputs that differ per image (init and condition images, e.g. the frames of a video), and shared noise. */
  perImage?: PerImageInputs;
  /**
   * Measure each step's model / guidance split (StepRecord.epsMs, guidanceMs). Default: on where it is free
   * (cpu, wasm, tensorflow); on webgpu it costs two device waits per step, so it is off unless asked for.
   */
  splitTiming?: boolean;
}

export interface GenerateResult {
  /** Images [num, H, W, C] in [0, 1]; the caller owns them. */
  images: tf.Tensor4D;
  /** Final guidance loss of each image (empty when unguided). */
  finalLosses: number[];
  records: StepRecord[];
  timings: Record<string, number>;
  /** Highest tfjs tensor memory seen between steps, and the process's peak resident set. */
  memory: { peakTensorBytes: number; peakRssBytes: number };
  /** Model evaluations of the whole run (the decode and the final loss not included). */
  networkCalls: NetworkCalls;
  options: GenerateOptions;
  backend: string;
}

/** Loaded models and the backend; call generate() any number of times, dispose() once. */
export class Pipeline {
  private constructor(
    readonly backend: StartedBackend,
    readonly sd: StableDiffusionModels | null,
    readonly pixel: PixelDiffusionModel | null,
    readonly clip: ClipModel | null,
    readonly arcface: ArcfaceModel | null,
    readonly classifier: ImageClassifier | null,
    readonly extras: {
      aestheticHead: AestheticHead | null;
      pickscore: ClipModel | null;
      hps: ClipModel | null;
    },
    /** Generation defaults recommended by the model directory (sag.json `defaults`), e.g. a gentler rho. */
    readonly modelDefaults: Partial<GenerateOptions>,
    readonly controlnet: ControlNetModel | null = null,
  ) {}

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
    return new Pipeline(
      backend,
      sd,
      pixel,
      options.clip ? await ClipModel.load(options.clip) : null,
      options.arcface ? await ArcfaceModel.load(options.arcface) : null,
      classifierDir ? await withInputName('--classifier', () => ImageClassifier.load(classifierDir)) : null,
      {
        aestheticHead: options.aestheticHead ? await readAestheticHead(options.aestheticHead) : null,
        pickscore: options.pickscore ? await ClipModel.load(options.pickscore) : null,
        hps: options.hps ? await ClipModel.load(options.hps) : null,
      },
      modelDefaults,
      controlnet,
    );
  }

  /** Default image size of the loaded model. */
  get defaultSize(): [number, number] {
    if (this.pixel) return [this.pixel.imageSize, this.pixel.imageSize];
    const s = (this.sd as StableDiffusionModels).manifest.imageSize;
    return [s, s];
  }

  /** The networks the guidance losses are built on. */
  get lossModels(): LossModels {
    return { clip: this.clip, arcface: this.arcface, classifier: this.classifier, ...this.extras };
  }

  /**
   * 1. The run's options: defaults, the model's recommendations, the caller's values; validated. A pixel model
   * has no classifier-free guidance, so its CFG scale is 1 whatever was asked.
   */
  resolveOptions(partial: Partial<GenerateOptions>, warn: (message: string) => void): GenerateOptions {
    const o = resolveGenerateOptions(partial, this.modelDefaults);
    if (this.pixel) {
      if (partial.cfg !== undefined && partial.cfg !== 1)
        warn(`this model has no classifier-free guidance: --cfg ${partial.cfg} is ignored`);
      if (o.prompt) warn('this model is unconditional: the prompt is ignored');
      o.cfg = 1;
    }
    // Record the estimate that runs, not an unused default.
    if (usesOneStepEstimate(o.method)) {
      if (partial.n !== undefined && partial.n !== 1)
        warn(
          `--n ${optionSpec('n').show(partial.n)} is ignored: ${o.method} uses the one-step estimate (n = 1)`,
        );
      o.n = 1;
      o.tableau = EULER;
    }
    return o;
  }

  private textEmbeddings(prompt: string, batch: number, warn: (m: string) => void): tf.Tensor {
    const sd = this.sd as StableDiffusionModels;
    const encoded = sd.tokenizer.encode(prompt);
    if (encoded.truncated > 0)
      warn(
        `prompt is longer than ${sd.tokenizer.maxLength} tokens: the last ${encoded.truncated} tokens were dropped`,
      );
    return tf.tidy(() => {
      const ids = tf.tensor2d([encoded.ids], [1, encoded.ids.length], 'int32');
      return tf.tile(sd.encodeTokens(ids), [batch, 1, 1]);
    });
  }

  /** 2. The model as the sampling loop sees it (text encoded for latent models); the caller disposes it. */
  createDenoiser(
    o: GenerateOptions,
    warn: (m: string) => void,
    controlImages?: tf.Tensor4D,
  ): Denoiser & { dispose(): void } {
    if ((controlImages || o.control) && !this.controlnet) {
      throw new InvalidOptionError('control', 'a condition image needs a ControlNet (--controlnet <dir>)');
    }
    if (this.sd) {
      const cond = this.textEmbeddings(o.prompt, o.num, warn);
      const uncond = this.textEmbeddings(o.negativePrompt, o.num, warn);
      const size = o.size ?? this.defaultSize;
      const condition = controlImages
        ? tf.tidy(() => tf.image.resizeBilinear(controlImages, size, true))
        : o.control
          ? optionImage('control', o.control, size)
          : null;
      const control =
        this.controlnet && condition ? { net: this.controlnet, condition, scale: o.controlScale } : null;
      return new LatentDenoiser(this.sd, cond, uncond, o.cfg, useVjpGraphs(), control);
    }
    const pixel = this.pixel as PixelDiffusionModel;
    return new PixelDenoiser(pixel.unet, pixel.schedule, pixel.channels, pixel.imageSize);
  }

  /**
   * One run: options, denoiser, loss, start sample, guided sampling, decoding, the final loss of each image.
   * The caller owns `images` of the result.
   */
  async generate(
    partial: Partial<GenerateOptions>,
    callbacks: GenerateRunOptions = {},
  ): Promise<GenerateResult> {
    const warn = callbacks.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    const o = this.resolveOptions(partial, warn);
    const settings = guidanceSettingsFor(o);
    for (const [name, images] of Object.entries({
      initImages: callbacks.perImage?.initImages,
      controlImages: callbacks.perImage?.controlImages,
    })) {
      if (images && images.shape[0] !== o.num)
        throw new InvalidOptionError('num', `${images.shape[0]} ${name} for ${o.num} images`);
    }
    const unet = this.sd?.unetGraph ?? this.pixel?.unet;
    if (
      settings.method !== 'none' &&
      this.controlnet &&
      (o.control || callbacks.perImage?.controlImages) &&
      useVjpGraphs() &&
      !(this.sd?.unetControlledVjpGraph && this.controlnet.hasVjpGraph)
    )
      warn(
        'the UNet or the ControlNet has no VJP graph for guidance through both (converted by an older sag or with --no-vjp-graph): tf.grad is used, with more memory; convert them again',
      );
    else if (settings.method !== 'none' && unet && !unet.vjpGraph && useVjpGraphs())
      warn(
        `${unet.dir} has no VJP graph (converted by an older sag or with --no-vjp-graph): guidance differentiates the UNet with tf.grad, about 10x the memory; convert the model again to get one`,
      );
    const timings: Record<string, number> = {};
    const time = <T>(phase: string, fn: () => T): T => {
      const start = performance.now();
      try {
        return fn();
      } finally {
        timings[phase] = (timings[phase] ?? 0) + performance.now() - start;
      }
    };
    const held: { dispose(): void }[] = [];
    try {
      const { denoiser, calls } = countingDenoiser(
        this.sd
          ? time('text', () => this.createDenoiser(o, warn, callbacks.perImage?.controlImages))
          : this.createDenoiser(o, warn, callbacks.perImage?.controlImages),
      );
      held.push(denoiser);
      // Built even for method 'none' so that unguided images report the same loss (comparison grids).
      const loss = time('setup', () => buildGuidanceLoss(this.lossModels, o));
      if (loss) held.push(loss);
      const size = o.size ?? this.defaultSize;
      const sampler = createSampler(o.sampler, denoiser.schedule, o.steps);
      const noise = new SeededNoise(o.seed);
      const start = initialSample(
        denoiser,
        sampler,
        noise,
        denoiser.sampleShape(o.num, size[0], size[1]),
        { ...o, size },
        callbacks.perImage,
      );
      held.push(start.x);
      const resources = new ResourcePeaks();
      let divergenceWarned = false;
      const samplingBegin = performance.now();
      const { sample, records } = await runGuidedSampling(
        {
          denoiser,
          sampler,
          settings,
          lossOnSample: (x0) => (loss as ImageLoss)(denoiser.toImage(x0)),
          noise,
          startStep: start.startStep,
          splitTiming: callbacks.splitTiming ?? this.backend.name !== 'webgpu',
          onStep: (record, done, total) => {
            if (!divergenceWarned && record.updateRms !== null && record.updateRms > record.sampleRms) {
              divergenceWarned = true;
              warn(
                `main step ${record.step}: the guidance update (RMS ${record.updateRms.toPrecision(3)}) is larger than the sample it changes (RMS ${record.sampleRms.toPrecision(3)}): the run is diverging; lower --rho-scale`,
              );
            }
            resources.sample();
            callbacks.onStep?.(record, done, total);
          },
        },
        start.x,
      );
      timings.sampling = performance.now() - samplingBegin;
      if (records.every((r) => r.epsMs !== null && r.guidanceMs !== null)) {
        timings['sampling: model'] = records.reduce((sum, r) => sum + (r.epsMs ?? 0), 0);
        timings['sampling: guidance'] = records.reduce((sum, r) => sum + (r.guidanceMs ?? 0), 0);
      }
      const images = time('decode', () => denoiser.toImage(sample));
      sample.dispose();
      let finalLosses: number[] = [];
      if (loss) {
        const finalLossBegin = performance.now();
        const perImage = lossPerImage(loss, images);
        finalLosses = await readNumbers(perImage).finally(() => perImage.dispose());
        timings['final loss'] = performance.now() - finalLossBegin;
      }
      resources.sample();
      return {
        images,
        finalLosses,
        records,
        timings,
        memory: resources.peaks,
        networkCalls: { ...calls },
        options: o,
        backend: this.backend.name,
      };
    } finally {
      for (const h of held) h.dispose();
    }
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
