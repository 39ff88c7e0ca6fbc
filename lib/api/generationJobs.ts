import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { encodeImage } from '../io/imageFile';
import { formatParameters } from '../io/generationParameters';
import { withPngText } from '../io/pngText';
import { GenerateOptions } from '../options/generateOptions';
import { packageVersion } from '../packageRoot';
import { GenerationRequest } from './a1111Request';
import { ApiModels } from './apiModels';

class StopRequested extends Error {}

/** What a finished request gives back: one PNG per image that was made, with its infotext. */
export interface GenerationOutcome {
  pngs: Buffer[];
  infotexts: string[];
  seeds: number[];
  /** The options of the first image as sag ran them. */
  options: GenerateOptions | null;
  model: string;
  /** Fields of the request sag did not act on (the request's and those the model made moot). */
  ignored: string[];
  notes: string[];
  interrupted: boolean;
  jobTimestamp: string;
  /** Height and width of the images made. */
  size: [number, number] | null;
}

interface Job {
  request: GenerationRequest;
  resolve: (outcome: GenerationOutcome) => void;
  reject: (error: unknown) => void;
  cancelled: boolean;
}

/** A1111's job timestamp: local time as YYYYMMDDhhmmss. */
function jobTimestamp(): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/**
 * Runs generation requests one at a time, in arrival order, on the current model; keeps the progress A1111's
 * /progress reports, and stops the running request on interrupt (the images made so far are returned) or skips its
 * current image.
 */
export class GenerationJobs {
  private readonly waiting: Job[] = [];
  private running: Job | null = null;
  private state = {
    jobCount: 0,
    jobNo: 0,
    samplingStep: 0,
    samplingSteps: 0,
    interrupted: false,
    skipped: false,
    jobTimestamp: '0',
    startedAt: 0,
  };

  constructor(
    private readonly models: ApiModels,
    private readonly backendName: () => string,
  ) {}

  /** Queues a request; `cancel` drops it if it has not started, or interrupts it if it runs. */
  submit(request: GenerationRequest): { done: Promise<GenerationOutcome>; cancel: () => void } {
    let job!: Job;
    const done = new Promise<GenerationOutcome>((resolve, reject) => {
      job = { request, resolve, reject, cancelled: false };
    });
    this.waiting.push(job);
    void this.drain();
    return {
      done,
      cancel: () => {
        job.cancelled = true;
        const at = this.waiting.indexOf(job);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          job.reject(new Error('cancelled: the client went away'));
        } else if (this.running === job) this.state.interrupted = true;
      },
    };
  }

  /** Stops the running request after its current step. */
  interrupt(): void {
    if (this.running) this.state.interrupted = true;
  }

  /** Stops the running request's current image; the next one starts. */
  skip(): void {
    if (this.running) this.state.skipped = true;
  }

  get busy(): boolean {
    return this.running !== null || this.waiting.length > 0;
  }

  /** A1111's /progress answer. */
  progress(): Record<string, unknown> {
    const s = this.state;
    const active = this.running !== null;
    const fraction =
      active && s.jobCount > 0 && s.samplingSteps > 0
        ? Math.min(1, (s.jobNo + s.samplingStep / s.samplingSteps) / s.jobCount)
        : 0;
    const elapsed = active ? (performance.now() - s.startedAt) / 1000 : 0;
    return {
      progress: fraction,
      eta_relative: fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0,
      state: {
        skipped: s.skipped,
        interrupted: s.interrupted,
        stopping_generation: false,
        job: active ? `sag ${this.running?.request.kind}` : '',
        job_count: active ? s.jobCount : 0,
        job_timestamp: s.jobTimestamp,
        job_no: s.jobNo,
        sampling_step: s.samplingStep,
        sampling_steps: s.samplingSteps,
        queued: this.waiting.length,
      },
      current_image: null,
      textinfo: null,
    };
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    Object.assign(this.state, {
      jobCount: job.request.count,
      jobNo: 0,
      samplingStep: 0,
      samplingSteps: job.request.options.steps ?? 0,
      interrupted: false,
      skipped: false,
      jobTimestamp: jobTimestamp(),
      startedAt: performance.now(),
    });
    try {
      job.resolve(await this.run(job));
    } catch (error) {
      job.reject(error);
    } finally {
      this.running = null;
      void this.drain();
    }
  }

  private async run(job: Job): Promise<GenerationOutcome> {
    const { request } = job;
    if (request.model) this.models.select(request.model);
    const pipeline = await this.models.pipeline();
    const ignored = [...request.ignored];
    const options: Partial<GenerateOptions> = { ...request.options, num: 1 };
    if (pipeline.pixel) {
      // The embedded digit model: fixed size, no text, no classifier-free guidance.
      if (request.prompt) ignored.push('prompt (the model has no text encoder)');
      if (request.negativePrompt) ignored.push('negative_prompt (the model has no text encoder)');
      if (request.size)
        ignored.push(`width, height (the model makes ${pipeline.defaultSize.join('x')} images)`);
      ignored.push('cfg_scale (the model has no classifier-free guidance)');
      delete options.prompt;
      delete options.negativePrompt;
      delete options.cfg;
      delete options.size;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-api-'));
    const outcome: GenerationOutcome = {
      pngs: [],
      infotexts: [],
      seeds: [],
      options: null,
      model: this.models.current.title,
      ignored,
      notes: request.notes,
      interrupted: false,
      jobTimestamp: this.state.jobTimestamp,
      size: null,
    };
    try {
      const refs: string[] = [];
      request.images.forEach((image, i) => {
        const file = path.join(dir, `${image.option}-${i}.${image.bytes[0] === 0xff ? 'jpg' : 'png'}`);
        fs.writeFileSync(file, image.bytes);
        if (image.option === 'ref') refs.push(file);
        else options[image.option] = file;
      });
      if (refs.length) options.ref = refs;
      for (let i = 0; i < request.count; i++) {
        if (this.state.interrupted || job.cancelled) break;
        this.state.jobNo = i;
        this.state.samplingStep = 0;
        this.state.skipped = false;
        const seed = request.seed + i;
        let result;
        try {
          result = await pipeline.generate(
            { ...options, seed },
            {
              onWarning: () => undefined,
              onStep: (_record, done, total) => {
                this.state.samplingStep = done;
                this.state.samplingSteps = total;
                if (this.state.interrupted || this.state.skipped || job.cancelled) throw new StopRequested();
              },
              // Compute blocks the event loop: between steps, progress, interrupt and new requests are answered.
              afterStep: () => new Promise((resolve) => setImmediate(resolve)),
            },
          );
        } catch (error) {
          if (error instanceof StopRequested) continue;
          throw error;
        }
        const image = tf.squeeze(result.images, [0]) as tf.Tensor3D;
        outcome.size ??= [image.shape[0], image.shape[1]];
        const infotext = formatParameters({
          command: 'generate',
          sagVersion: packageVersion(),
          backend: this.backendName(),
          models: { model: this.models.current.dir ?? undefined },
          options: result.options,
          upscale: 1,
          environment: { backend: pipeline.backend.description, tfjs: tf.version_core },
        });
        try {
          outcome.pngs.push(withPngText(await encodeImage(image, 'png'), 'parameters', infotext));
        } finally {
          image.dispose();
          result.images.dispose();
        }
        outcome.infotexts.push(infotext);
        outcome.seeds.push(seed);
        outcome.options ??= result.options;
      }
      outcome.interrupted = this.state.interrupted;
      return outcome;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
