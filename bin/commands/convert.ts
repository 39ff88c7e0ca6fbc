import { Command, Option } from 'commander';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { guarded } from '../cliErrors';
import { parseIntegerList } from '../optionParsers';

interface CommonOptions {
  out: string;
  dtype: 'float32' | 'float16';
  overwrite?: boolean;
  verbose?: boolean;
}

function withCommonOptions(command: Command): Command {
  return command
    .requiredOption('--out <dir>', 'output directory (written atomically)')
    .addOption(
      new Option('--dtype <dtype>', 'storage of float weights')
        .choices(['float32', 'float16'])
        .default('float32'),
    )
    .option('--overwrite', 'replace an existing output directory')
    .option('--verbose', 'print an op histogram per graph');
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function conversionOptions(opts: CommonOptions) {
  return { dtype: opts.dtype, overwrite: opts.overwrite, verbose: opts.verbose, log };
}

export function convertCommand(): Command {
  const convert = new Command('convert').description(
    'convert downloaded checkpoints to TensorFlow.js graph models',
  );
  convert.addCommand(
    withCommonOptions(
      new Command('sd')
        .description(
          'a diffusers Stable Diffusion v1.x/v2.x directory -> unet/, vae_decoder/, vae_encoder/, text_encoder/',
        )
        .argument(
          '<diffusers-dir>',
          'directory with model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/',
        ),
    ).action(
      guarded(async (dir: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertStableDiffusion(dir, opts.out, conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withCommonOptions(
      new Command('clip')
        .description('a transformers CLIPModel directory -> clip_vision/, clip_text/')
        .argument('<clip-dir>', 'directory with config.json and model.safetensors (or pytorch_model.bin)')
        .option(
          '--hidden-states <list>',
          'vision hidden states to expose (default: all)',
          parseIntegerList('--hidden-states', 0),
        ),
    ).action(
      guarded(async (dir: string, opts: CommonOptions & { hiddenStates?: number[] }) => {
        const start = performance.now();
        await convertClip(dir, opts.out, { ...conversionOptions(opts), hiddenStates: opts.hiddenStates });
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withCommonOptions(
      new Command('arcface')
        .description('an insightface ArcFace ONNX model -> arcface/')
        .argument('<model.onnx>', 'ONNX file'),
    ).action(
      guarded(async (file: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertArcface(file, opts.out, conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  return convert;
}
