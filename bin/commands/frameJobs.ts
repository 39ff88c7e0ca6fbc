import * as fs from 'fs';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES } from '../../lib/backend';
import { FrameJob } from '../../lib/video/frameJob';
import { shardFrameJobs, writeStylizedFrame } from '../../lib/video/frameJobShard';
import { stylizeFrames } from '../../lib/video/stylizeVideo';
import { guarded } from '../cliErrors';
import { loadPipelineFromFlags } from '../modelFlags';
import { parseInteger, parseShard } from '../optionParsers';
import { makeDirectories } from '../../lib/io/makeDirectories';

/**
 * `sag frame-jobs <jobs.json>` (hidden): the worker of `stylize-video --workers`. Runs its shard of the frame jobs
 * and writes each frame to --out-dir as it finishes.
 */
export function frameJobsCommand(): Command {
  return new Command('frame-jobs')
    .description('run a share of serialised frame jobs (the worker of stylize-video --workers)')
    .argument('<jobs>', 'a JSON file with the frame jobs')
    .requiredOption('--out-dir <dir>', 'where each frame goes (<index>.png and <index>.json)')
    .requiredOption('--shard <i/count>', 'run every count-th batch from i', parseShard)
    .option('--batch <k>', 'frames per generation', parseInteger('--batch', 1, 256), 1)
    .option('--model <dir>', 'a converted model (default: the embedded digit model)')
    .option('--clip <dir>', "a 'sag convert clip' directory")
    .option('--controlnet <dir>', "a 'sag convert controlnet' directory")
    .option('--classifier <dir>', 'an image classifier directory')
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .action(
      guarded(async (jobsFile: string, flags) => {
        const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8')) as FrameJob[];
        const pipeline = await loadPipelineFromFlags(flags, { announceBackend: false });
        makeDirectories(flags.outDir);
        try {
          // Each frame is written as soon as it is done (the parent counts them for its progress).
          let written = Promise.resolve();
          const frames = await stylizeFrames(pipeline, shardFrameJobs(jobs, flags.batch, flags.shard), {
            batch: flags.batch,
            onFrame: (frame) => {
              written = written.then(() => writeStylizedFrame(flags.outDir, frame));
            },
          });
          await written.finally(() => frames.forEach((frame) => frame.image.dispose()));
        } finally {
          pipeline.dispose();
        }
      }),
    );
}
