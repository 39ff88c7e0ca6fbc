import { MissingModelFile, ModelFiles, joinLocation, readJson } from '../io/modelFiles';

/** The sag.json version this sag writes and reads. A directory written by a newer sag is refused, not guessed at. */
export const SAG_MANIFEST_VERSION = 1;

interface ManifestCommon<F extends string> {
  format: F;
  version: number;
  layout: 'NHWC';
  /** Where it was converted from (absent for the embedded models). */
  source?: string;
  dtype?: 'float32' | 'float16';
}

/** Shapes of a component graph's inputs and outputs (null = any size). */
export interface ComponentShapes {
  inputs: Record<string, (number | null)[]>;
  outputs: Record<string, (number | null)[]> | string[];
}

export interface StableDiffusionManifest extends ManifestCommon<'sag-stable-diffusion'> {
  components: Record<string, unknown>;
  latentChannels: number;
  scalingFactor: number;
  vaeDownscale: number;
  imageSize: number;
  crossAttentionDim: number;
}

export interface ClipManifest extends ManifestCommon<'sag-clip'> {
  imageSize: number;
  imageMean: number[];
  imageStd: number[];
  projectionDim: number;
  logitScale: number;
  visionLayers: number;
  hiddenStates: number[];
  textMaxLength: number;
  eosTokenId: number;
  components: Record<string, ComponentShapes>;
}

export interface ArcfaceManifest extends ManifestCommon<'sag-arcface'> {
  input: string;
  output: string;
  inputSize: [number, number];
  channels: number;
  embeddingDim: number | null;
  inputRange: [number, number];
  opset: number;
}

export interface ClassifierManifest extends ManifestCommon<'sag-classifier'> {
  imageSize: number;
  channels: number;
  classes: number;
  inputRange: [number, number];
  spec: Record<string, unknown>;
}

export interface PixelDiffusionManifest extends ManifestCommon<'sag-pixel-diffusion'> {
  imageSize: number;
  channels: number;
  range: [number, number];
  spec: Record<string, unknown>;
  /** Generation defaults the model recommends (e.g. a gentler rho), as generate options. */
  defaults?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

export interface ManifestByFormat {
  'sag-stable-diffusion': StableDiffusionManifest;
  'sag-clip': ClipManifest;
  'sag-arcface': ArcfaceManifest;
  'sag-classifier': ClassifierManifest;
  'sag-pixel-diffusion': PixelDiffusionManifest;
  'sag-vae': VaeManifest;
  'sag-controlnet': ControlNetManifest;
}
export type SagFormat = keyof ManifestByFormat;
export type SagManifest = ManifestByFormat[SagFormat];

type FieldKind = 'number' | 'string' | 'numbers' | 'pair' | 'object' | 'number|null';

/** A VAE alone (`sag convert vae`): decoder and encoder graphs, to use in place of a Stable Diffusion model's. */
export interface VaeManifest extends ManifestCommon<'sag-vae'> {
  components: Record<string, unknown>;
  latentChannels: number;
  scalingFactor: number;
  vaeDownscale: number;
}

/** A ControlNet (`sag convert controlnet`): residuals for a Stable Diffusion UNet's skip connections and mid block. */
export interface ControlNetManifest extends ManifestCommon<'sag-controlnet'> {
  components: Record<string, unknown>;
  /** Channels of the residuals: one per UNet skip connection (diffusers' order), and the mid block's. */
  residualChannels: { down: number[]; mid: number };
  latentChannels: number;
  crossAttentionDim: number;
  conditioningChannels: number;
  /** The condition image is this many times the latent's size. */
  conditionDownscale: number;
  channelOrder: 'rgb' | 'bgr';
}

/** The fields each format must have, with their kinds (optional fields are checked by their readers). */
const REQUIRED_FIELDS: { [F in SagFormat]: Partial<Record<keyof ManifestByFormat[F], FieldKind>> } = {
  'sag-stable-diffusion': {
    components: 'object',
    latentChannels: 'number',
    scalingFactor: 'number',
    vaeDownscale: 'number',
    imageSize: 'number',
    crossAttentionDim: 'number',
  },
  'sag-clip': {
    imageSize: 'number',
    imageMean: 'numbers',
    imageStd: 'numbers',
    projectionDim: 'number',
    logitScale: 'number',
    hiddenStates: 'numbers',
    textMaxLength: 'number',
    eosTokenId: 'number',
    components: 'object',
  },
  'sag-arcface': {
    input: 'string',
    output: 'string',
    inputSize: 'pair',
    channels: 'number',
    embeddingDim: 'number|null',
    inputRange: 'pair',
  },
  'sag-classifier': {
    imageSize: 'number',
    channels: 'number',
    classes: 'number',
    inputRange: 'pair',
    spec: 'object',
  },
  'sag-pixel-diffusion': {
    imageSize: 'number',
    channels: 'number',
    range: 'pair',
    spec: 'object',
  },
  'sag-vae': {
    components: 'object',
    latentChannels: 'number',
    scalingFactor: 'number',
    vaeDownscale: 'number',
  },
  'sag-controlnet': {
    components: 'object',
    residualChannels: 'object',
    latentChannels: 'number',
    crossAttentionDim: 'number',
    conditioningChannels: 'number',
    conditionDownscale: 'number',
    channelOrder: 'string',
  },
};

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'numbers':
      return Array.isArray(value) && value.every((v) => typeof v === 'number');
    case 'pair':
      return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number');
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'number|null':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
  }
}

const KIND_NAMES: Record<FieldKind, string> = {
  number: 'a number',
  string: 'a string',
  numbers: 'an array of numbers',
  pair: 'two numbers',
  object: 'an object',
  'number|null': 'a number or null',
};

/**
 * Checks a parsed sag.json against its format's schema: the format (`expected`, when given), a version this sag
 * reads, and every required field's type. `where` names the file in errors. Returns it typed.
 */
export function validateSagManifest<F extends SagFormat>(
  raw: unknown,
  where: string,
  expected?: F,
): ManifestByFormat[F] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${where}: expected a JSON object`);
  const manifest = raw as Record<string, unknown>;
  const format = manifest.format;
  if (typeof format !== 'string' || !(format in REQUIRED_FIELDS))
    throw new Error(
      `${where}: unknown format ${JSON.stringify(format)}, expected one of ${Object.keys(REQUIRED_FIELDS).join(', ')}`,
    );
  if (expected && format !== expected)
    throw new Error(`${where}: expected a '${expected}' directory, found '${format}'`);
  const version = manifest.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new Error(`${where}: 'version' must be a positive integer, got ${JSON.stringify(version)}`);
  if (version > SAG_MANIFEST_VERSION)
    throw new Error(
      `${where}: written by a newer sag (sag.json version ${version}; this sag reads version ${SAG_MANIFEST_VERSION}): upgrade sag or convert the model again`,
    );
  if (manifest.layout !== 'NHWC')
    throw new Error(`${where}: 'layout' must be "NHWC", got ${JSON.stringify(manifest.layout)}`);
  const fields = REQUIRED_FIELDS[format as SagFormat] as Record<string, FieldKind>;
  for (const [key, kind] of Object.entries(fields)) {
    if (!hasKind(manifest[key], kind))
      throw new Error(`${where}: '${key}' must be ${KIND_NAMES[kind]}, got ${JSON.stringify(manifest[key])}`);
  }
  return manifest as unknown as ManifestByFormat[F];
}

/** Reads and validates the sag.json of model files (a directory or a URL) for the given format. */
export async function loadSagManifest<F extends SagFormat>(
  files: ModelFiles,
  format: F,
): Promise<ManifestByFormat[F]> {
  let raw: unknown;
  try {
    raw = await readJson(files, 'sag.json');
  } catch (error) {
    if (!(error instanceof MissingModelFile)) throw error;
    if (!(await files.has('.'))) throw new Error(`${files.location}: model directory not found`);
    throw new Error(`${files.location}: not a converted model directory (no sag.json; run 'sag convert')`);
  }
  return validateSagManifest(raw, joinLocation(files.location, 'sag.json'), format);
}
