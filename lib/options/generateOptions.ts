import { GRADIENT_METHODS } from '../adjoint';
import { GUIDANCE_METHODS, RHO_MODES } from '../guidance/guidanceSettings';
import { ESTIMATE_GRIDS } from '../ode/estimateGrid';
import { EULER } from '../ode/tableaus';
import { SAMPLER_NAMES } from '../samplers';
import { imageListOption, lossKindsOption, lossWeightsOption, targetOption } from './lossOptions';
import { OptionSpec, choiceOption, integerOption, numberOption, pathOption, textOption } from './optionSpec';
import { sizeOption } from './sizeOption';
import { stepCountOption } from './stepCountOption';
import { tableauOption } from './tableauOption';
import { windowOption } from './windowOption';

/**
 * The generation options, once: every option's type, default, help text, CLI text form, validation and JSON form.
 * `GenerateOptions`, `DEFAULT_GENERATE_OPTIONS`, the `generate` / `stylize` flags (kebab-case of these keys), the
 * library's validation (resolveGenerateOptions) and the run report's keys are derived from this table.
 */
export const GENERATE_OPTION_SPECS = {
  prompt: textOption({ valueName: '<text>', help: 'prompt (latent models)' }),
  negativePrompt: textOption({
    valueName: '<text>',
    help: 'negative prompt (the unconditional branch of CFG)',
  }),
  guidance: lossKindsOption({ help: 'losses that guide the run (comma-separated); omit for unguided' }),
  lossWeights: lossWeightsOption({ help: 'weights of combined losses, e.g. style=1,clip=0.1' }),
  method: choiceOption({ valueName: '<method>', help: 'guidance method', default: 'sag' }, GUIDANCE_METHODS),
  n: stepCountOption({
    help: "estimate steps per guided step, or an adaptive schedule 'from:to' (e.g. 6:1)",
    default: 4,
  }),
  tableau: tableauOption({ help: 'sub-solver of the estimate', default: EULER }),
  grad: choiceOption(
    { valueName: '<method>', help: 'gradient through the estimate', default: 'symplectic' },
    GRADIENT_METHODS,
  ),
  grid: choiceOption(
    { valueName: '<kind>', help: "estimate grid: the paper's, or the released code's", default: 'paper' },
    ESTIMATE_GRIDS,
  ),
  sampler: choiceOption({ valueName: '<name>', help: 'main sampler', default: 'ddim' }, SAMPLER_NAMES),
  steps: integerOption({ valueName: '<T>', help: 'main sampler steps', default: 50 }, 1, 1000),
  cfg: numberOption(
    { valueName: '<w>', help: 'classifier-free guidance scale (latent models only)', default: 7.5 },
    { min: 0 },
  ),
  window: windowOption({ help: "guided main steps: 'start..end', 'all' or 'none'", default: 'all' }),
  repeats: integerOption(
    { valueName: '<r>', help: 'time-travel repeats inside the window', default: 1 },
    1,
    100,
  ),
  rhoMode: choiceOption({ valueName: '<mode>', help: 'guidance step size rule', default: 'rms' }, RHO_MODES),
  rhoScale: numberOption(
    {
      valueName: '<s>',
      help: "guidance strength (rms mode: relative to the CFG / eps magnitude; a model's sag.json may recommend another, e.g. 0.05 for the embedded digits)",
      default: 0.2,
    },
    { min: 0 },
  ),
  // The normalised rule divides by RMS(g): when the loss is satisfied g vanishes, rho grows without bound and the
  // update becomes a full-size step along numerical noise; the cap stops that.
  rhoMax: numberOption(
    {
      valueName: '<r>',
      help: 'upper bound of rho: when the loss is satisfied g vanishes and the normalised rho would grow without bound',
      default: 1000,
    },
    { min: 0, exclusive: true },
  ),
  seed: integerOption({ valueName: '<seed>', help: 'seed of all random draws', default: 0 }, 0),
  num: integerOption({ valueName: '<count>', help: 'images per run (batch)', default: 1 }, 1, 256),
  size: sizeOption({ help: 'image size in pixels' }),
  initImage: pathOption({ valueName: '<file>', help: 'start from this image (img2img)' }),
  strength: numberOption(
    { valueName: '<s>', help: 'img2img: fraction of the schedule to run', default: 0.75 },
    { min: 0, exclusive: true, max: 1 },
  ),
  control: pathOption({
    valueName: '<image>',
    help: 'ControlNet condition image (e.g. a depth map), resized to the output size; needs --controlnet',
  }),
  controlScale: numberOption(
    {
      valueName: '<s>',
      help: "ControlNet conditioning scale (diffusers' controlnet_conditioning_scale)",
      default: 1,
    },
    { min: 0 },
  ),
  style: pathOption({ valueName: '<image>', help: 'style reference image' }),
  ref: imageListOption({ help: 'reference image(s): object loss, or the face for face ID' }),
  target: targetOption({
    help: 'text for the clip loss (default: the prompt) or class index for class guidance',
  }),
  styleLayer: integerOption({ valueName: '<k>', help: 'CLIP hidden state of the style loss', default: 3 }, 0),
};

type Specs = typeof GENERATE_OPTION_SPECS;
export type GenerateOptionName = keyof Specs;

/** Options of one generation, as the library takes them (typed values; see GENERATE_OPTION_SPECS for each). */
export type GenerateOptions = { [K in GenerateOptionName]: Specs[K] extends OptionSpec<infer V> ? V : never };

export const GENERATE_OPTION_NAMES = Object.keys(GENERATE_OPTION_SPECS) as GenerateOptionName[];

export function optionSpec<K extends GenerateOptionName>(name: K): OptionSpec<GenerateOptions[K]> {
  return GENERATE_OPTION_SPECS[name] as unknown as OptionSpec<GenerateOptions[K]>;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = Object.fromEntries(
  GENERATE_OPTION_NAMES.map((k) => [k, GENERATE_OPTION_SPECS[k].default]),
) as GenerateOptions;
