import * as tf from '@tensorflow/tfjs';
import { readNumbers } from '../backend/readTensor';
import { NetworkCalls, countingDenoiser } from '../guidance/countingDenoiser';
import { Denoiser } from '../guidance/denoiser';
import { usesOneStepEstimate } from '../guidance/guidanceSettings';
import { StepRecord, runGuidedSampling } from '../guidance/guidedSampling';
import type { AestheticHead } from '../losses/aestheticHead';
import { ImageLoss, lossPerImage } from '../losses/imageLoss';
import type { ArcfaceModel } from '../models/arcfaceModel';
import type { ClipModel } from '../models/clipModel';
import type { ControlNetModel } from '../models/controlNetModel';
import type { ImageClassifier } from '../models/imageClassifier';
import type { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import type { StableDiffusionModels } from '../models/stableDiffusionModels';
import { useVjpGraphs } from '../models/vjpGraphSwitch';
import { EULER } from '../ode/tableaus';
import { GenerateOptions, optionSpec } from '../options/generateOptions';
import { InvalidOptionError } from '../options/invalidOption';
import { generateOptionsFromJson } from '../options/optionsJson';
import { resolveGenerateOptions } from '../options/resolveGenerateOptions';
import { createSampler } from '../samplers';
import { SeededNoise } from '../samplers/seededNoise';
import { LossModels, buildGuidanceLoss } from './guidanceLoss';
import { PerImageInputs, initialSample } from './initialSample';
import { LatentDenoiser } from './latentDenoiser';
import { OptionImageReader } from './optionImages';
import { PixelDenoiser } from './pixelDenoiser';
import { ResourcePeaks } from './resourcePeaks';
import { guidanceSettingsFor } from './runSettings';
import { PreviewRequest, stepPreviewer } from './stepPreview';

export interface GenerateCallbacks {
  onStep?: (record: StepRecord, done: number, total: number) => void;
  /** Awaited after each step: yield there (e.g. to the event loop) so that a server stays responsive. */
  afterStep?: () => Promise<void>;
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
  /** Per-step images: x_t, the one-step and the n-step estimate (costs n forwards a step unless SAG judges it). */
  preview?: PreviewRequest;
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

/** The loaded networks a generator samples and guides with; null where not loaded. */
export interface GeneratorModels {
  /** tfjs backend in use ('wasm', 'webgpu', ...). */
  backendName: string;
  sd: StableDiffusionModels | null;
  pixel: PixelDiffusionModel | null;
  clip: ClipModel | null;
  arcface: ArcfaceModel | null;
  classifier: ImageClassifier | null;
  extras: { aestheticHead: AestheticHead | null; pickscore: ClipModel | null; hps: ClipModel | null };
  /** Generation defaults recommended by the model (sag.json `defaults`), e.g. a gentler rho. */
  modelDefaults: Partial<GenerateOptions>;
  controlnet: ControlNetModel | null;
  /** How the images that options name (style, ref, initImage, control) are read. */
  readImage: OptionImageReader;
}

/** stderr in Node; the console in a browser. */
function defaultWarning(message: string): void {
  if (typeof process !== 'undefined' && process.stderr) process.stderr.write(`warning: ${message}\n`);
  else console.warn(`warning: ${message}`);
}

/**
 * Guided generation with loaded models: the part of the pipeline that runs the same in Node and in a browser (no
 * file system: models come loaded, images through `readImage`). `Pipeline` loads models from directories and
 * extends it; the browser page builds one from models loaded from URLs. Disposes nothing: the models are the
 * caller's.
 */
export class Generator {
  readonly backendName: string;
  readonly sd: StableDiffusionModels | null;
  readonly pixel: PixelDiffusionModel | null;
  readonly clip: ClipModel | null;
  readonly arcface: ArcfaceModel | null;
  readonly classifier: ImageClassifier | null;
  readonly extras: GeneratorModels['extras'];
  readonly modelDefaults: Partial<GenerateOptions>;
  readonly controlnet: ControlNetModel | null;
  readonly readImage: OptionImageReader;

  constructor(models: GeneratorModels) {
    this.backendName = models.backendName;
    this.sd = models.sd;
    this.pixel = models.pixel;
    this.clip = models.clip;
    this.arcface = models.arcface;
    this.classifier = models.classifier;
    this.extras = models.extras;
    this.modelDefaults = models.modelDefaults;
    this.controlnet = models.controlnet;
    this.readImage = models.readImage;
  }

  /**
   * A generator for a pixel diffusion model guided by an image classifier (the embedded digit models), with the
   * model's recommended defaults (its sag.json).
   */
  static forPixelModel(
    pixel: PixelDiffusionModel,
    classifier: ImageClassifier | null,
    options: { backendName: string; readImage: OptionImageReader },
  ): Generator {
    return new Generator({
      ...options,
      sd: null,
      pixel,
      clip: null,
      arcface: null,
      classifier,
      extras: { aestheticHead: null, pickscore: null, hps: null },
      modelDefaults: generateOptionsFromJson(
        pixel.manifest.defaults ?? {},
        `${pixel.dir}: sag.json defaults`,
      ),
      controlnet: null,
    });
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
      if (partial.tableau !== undefined && partial.tableau !== EULER)
        warn(
          `--tableau ${optionSpec('tableau').show(partial.tableau)} is ignored: ${o.method} uses the one-step estimate, which has no sub-solver`,
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
    perImage: PerImageInputs = {},
  ): Denoiser & { dispose(): void } {
    const { controlImages, crossFrame } = perImage;
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
          ? this.readImage('control', o.control, size)
          : null;
      const control =
        this.controlnet && condition ? { net: this.controlnet, condition, scale: o.controlScale } : null;
      return new LatentDenoiser(this.sd, cond, uncond, o.cfg, useVjpGraphs(), control, crossFrame ?? null);
    }
    const pixel = this.pixel as PixelDiffusionModel;
    return new PixelDenoiser(
      pixel.unet,
      pixel.schedule,
      pixel.channels,
      pixel.imageSize,
      useVjpGraphs(),
      crossFrame ?? null,
    );
  }

  /**
   * One run: options, denoiser, loss, start sample, guided sampling, decoding, the final loss of each image.
   * The caller owns `images` of the result.
   */
  async generate(
    partial: Partial<GenerateOptions>,
    callbacks: GenerateRunOptions = {},
  ): Promise<GenerateResult> {
    const warn = callbacks.onWarning ?? defaultWarning;
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
          ? time('text', () => this.createDenoiser(o, warn, callbacks.perImage))
          : this.createDenoiser(o, warn, callbacks.perImage),
      );
      held.push(denoiser);
      // Built even for method 'none' so that unguided images report the same loss (comparison grids).
      const loss = time('setup', () => buildGuidanceLoss(this.lossModels, o, this.readImage));
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
        this.readImage,
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
          splitTiming: callbacks.splitTiming ?? this.backendName !== 'webgpu',
          onStepTensors: callbacks.preview
            ? stepPreviewer(denoiser, sampler.timesteps, { grid: o.grid, ...callbacks.preview }, o.tableau)
            : undefined,
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
          afterStep: callbacks.afterStep,
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
        backend: this.backendName,
      };
    } finally {
      for (const h of held) h.dispose();
    }
  }
}
