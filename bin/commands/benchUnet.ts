import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { GRADIENT_METHODS } from '../../lib/adjoint';
import { GRAPH_EXECUTORS } from '../../lib/recorded';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import { formatKernelProfile } from '../../lib/bench/kernelProfile';
import { formatUnetBenchTable, profileUnet, runUnetBench } from '../../lib/bench/unetBench';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { scaledSdV15UnetConfig, writeSyntheticUnetGraph } from '../../converters/bench/syntheticUnetGraph';
import { appendUnetVjpGraph } from '../../converters/sd/convertStableDiffusion';
import { parseUnetConfig } from '../../converters/sd/unetGraph';
import { guarded } from '../cliErrors';
import { fusedOpsOfFlag, withFusedOpsFlags } from '../fusedOpsFlags';
import {
  parseChoiceList,
  parseFraction,
  parseInteger,
  parseIntegerList,
  parseLatentSize,
} from '../optionParsers';

/** The device limits that decide whether SD's 4096x4096 attention scores fit in one binding (webgpu only). */
function deviceLimits(): string {
  const backend = tf.backend() as unknown as { device?: { limits?: Record<string, number> } };
  const limits = backend.device?.limits;
  if (!limits) return '';
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return `; device limits: maxStorageBufferBindingSize ${gib(limits.maxStorageBufferBindingSize)}, maxBufferSize ${gib(limits.maxBufferSize)}`;
}

export function benchUnetCommand(): Command {
  const command = new Command('unet')
    .description(
      "SD v1.5-sized UNet (random weights from SD v1.5's config, built locally): forward, input VJP and one SAG guidance gradient per n and gradient method, with time and peak memory",
    )
    .option(
      '--scale <s>',
      'channel and text-width multiplier (1 = SD v1.5, 860 M parameters; 0.1 for software devices)',
      parseFraction('--scale'),
      1,
    )
    .option(
      '--latent <size>',
      'latent height and width (64 = 512x512 images)',
      parseLatentSize('--latent'),
      64,
    )
    .option('--n <list>', 'estimate steps', parseIntegerList('--n'), [1, 4, 8])
    .option(
      '--methods <list>',
      `gradient methods (${GRADIENT_METHODS.join(', ')}); direct always runs, as the reference`,
      parseChoiceList('--methods', GRADIENT_METHODS),
      ['symplectic', 'checkpointed', 'direct'],
    )
    .option('--timestep <t>', 'where the estimate starts', parseInteger('--timestep', 1, 999), 700)
    .option('--repeats <count>', 'timed runs per row (median)', parseInteger('--repeats', 1), 3)
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .option(
      '--profile',
      'also profile one forward and one input VJP (tf.grad and VJP graph): kernel launches and time per kernel (times on webgpu)',
    )
    .option('--no-vjp-graph', "skip the UNet's VJP graph (its rows: input VJP and symplectic through it)")

    .option(
      '--executor <list>',
      `how converted graphs run on webgpu, each in turn: ${GRAPH_EXECUTORS.join(', ')} (recorded: dispatches recorded once per input shape and replayed; tfjs: every op issued by tfjs)`,
      parseChoiceList('--executor', GRAPH_EXECUTORS),
      ['recorded'],
    )
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const backend = await startBackend(parseBackendChoice(opts.backend));
        const config = scaledSdV15UnetConfig(opts.scale);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-bench-unet-'));
        let unet: ConvertedGraph | null = null;
        try {
          const began = performance.now();
          const { unetDir, parameters } = await writeSyntheticUnetGraph(
            dir,
            config,
            0,
            fusedOpsOfFlag(opts.fusedOps),
          );
          if (opts.vjpGraph)
            await appendUnetVjpGraph(unetDir, parseUnetConfig(config, 'synthetic UNet config'), 77, (line) =>
              process.stderr.write(`${line}\n`),
            );
          unet = await ConvertedGraph.load(unetDir);
          process.stderr.write(
            `UNet: ${(parameters / 1e6).toFixed(1)} M parameters (scale ${opts.scale}), latents ${opts.latent}x${opts.latent}x4, text 77x${config.cross_attention_dim}; built in ${((performance.now() - began) / 1000).toFixed(1)} s; ${backend.description}${deviceLimits()}\n`,
          );
          const rows = await runUnetBench({
            unet,
            latentSize: opts.latent,
            latentChannels: 4,
            textDim: config.cross_attention_dim as number,
            ns: opts.n,
            methods: opts.methods,
            repeats: opts.repeats,
            timestep: opts.timestep,
            executors: opts.executor,
            onRow: opts.json
              ? undefined
              : (r) =>
                  process.stderr.write(
                    `  ${r.operation} ${r.method ?? ''} n=${r.n ?? '-'} b=${r.batch} (${r.executor}): ${r.ms.toFixed(1)} ms\n`,
                  ),
          });
          const shapes = {
            unet,
            latentSize: opts.latent,
            latentChannels: 4,
            textDim: config.cross_attention_dim as number,
          };
          const profiles = opts.profile ? await profileUnet(shapes) : null;
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ backend: backend.description, parameters, scale: opts.scale, latent: opts.latent, rows, profiles }, null, 2)}\n`
              : `${formatUnetBenchTable(rows)}\n`,
          );
          if (profiles && !opts.json) {
            const titles = {
              forward: 'forward, batch 1',
              vjp: 'input VJP through tf.grad, batch 1',
              vjpGraph: 'input VJP through the VJP graph, batch 1',
            };
            for (const [name, title] of Object.entries(titles)) {
              const profile = profiles[name as keyof typeof titles];
              if (profile) process.stdout.write(`\n${formatKernelProfile(title, profile)}\n`);
            }
          }
        } finally {
          unet?.dispose();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
  return withFusedOpsFlags(command, 'build the UNet');
}
