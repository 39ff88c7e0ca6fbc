import * as tf from '@tensorflow/tfjs';
import { parseGradientMethod } from '../adjoint';
import { BackendChoice, StartedBackend, startBackend } from '../backend';
import { readNumbers } from '../backend/readTensor';
import { GuidanceSettings, parseStepCountSchedule, parseWindow } from '../guidance/guidanceSettings';
import { StepRecord, runGuidedSampling } from '../guidance/guidedSampling';
import { imageFileToTensor } from '../io/imageFile';
import { AestheticHead, readAestheticHead } from '../losses/aestheticHead';
import { createAestheticLoss } from '../losses/aestheticLoss';
import { createClassifierLoss, createClassifierStyleLoss } from '../losses/classifierLoss';
import { createClipScoreLoss } from '../losses/clipScoreLoss';
import { createFaceIdLoss } from '../losses/faceIdLoss';
import { ImageLoss, weightedSum } from '../losses/imageLoss';
import { createObjectLoss } from '../losses/objectLoss';
import { createStyleLoss } from '../losses/styleLoss';
import { ArcfaceModel } from '../models/arcfaceModel';
import { ClipModel } from '../models/clipModel';
import { ImageClassifier } from '../models/imageClassifier';
import { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import { StableDiffusionModels } from '../models/stableDiffusionModels';
import { tableauByName } from '../ode/tableaus';
import { createSampler } from '../samplers';
import { Denoiser } from '../guidance/denoiser';
import { sagManifestFormat } from '../models/sagManifest';
import { embeddedModelDir } from './embeddedModels';
import { withInputName } from './inputName';
import { DEFAULT_GENERATE_OPTIONS, GenerateOptions, LossKind } from './generateOptions';
import { LatentDenoiser } from './latentDenoiser';
import { PixelDenoiser } from './pixelDenoiser';
import { SeededNoise } from '../samplers/seededNoise';

export interface PipelineOptions {
  /** A `sag convert sd` directory or a pixel diffusion directory; default: the embedded digit model. */
  model?: string;
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
  ) {}

  static async load(options: PipelineOptions = {}): Promise<Pipeline> {
    const backend = await startBackend(options.backend ?? 'auto', { announce: options.announceBackend });
    const modelDir = options.model ?? embeddedModelDir('digit-unet');
    const format = withInputName('--model', () => sagManifestFormat(modelDir));
    if (format !== 'sag-stable-diffusion' && format !== 'sag-pixel-diffusion')
      throw new Error(
        `--model ${modelDir}: a '${format}' directory is not a diffusion model (expected 'sag-stable-diffusion' or 'sag-pixel-diffusion')`,
      );
    const sd = format === 'sag-stable-diffusion' ? await StableDiffusionModels.load(modelDir) : null;
    const pixel = format === 'sag-pixel-diffusion' ? await PixelDiffusionModel.load(modelDir) : null;
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
    );
  }

  /** Generation defaults recommended by the model directory (sag.json `defaults`), e.g. a gentler rho. */
  get modelDefaults(): Partial<GenerateOptions> {
    return (this.pixel?.manifest.defaults ?? {}) as Partial<GenerateOptions>;
  }

  /** Default image size of the loaded model. */
  get defaultSize(): [number, number] {
    if (this.pixel) return [this.pixel.imageSize, this.pixel.imageSize];
    const s = (this.sd as StableDiffusionModels).manifest.imageSize;
    return [s, s];
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

  private loadReference(file: string, size?: [number, number]): tf.Tensor4D {
    return imageFileToTensor(file, 3, size);
  }

  private buildLoss(kind: LossKind, o: GenerateOptions): ImageLoss {
    const need = <T>(model: T | null, flag: string): T => {
      if (!model) throw new Error(`--guidance ${kind} needs ${flag}`);
      return model;
    };
    switch (kind) {
      case 'style': {
        if (!o.style) throw new Error('--guidance style needs --style <image>');
        const image = this.loadReference(o.style);
        try {
          if (this.clip) return createStyleLoss(this.clip, image, o.styleLayer);
          return createClassifierStyleLoss(
            need(this.classifier, '--clip <dir> (or a classifier for pixel models)'),
            image,
          );
        } finally {
          image.dispose();
        }
      }
      case 'clip':
        return createClipScoreLoss(need(this.clip, '--clip <dir>'), o.target ?? o.prompt);
      case 'object': {
        const refs = o.ref.map((r) => this.loadReference(r));
        try {
          return createObjectLoss(need(this.clip, '--clip <dir>'), refs);
        } finally {
          tf.dispose(refs);
        }
      }
      case 'face': {
        if (o.ref.length === 0) throw new Error('--guidance face needs --ref <face image>');
        const face = this.loadReference(o.ref[0]);
        try {
          return createFaceIdLoss(need(this.arcface, '--arcface <dir>'), face);
        } finally {
          face.dispose();
        }
      }
      case 'aesthetic': {
        const head = this.extras.aestheticHead;
        return createAestheticLoss(
          {
            head: head
              ? {
                  clip: need(this.clip, '--clip <dir> (the CLIP model of the aesthetic head)'),
                  head,
                  weight: 0.5,
                }
              : undefined,
            pickScore: this.extras.pickscore ? { clip: this.extras.pickscore, weight: 10 } : undefined,
            hps: this.extras.hps ? { clip: this.extras.hps, weight: 2 } : undefined,
          },
          o.prompt,
        );
      }
      case 'class': {
        const target = Number(o.target);
        if (o.target === null || !Number.isInteger(target))
          throw new Error(`--target: class guidance needs a class index, got '${o.target}'`);
        return createClassifierLoss(need(this.classifier, '--classifier <dir>'), target);
      }
    }
  }

  async generate(
    partial: Partial<GenerateOptions>,
    callbacks: GenerateRunOptions = {},
  ): Promise<GenerateResult> {
    const o: GenerateOptions = {
      ...DEFAULT_GENERATE_OPTIONS,
      ...this.modelDefaults,
      ...definedOnly(partial),
    };
    const warn = callbacks.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    if (!Number.isInteger(o.num) || o.num < 1)
      throw new Error(`--num: expected an integer >= 1, got ${o.num}`);
    if (!Number.isInteger(o.repeats) || o.repeats < 1)
      throw new Error(`--repeats: expected an integer >= 1, got ${o.repeats}`);
    if (!(o.rhoScale >= 0)) throw new Error(`--rho-scale: expected a number >= 0, got ${o.rhoScale}`);
    if (!(o.rhoMax > 0)) throw new Error(`--rho-max: expected a number > 0, got ${o.rhoMax}`);
    if (!(o.strength > 0 && o.strength <= 1))
      throw new Error(`--strength: expected a number in (0, 1], got ${o.strength}`);
    assertReferencesAreUsed(o);
    if (this.pixel && partial.cfg !== undefined && partial.cfg !== 1)
      warn(`this model has no classifier-free guidance: --cfg ${partial.cfg} is ignored`);
    if (this.pixel) o.cfg = 1;
    const timings: Record<string, number> = {};
    const time = <T>(phase: string, fn: () => T): T => {
      const start = performance.now();
      try {
        return fn();
      } finally {
        timings[phase] = (timings[phase] ?? 0) + performance.now() - start;
      }
    };
    const size = o.size ?? this.defaultSize;
    const settings: GuidanceSettings = {
      method: o.guidance.length === 0 ? 'none' : o.method,
      n: parseStepCountSchedule(o.n),
      tableau: tableauByName(o.tableau),
      grad: parseGradientMethod(o.grad),
      grid: o.grid,
      window: parseWindow(o.window, o.steps),
      repeats: o.repeats,
      rho: { mode: o.rhoMode, scale: o.rhoScale, max: o.rhoMax },
    };
    const held: { dispose(): void }[] = [];
    try {
      let denoiser: Denoiser;
      if (this.sd) {
        const cond = time('text', () => this.textEmbeddings(o.prompt, o.num, warn));
        const uncond = time('text', () => this.textEmbeddings(o.negativePrompt, o.num, warn));
        const latent = new LatentDenoiser(this.sd, cond, uncond, o.cfg);
        held.push(latent);
        denoiser = latent;
      } else {
        const pixel = this.pixel as PixelDiffusionModel;
        if (o.prompt) warn('this model is unconditional: the prompt is ignored');
        denoiser = new PixelDenoiser(pixel.unet, pixel.schedule, pixel.channels, pixel.imageSize);
      }
      // Built even for method 'none' so that unguided images report the same loss (comparison grids).
      const loss =
        o.guidance.length === 0
          ? null
          : time('setup', () =>
              weightedSum(
                o.guidance.map((k) => ({ loss: this.buildLoss(k, o), weight: o.lossWeights[k] ?? 1 })),
              ),
            );
      if (loss) held.push(loss);
      const lossOnSample = (x0: tf.Tensor) => (loss as ImageLoss)(denoiser.toImage(x0));
      const sampler = createSampler(o.sampler, denoiser.schedule, o.steps);
      const noise = new SeededNoise(o.seed);
      const shape = denoiser.sampleShape(o.num, size[0], size[1]);
      let startStep = 0;
      let xT = noise.normal(shape);
      if (o.initImage) {
        startStep = Math.min(o.steps - 1, Math.floor(o.steps * (1 - o.strength)));
        const abar = sampler.abarAt(startStep);
        const init = imageFileToTensor(o.initImage, 3, size);
        const noised = tf.tidy(() => {
          const x0 = denoiser.fromImage(init);
          return tf.add(
            tf.mul(tf.tile(x0, [o.num, 1, 1, 1]), Math.sqrt(abar)),
            tf.mul(xT, Math.sqrt(1 - abar)),
          );
        });
        tf.dispose([init, xT]);
        xT = noised;
      }
      let peakTensorBytes = tf.memory().numBytes;
      let peakRss = process.memoryUsage().rss;
      let divergenceWarned = false;
      const samplingBegin = performance.now();
      const { sample, records } = await runGuidedSampling(
        {
          denoiser,
          sampler,
          settings,
          lossOnSample,
          noise,
          startStep,
          splitTiming: callbacks.splitTiming ?? this.backend.name !== 'webgpu',
          onStep: (record, done, total) => {
            if (!divergenceWarned && record.updateRms !== null && record.updateRms > record.sampleRms) {
              divergenceWarned = true;
              warn(
                `main step ${record.step}: the guidance update (RMS ${record.updateRms.toPrecision(3)}) is larger than the sample it changes (RMS ${record.sampleRms.toPrecision(3)}): the run is diverging; lower --rho-scale`,
              );
            }
            peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
            peakRss = Math.max(peakRss, process.memoryUsage().rss);
            callbacks.onStep?.(record, done, total);
          },
        },
        xT,
      );
      timings.sampling = performance.now() - samplingBegin;
      xT.dispose();
      if (records.every((r) => r.epsMs !== null && r.guidanceMs !== null)) {
        timings['sampling: model'] = records.reduce((sum, r) => sum + (r.epsMs ?? 0), 0);
        timings['sampling: guidance'] = records.reduce((sum, r) => sum + (r.guidanceMs ?? 0), 0);
      }
      const images = time('decode', () => denoiser.toImage(sample));
      sample.dispose();
      const finalLossBegin = performance.now();
      let finalLosses: number[] = [];
      if (loss) {
        const perImage = finalLossPerImage(loss, images);
        finalLosses = await readNumbers(perImage).finally(() => perImage.dispose());
      }
      if (loss) timings['final loss'] = performance.now() - finalLossBegin;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      return {
        images,
        finalLosses,
        records,
        timings,
        memory: { peakTensorBytes, peakRssBytes: peakRss },
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
    ])
      m?.dispose();
  }
}

/** The loss of each image on its own, as a [num] tensor (caller owns it). */
function finalLossPerImage(loss: ImageLoss, images: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.stack(
        Array.from({ length: images.shape[0] }, (_, b) =>
          loss(tf.slice(images, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D),
        ),
      ) as tf.Tensor1D,
  );
}

/**
 * Reference flags only mean something for the losses that read them; given without such a loss they would be
 * silently ignored, so they are an error.
 */
function assertReferencesAreUsed(o: GenerateOptions): void {
  const uses = (...kinds: LossKind[]) => kinds.some((k) => o.guidance.includes(k));
  if (o.target !== null && !uses('class', 'clip'))
    throw new Error(
      `--target ${o.target} is only used by --guidance class or clip (got ${o.guidance.length ? `--guidance ${o.guidance.join(',')}` : 'no --guidance'})`,
    );
  if (o.style && !uses('style'))
    throw new Error(`--style ${o.style} is only used by --guidance style (add it, or use 'sag stylize')`);
  if (o.ref.length > 0 && !uses('object', 'face'))
    throw new Error(`--ref ${o.ref[0]} is only used by --guidance object or face`);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Loads the models and starts the backend: `const p = await loadPipeline({ model, clip }); await p.generate({...})`. */
export function loadPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  return Pipeline.load(options);
}
