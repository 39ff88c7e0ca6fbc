import type { GenerateOptions } from '../options/generateOptions';
import { generateOptionsToJson } from '../options/optionsJson';
import { formatStepCount } from '../options/stepCountOption';

/** What a PNG written by `sag generate` / `sag stylize` records about how it was made. */
export interface RecordedGeneration {
  command: string;
  sagVersion: string;
  backend: string;
  /** Model flags as given (directories and files); absent ones are the embedded defaults. */
  models: Record<string, string | undefined>;
  /** The effective generation options in their JSON form (of the first method when several were compared). */
  options: Record<string, unknown>;
  /** The methods of a --compare grid, else absent. */
  compare?: string[];
  upscale: number;
  /**
   * Everything else that changes the bytes: the backend with its kernels and threads as it describes itself
   * (`wasm (XNNPACK, 2 threads; conv/matmul: OpenBLAS ...)`) and the tfjs version. Absent in older records.
   */
  environment?: { backend: string; tfjs: string };
}

const MARKER = 'sag: ';

/**
 * The text stored under the PNG keyword `parameters`: the lines other Stable Diffusion tools show (prompt,
 * negative prompt, a settings line), then one line `sag: <JSON>` with everything needed to run it again.
 */
export function formatParameters(
  generation: Omit<RecordedGeneration, 'options'> & { options: GenerateOptions },
): string {
  const o = generation.options;
  const r: RecordedGeneration = { ...generation, options: generateOptionsToJson(o) };
  const settings = [
    `Steps: ${o.steps}`,
    `Sampler: ${o.sampler}`,
    `CFG scale: ${o.cfg}`,
    `Seed: ${o.seed}`,
    ...(o.size ? [`Size: ${o.size[1]}x${o.size[0]}`] : []),
    `Model: ${r.models.model ?? 'embedded digit-unet'}`,
    ...(r.models.vae ? [`VAE: ${r.models.vae}`] : []),
    ...(r.models.controlnet && o.control
      ? [`ControlNet: ${r.models.controlnet} (${o.control}, scale ${o.controlScale})`]
      : []),
    `Guidance: ${o.guidance.length ? o.guidance.join('+') : 'none'}`,
    `Method: ${r.compare ? r.compare.join('/') : o.method}`,
    `n: ${formatStepCount(o.n)}`,
    `Rho scale: ${o.rhoScale}`,
    `Backend: ${r.backend}`,
    `Version: sag ${r.sagVersion}`,
  ].join(', ');
  return [o.prompt, `Negative prompt: ${o.negativePrompt}`, settings, `${MARKER}${JSON.stringify(r)}`].join(
    '\n',
  );
}

/** The recorded generation in a `parameters` text, or null when the text was not written by sag. */
export function parseParameters(text: string): RecordedGeneration | null {
  const line = text.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) return null;
  try {
    const parsed = JSON.parse(line.slice(MARKER.length)) as RecordedGeneration;
    return parsed && typeof parsed.options === 'object' ? parsed : null;
  } catch {
    return null;
  }
}
