import * as crypto from 'crypto';
import {
  GENERATE_OPTION_NAMES,
  GenerateOptionName,
  GenerateOptions,
  optionSpec,
} from '../options/generateOptions';
import { SamplerName } from '../samplers';
import { ApiError } from './apiError';
import { requestImageBytes } from './requestImages';

/** The samplers the API offers, by A1111's names; Euler is sag's first-order sampler, DDIM (A1111's default). */
export const API_SAMPLERS: Record<string, { sampler: SamplerName; note?: string }> = {
  Euler: {
    sampler: 'ddim',
    note: 'sampler Euler runs as DDIM (the deterministic first-order solver of the same ODE)',
  },
  DDIM: { sampler: 'ddim' },
  'DPM++ 2M': { sampler: 'dpmpp2m' },
};
export const API_SCHEDULERS = ['Automatic'];
/** Images per request (batch_size x n_iter) and image side, in pixels: larger requests are refused (422). */
export const MAX_IMAGES_PER_REQUEST = 16;
export const MAX_SIDE = 2048;
export const MAX_STEPS = 500;

/** What one txt2img/img2img request asks for, in sag's terms. */
export interface GenerationRequest {
  kind: 'txt2img' | 'img2img';
  /** Options shared by every image; each image gets its own seed. */
  options: Partial<GenerateOptions>;
  /** Seed of the first image; image i uses seed + i (A1111's all_seeds). */
  seed: number;
  count: number;
  batchSize: number;
  /** The model asked for (override_settings.sd_model_checkpoint), or null for the current one. */
  model: string | null;
  /** Images the request carries, written to private files before the run: option -> bytes (ref: several). */
  images: { option: 'style' | 'initImage' | 'ref'; bytes: Buffer }[];
  /** Request fields sag does not act on, each with why; reported in `info`, never silently dropped. */
  ignored: string[];
  /** How honoured fields were mapped (Euler runs as DDIM, ...). */
  notes: string[];
  sendImages: boolean;
  /** width x height as asked (null: not given). */
  size: [number, number] | null;
  prompt: string;
  negativePrompt: string;
  samplerName: string;
}

type Body = Record<string, unknown>;

function number(body: Body, field: string, fallback: number, check?: (v: number) => string | null): number {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ApiError(422, `${field}: expected a number, got ${JSON.stringify(value)}`);
  const problem = check?.(value);
  if (problem) throw new ApiError(422, `${field}: ${problem}`);
  return value;
}

function integerIn(min: number, max: number): (v: number) => string | null {
  return (v) =>
    Number.isInteger(v) && v >= min && v <= max
      ? null
      : `expected an integer from ${min} to ${max}, got ${v}`;
}

function text(body: Body, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new ApiError(422, `${field}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** A1111 fields sag has no counterpart for, with the value that means "not used". */
const INERT_FIELDS: Record<string, unknown[]> = {
  restore_faces: [false, null],
  tiling: [false, null],
  enable_hr: [false, null],
  subseed: [-1, null],
  subseed_strength: [0, null],
  seed_resize_from_h: [-1, 0, null],
  seed_resize_from_w: [-1, 0, null],
  eta: [0, null],
  s_churn: [0, null],
  s_tmax: [0, null],
  s_tmin: [0, null],
  s_noise: [1, null],
  s_min_uncond: [0, null],
  clip_skip: [1, null],
  styles: [null],
  script_name: [null, ''],
  script_args: [null],
  refiner_checkpoint: [null, ''],
  refiner_switch_at: [null, 0],
  resize_mode: [0, null],
  image_cfg_scale: [null],
  inpainting_fill: [0, null],
  include_init_images: [false, null],
};

/** Fields sag reads or knows to be inert; anything else is named as unknown. */
const KNOWN_FIELDS = new Set([
  ...Object.keys(INERT_FIELDS),
  'prompt',
  'negative_prompt',
  'seed',
  'steps',
  'cfg_scale',
  'width',
  'height',
  'sampler_name',
  'sampler_index',
  'scheduler',
  'batch_size',
  'n_iter',
  'denoising_strength',
  'init_images',
  'mask',
  'override_settings',
  'override_settings_restore_afterwards',
  'send_images',
  'save_images',
  'alwayson_scripts',
  'firstphase_width',
  'firstphase_height',
  'do_not_save_samples',
  'do_not_save_grid',
  'infotext',
  'force_task_id',
  // Hires fix's settings: moot unless enable_hr (reported itself when set).
  'hr_upscaler',
  'hr_scale',
  'hr_second_pass_steps',
  'hr_resize_x',
  'hr_resize_y',
  'hr_additional_modules',
  'hr_checkpoint_name',
  'hr_sampler_name',
  'hr_scheduler',
  'hr_prompt',
  'hr_negative_prompt',
  'hr_cfg',
  'hr_distilled_cfg',
  'sampler_index',
]);

/** override_settings values that change nothing (A1111's defaults). */
const INERT_OVERRIDES: Record<string, unknown[]> = {
  CLIP_stop_at_last_layers: [1],
  sd_vae: ['Automatic', 'None', ''],
};

function isEmpty(value: unknown): boolean {
  return Array.isArray(value)
    ? value.length === 0
    : typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

/** The positional form of alwayson_scripts.sag.args, in this order. */
export const SAG_SCRIPT_ARGS = [
  'guidance',
  'target',
  'method',
  'n',
  'rho_scale',
  'window',
  'tableau',
  'style',
  'ref',
] as const;

const SCRIPT_OPTION: Record<string, GenerateOptionName> = {
  rho_scale: 'rhoScale',
  rho_max: 'rhoMax',
  rho_mode: 'rhoMode',
  loss_weights: 'lossWeights',
  style_layer: 'styleLayer',
};

/** SAG's settings from alwayson_scripts.sag: `{args: [positional...]}`, `{args: {named}}` or the named object itself. */
function sagScript(value: unknown, images: GenerationRequest['images']): Partial<GenerateOptions> {
  if (typeof value !== 'object' || value === null)
    throw new ApiError(422, 'alwayson_scripts.sag: expected an object ({"args": [...]} or named settings)');
  const raw = 'args' in value ? (value as { args: unknown }).args : value;
  let named: Record<string, unknown>;
  if (Array.isArray(raw)) {
    if (raw.length > SAG_SCRIPT_ARGS.length)
      throw new ApiError(
        422,
        `alwayson_scripts.sag.args: at most ${SAG_SCRIPT_ARGS.length} values (${SAG_SCRIPT_ARGS.join(', ')})`,
      );
    named = Object.fromEntries(
      raw.map((v, i) => [SAG_SCRIPT_ARGS[i], v]).filter(([, v]) => v !== null && v !== ''),
    );
  } else if (typeof raw === 'object' && raw !== null) named = raw as Record<string, unknown>;
  else throw new ApiError(422, 'alwayson_scripts.sag.args: expected a list or an object');
  const options: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(named)) {
    const field = `alwayson_scripts.sag.${key}`;
    if (key === 'style') {
      images.push({ option: 'style', bytes: requestImageBytes(field, v) });
      continue;
    }
    if (key === 'ref') {
      const list = Array.isArray(v) ? v : [v];
      list.forEach((image, i) =>
        images.push({ option: 'ref', bytes: requestImageBytes(`${field}[${i}]`, image) }),
      );
      continue;
    }
    const name = (SCRIPT_OPTION[key] ?? key) as GenerateOptionName;
    if (
      !(GENERATE_OPTION_NAMES as readonly string[]).includes(name) ||
      [
        'initImage',
        'control',
        'seed',
        'num',
        'size',
        'steps',
        'cfg',
        'prompt',
        'negativePrompt',
        'sampler',
        'strength',
      ].includes(name)
    )
      throw new ApiError(
        422,
        `${field}: not a SAG setting (give ${[...SAG_SCRIPT_ARGS, 'repeats', 'rho_mode', 'rho_max', 'loss_weights', 'grad', 'grid', 'style_layer'].join(', ')})`,
      );
    try {
      const spec = optionSpec(name);
      options[name] =
        typeof v === 'string'
          ? spec.parse(v)
          : spec.fromJson(Array.isArray(v) && name === 'guidance' ? v : v);
    } catch (error) {
      throw new ApiError(422, `${field}: ${(error as Error).message}`);
    }
  }
  return options as Partial<GenerateOptions>;
}

/**
 * A txt2img or img2img body in sag's terms, with A1111's defaults (steps 50, cfg 7, 512x512, seed -1 = random,
 * sampler Euler, denoising strength 0.75). Wrong types, unknown samplers and requests beyond the limits are refused
 * with 422 naming the field; fields sag does not act on are listed in `ignored`.
 */
export function parseGenerationRequest(kind: 'txt2img' | 'img2img', body: unknown): GenerationRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(422, 'the request body must be a JSON object');
  const b = body as Body;
  const ignored: string[] = [];
  const notes: string[] = [];
  const images: GenerationRequest['images'] = [];
  const seedGiven = number(b, 'seed', -1, (v) =>
    Number.isInteger(v) && v >= -1 && v <= 2 ** 32 - 1
      ? null
      : `expected an integer from -1 to ${2 ** 32 - 1}`,
  );
  const seed = seedGiven === -1 ? crypto.randomInt(0, 2 ** 32 - MAX_IMAGES_PER_REQUEST) : seedGiven;
  const steps = number(b, 'steps', 50, integerIn(1, MAX_STEPS));
  const cfg = number(b, 'cfg_scale', 7, (v) => (v >= 0 && v <= 100 ? null : `expected 0 to 100, got ${v}`));
  const width = number(b, 'width', 512, integerIn(64, MAX_SIDE));
  const height = number(b, 'height', 512, integerIn(64, MAX_SIDE));
  if (width % 8 || height % 8)
    throw new ApiError(422, `width, height: expected multiples of 8, got ${width}x${height}`);
  const batchSize = number(b, 'batch_size', 1, integerIn(1, MAX_IMAGES_PER_REQUEST));
  const iterations = number(b, 'n_iter', 1, integerIn(1, MAX_IMAGES_PER_REQUEST));
  if (batchSize * iterations > MAX_IMAGES_PER_REQUEST)
    throw new ApiError(
      422,
      `batch_size x n_iter: at most ${MAX_IMAGES_PER_REQUEST} images per request, got ${batchSize * iterations}`,
    );
  const samplerName = text(b, 'sampler_name') || text(b, 'sampler_index') || 'Euler';
  const sampler = API_SAMPLERS[samplerName];
  if (!sampler)
    throw new ApiError(
      422,
      `sampler_name: sampler not found: ${JSON.stringify(samplerName)} (sag offers ${Object.keys(API_SAMPLERS).join(', ')})`,
    );
  if (sampler.note) notes.push(sampler.note);
  const scheduler = text(b, 'scheduler');
  if (scheduler && !API_SCHEDULERS.map((s) => s.toLowerCase()).includes(scheduler.toLowerCase()))
    throw new ApiError(
      422,
      `scheduler: scheduler not found: ${JSON.stringify(scheduler)} (sag offers ${API_SCHEDULERS.join(', ')}: the model's own schedule)`,
    );

  const options: Partial<GenerateOptions> = {
    steps,
    cfg,
    sampler: sampler.sampler,
    size: [height, width],
    method: 'none',
  };
  const prompt = text(b, 'prompt');
  const negativePrompt = text(b, 'negative_prompt');
  options.prompt = prompt;
  options.negativePrompt = negativePrompt;

  if (kind === 'img2img') {
    const init = b.init_images;
    if (!Array.isArray(init) || init.length === 0)
      throw new ApiError(422, 'init_images: expected a list with one base64 image');
    if (init.length > 1)
      ignored.push(`init_images[1..${init.length - 1}] (sag starts every image from the first)`);
    images.push({ option: 'initImage', bytes: requestImageBytes('init_images[0]', init[0]) });
    options.strength = number(b, 'denoising_strength', 0.75, (v) =>
      v > 0 && v <= 1 ? null : `expected a number in (0, 1], got ${v}`,
    );
    if (b.mask !== undefined && b.mask !== null && b.mask !== '')
      throw new ApiError(422, 'mask: inpainting is not supported by sag (send img2img without a mask)');
  } else if (b.denoising_strength !== undefined && b.denoising_strength !== null && b.enable_hr)
    ignored.push('denoising_strength (used by hires fix, which sag does not have)');

  const overrides = b.override_settings;
  let model: string | null = null;
  if (overrides !== undefined && overrides !== null) {
    if (typeof overrides !== 'object' || Array.isArray(overrides))
      throw new ApiError(422, 'override_settings: expected an object');
    for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
      if (key === 'sd_model_checkpoint') {
        if (typeof value !== 'string')
          throw new ApiError(422, 'override_settings.sd_model_checkpoint: expected a model title');
        model = value;
      } else if (!INERT_OVERRIDES[key]?.includes(value))
        ignored.push(`override_settings.${key} (no such setting in sag)`);
    }
  }
  const sendImages = b.send_images === undefined || b.send_images === null ? true : Boolean(b.send_images);
  if (b.save_images === true) ignored.push('save_images (the API never writes files on the server)');
  for (const [field, inert] of Object.entries(INERT_FIELDS)) {
    const value = b[field];
    if (value === undefined || inert.includes(value) || isEmpty(value)) continue;
    ignored.push(`${field} (sag has no counterpart)`);
  }
  for (const key of ['firstphase_width', 'firstphase_height'])
    if (typeof b[key] === 'number' && b[key] !== 0) ignored.push(`${key} (sag has no hires fix)`);
  const scripts = b.alwayson_scripts;
  if (scripts !== undefined && scripts !== null) {
    if (typeof scripts !== 'object' || Array.isArray(scripts))
      throw new ApiError(422, 'alwayson_scripts: expected an object');
    for (const [name, value] of Object.entries(scripts as Record<string, unknown>)) {
      if (name.toLowerCase() === 'sag') Object.assign(options, { method: 'sag' }, sagScript(value, images));
      else ignored.push(`alwayson_scripts.${name} (not a sag extension)`);
    }
  }
  for (const key of Object.keys(b)) if (!KNOWN_FIELDS.has(key)) ignored.push(`${key} (unknown field)`);
  return {
    kind,
    options,
    seed,
    count: batchSize * iterations,
    batchSize,
    model,
    images,
    ignored,
    notes,
    sendImages,
    size: b.width === undefined && b.height === undefined ? null : [height, width],
    prompt,
    negativePrompt,
    samplerName,
  };
}
