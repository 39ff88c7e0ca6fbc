import * as path from 'path';
import { BackendChoice } from '../backend';
import { Pipeline } from '../pipeline/pipeline';
import { ApiError } from './apiError';

/** A model the API offers, as A1111's sd-models lists it. */
export interface ApiModel {
  title: string;
  model_name: string;
  hash: null;
  sha256: null;
  filename: string;
  config: null;
  /** The model's directory; null for the embedded digit model. */
  dir: string | null;
}

export const EMBEDDED_MODEL_TITLE = 'sag-digits';

export interface ApiModelOptions {
  backend: BackendChoice;
  /** Guidance networks every model may use (`sag convert clip` directories, a classifier). */
  clip?: string;
  classifier?: string;
}

/**
 * The models `sag serve --api` serves (the embedded digit model when none is given) and the one loaded now: one
 * pipeline at a time, loaded on first use and replaced when a request or the options switch models.
 */
export class ApiModels {
  readonly list: ApiModel[];
  private currentIndex = 0;
  private loaded: { index: number; pipeline: Pipeline } | null = null;

  constructor(
    dirs: string[],
    private readonly options: ApiModelOptions,
  ) {
    this.list = dirs.length
      ? dirs.map((dir) => ({
          title: path.basename(path.resolve(dir)),
          model_name: path.basename(path.resolve(dir)),
          hash: null,
          sha256: null,
          filename: path.resolve(dir),
          config: null,
          dir: path.resolve(dir),
        }))
      : [
          {
            title: EMBEDDED_MODEL_TITLE,
            model_name: EMBEDDED_MODEL_TITLE,
            hash: null,
            sha256: null,
            filename: 'embedded (weights/digit-unet)',
            config: null,
            dir: null,
          },
        ];
  }

  get current(): ApiModel {
    return this.list[this.currentIndex];
  }

  /** Makes `title` current (A1111 clients also send a title with a hash in brackets, or a file name). */
  select(title: string): ApiModel {
    const bare = title.replace(/\s*\[[0-9a-f]+\]$/i, '').replace(/\.(safetensors|ckpt)$/i, '');
    const index = this.list.findIndex(
      (m) => m.title === bare || m.model_name === bare || m.filename === title,
    );
    if (index < 0)
      throw new ApiError(
        422,
        `sd_model_checkpoint: model not found: ${JSON.stringify(title)} (served: ${this.list.map((m) => m.title).join(', ')})`,
      );
    this.currentIndex = index;
    return this.list[index];
  }

  /** The current model's pipeline, loading it (and releasing another) when needed. */
  async pipeline(): Promise<Pipeline> {
    if (this.loaded?.index === this.currentIndex) return this.loaded.pipeline;
    this.release();
    const model = this.current;
    const pipeline = await Pipeline.load({
      model: model.dir ?? undefined,
      clip: this.options.clip,
      classifier: this.options.classifier,
      backend: this.options.backend,
      announceBackend: false,
    });
    this.loaded = { index: this.currentIndex, pipeline };
    return pipeline;
  }

  release(): void {
    this.loaded?.pipeline.dispose();
    this.loaded = null;
  }
}
