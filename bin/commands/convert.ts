import { Command, Option } from 'commander';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import { guarded } from '../cliErrors';
import { parseIntegerList } from '../optionParsers';

interface CommonOptions {
  out: string;
  dtype: 'float32' | 'float16';
  overwrite?: boolean;
  verbose?: boolean;
  /** Only on converters that write VJP graphs. */
  vjpGraph?: boolean;
  backend?: string;
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

/** The flags of converters that write VJP graphs. */
function withVjpGraphOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--backend <name>',
        'backend that runs the model to find its shapes for the VJP graph (models with more than 1.5 GB of weights are probed on cpu when this is wasm)',
      )
        .choices([...BACKEND_CHOICES])
        .default('wasm'),
    )
    .option(
      '--no-vjp-graph',
      'do not write VJP graphs (guidance then differentiates these networks with tf.grad: same values, more memory)',
    );
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function conversionOptions(opts: CommonOptions) {
  if (opts.vjpGraph) await startBackend(parseBackendChoice(opts.backend ?? 'wasm'), { announce: false });
  return {
    dtype: opts.dtype,
    overwrite: opts.overwrite,
    verbose: opts.verbose,
    vjpGraphs: opts.vjpGraph,
    log,
  };
}

export function convertCommand(): Command {
  const convert = new Command('convert').description(
    'convert downloaded checkpoints to TensorFlow.js graph models',
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('sd')
          .description(
            'a diffusers Stable Diffusion v1.x/v2.x directory -> unet/, vae_decoder/, vae_encoder/, text_encoder/',
          )
          .argument(
            '<diffusers-dir>',
            'directory with model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/',
          ),
      ),
    ).action(
      guarded(async (dir: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertStableDiffusion(dir, opts.out, await conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('clip')
          .description('a transformers CLIPModel directory -> clip_vision/, clip_text/')
          .argument('<clip-dir>', 'directory with config.json and model.safetensors (or pytorch_model.bin)')
          .option(
            '--hidden-states <list>',
            'vision hidden states to expose (default: all)',
            parseIntegerList('--hidden-states', 0),
          ),
      ),
    ).action(
      guarded(async (dir: string, opts: CommonOptions & { hiddenStates?: number[] }) => {
        const start = performance.now();
        await convertClip(dir, opts.out, {
          ...(await conversionOptions(opts)),
          hiddenStates: opts.hiddenStates,
        });
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('arcface')
          .description('an insightface ArcFace ONNX model -> arcface/')
          .argument('<model.onnx>', 'ONNX file'),
      ),
    ).action(
      guarded(async (file: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertArcface(file, opts.out, await conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  return convert;
}
