import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES } from '../../lib/backend';
import { CROSS_FRAME_MODES, CrossFrameMode } from '../../lib/models/frameMix';
import { writeImageFile } from '../../lib/io/imageFile';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { generateOptionsToJson } from '../../lib/options/optionsJson';
import { packageRoot, packageVersion } from '../../lib/packageRoot';
import { ownSagCommand } from '../../lib/sagProcess';
import { DEMO_STYLE_DIGIT, digitDemoFrames } from '../../lib/video/digitDemo';
import { flicker } from '../../lib/video/flicker';
import { FrameJob, frameJobs } from '../../lib/video/frameJob';
import { countStylizedFrames, frameName, readStylizedFrames } from '../../lib/video/frameJobShard';
import { StylizedFrame, stylizeFrames } from '../../lib/video/stylizeVideo';
import { framePaths, readVideoFrames } from '../../lib/video/videoFrames';
import { writeFfmpegVideo, writeGif } from '../../lib/video/writeVideo';
import { guarded } from '../cliErrors';
import { loadPipelineFromFlags, modelFlagArguments } from '../modelFlags';
import { addGenerationFlags, generationOptionsOf } from '../generationFlags';
import { parseInteger } from '../optionParsers';
import { runShardWorkers, wasmThreadsPerWorker } from '../shardWorkers';
import { checkOutputDirectory, writeDirectoryAtomically } from '../../lib/io/outputDirectory';
import { makeDirectories } from '../../lib/io/makeDirectories';

/**
 * Every frame starts from itself (img2img, keeping the motion) and is guided toward --style; with --depth the frames
 * start from the same pure noise and the ControlNet keeps the motion instead.
 */
const VIDEO_PRESET: Partial<GenerateOptions> = { guidance: ['style'], strength: 0.3 };
/** The digit model moves strokes easily: a gentler guidance keeps the moving digit recognisable. */
const DEMO_PRESET: Partial<GenerateOptions> = { ...VIDEO_PRESET, rhoScale: 0.02 };

interface VideoFlags extends Partial<GenerateOptions> {
  out: string;
  demo?: boolean;
  frames: number;
  stride: number;
  depth?: string;
  baseline?: boolean;
  /** Frames per generation; default 1, or every frame with --cross-frame. */
  batch?: number;
  workers: number;
  crossFrame?: CrossFrameMode;
  video?: string;
  overwrite?: boolean;
  model?: string;
  clip?: string;
  controlnet?: string;
  classifier?: string;
  backend: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Writes frames as numbered PNGs (0000.png, ...) into `dir`. */
async function writeFrames(dir: string, frames: tf.Tensor3D[]): Promise<string[]> {
  makeDirectories(dir);
  const files: string[] = [];
  for (const [i, frame] of frames.entries()) {
    const file = path.join(dir, `${frameName(i)}.png`);
    await writeImageFile(file, frame);
    files.push(file);
  }
  return files;
}

/** Stylized frames as numbered PNGs in `dir/folder` and as an animated GIF `dir/gif`. */
async function writeFramesAndGif(
  dir: string,
  folder: string,
  gif: string,
  frames: StylizedFrame[],
  fps: number,
): Promise<void> {
  const images = frames.map((f) => f.image);
  await writeFrames(path.join(dir, folder), images);
  await writeGif(path.join(dir, gif), images, fps);
}

/**
 * The frame jobs run by `flags.workers` child processes (`sag frame-jobs`, whole batches each), read back from the
 * PNG frames they write (8-bit, as the output frames are). The caller disposes the images.
 */
async function stylizeInWorkers(
  jobs: FrameJob[],
  label: string,
  flags: VideoFlags,
): Promise<StylizedFrame[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-frame-jobs-'));
  try {
    const jobsFile = path.join(work, 'jobs.json');
    fs.writeFileSync(jobsFile, JSON.stringify(jobs));
    const framesDir = path.join(work, 'frames');
    const threads = wasmThreadsPerWorker(flags.workers);
    let reported = 0;
    await runShardWorkers({
      command: ownSagCommand(),
      args: [
        'frame-jobs',
        jobsFile,
        '--out-dir',
        framesDir,
        '--batch',
        String(flags.batch ?? 1),
        '--backend',
        flags.backend,
        ...modelFlagArguments(flags),
      ],
      workers: flags.workers,
      env: { SAG_WASM_THREADS: String(threads) },
      onPoll: () => {
        const done = countStylizedFrames(framesDir);
        if (done > reported) log(`${label} frames ${done}/${jobs.length} (${flags.workers} workers)`);
        reported = done;
      },
    });
    return readStylizedFrames(framesDir, jobs);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Frames per generation. Cross-frame attention couples the frames of a generation, so they must all be in one:
 * every frame in a single batch, in this process.
 */
function framesPerGeneration(flags: VideoFlags, frames: number): number {
  if (!flags.crossFrame) return flags.batch ?? 1;
  if (flags.workers > 1)
    throw new Error(
      `--cross-frame ${flags.crossFrame}: the frames attend to each other, so they cannot be split across --workers ${flags.workers}`,
    );
  if (flags.batch !== undefined && flags.batch < frames)
    throw new Error(
      `--cross-frame ${flags.crossFrame}: every frame must be in one generation (--batch ${frames} or more, or leave --batch out), got --batch ${flags.batch}`,
    );
  return frames;
}

async function runVideo(input: string | undefined, flags: VideoFlags): Promise<void> {
  if (!input && !flags.demo)
    throw new Error('<input>: expected a folder of frames, a .gif or a video (or --demo)');
  if (input && flags.demo) throw new Error('--demo: takes no <input> (it makes its own)');
  if (input && !fs.existsSync(input)) throw new Error(`${input}: file or folder not found`);
  if (flags.depth && !flags.controlnet)
    throw new Error('--depth: condition images need a ControlNet (--controlnet <dir>)');
  const style = flags.style ?? (flags.demo ? path.join(packageRoot(), DEMO_STYLE_DIGIT) : undefined);
  if (!style) throw new Error('--style <image> is required');
  checkOutputDirectory('--out', flags.out, flags.overwrite ?? false);
  if (flags.demo && flags.model) throw new Error('--demo: runs on the embedded digit model (drop --model)');
  // The backend first: the demo's frames are made on it.
  const pipeline = await loadPipelineFromFlags(flags);
  const held: tf.Tensor[] = [];
  const warned = new Set<string>();
  try {
    const source = flags.demo
      ? { frames: digitDemoFrames(flags.frames), fps: 8 }
      : readVideoFrames(input as string, { frames: flags.frames, stride: flags.stride });
    held.push(...source.frames);
    const size = flags.size ?? pipeline.defaultSize;
    const inputFrames = source.frames.map((f) => tf.tidy(() => tf.image.resizeBilinear(f, size, true)));
    held.push(...inputFrames);
    const depth = flags.depth
      ? framePaths(flags.depth, { frames: inputFrames.length, stride: flags.stride })
      : undefined;
    if (depth && depth.length < inputFrames.length) {
      throw new Error(`--depth ${flags.depth}: ${depth.length} images for ${inputFrames.length} frames`);
    }
    const batch = framesPerGeneration(flags, inputFrames.length);
    const options: Partial<GenerateOptions> = {
      ...(flags.demo ? DEMO_PRESET : VIDEO_PRESET),
      ...generationOptionsOf(flags as unknown as Record<string, unknown>),
      style,
      size,
    };
    await writeDirectoryAtomically(
      '--out',
      flags.out,
      flags.overwrite ?? false,
      'stylize-video',
      async (tmp) => {
        const inputFiles = await writeFrames(path.join(tmp, 'input'), inputFrames);
        await writeGif(path.join(tmp, 'input.gif'), inputFrames, source.fps);
        const run = async (label: string, runOptions: Partial<GenerateOptions>): Promise<StylizedFrame[]> => {
          const jobs = frameJobs(
            inputFiles,
            runOptions,
            depth ? { controls: depth, img2img: false } : { img2img: true },
          );
          if (flags.workers > 1) {
            const frames = await stylizeInWorkers(jobs, label, flags);
            held.push(...frames.map((f) => f.image));
            return frames;
          }
          const frames = await stylizeFrames(pipeline, jobs, {
            batch,
            crossFrame: flags.crossFrame ?? null,
            // Every frame repeats the run's warnings: each is said once.
            onWarning: (message) => {
              if (warned.has(message)) return;
              warned.add(message);
              log(`warning: ${message}`);
            },
            onFrame: (frame, done) =>
              log(
                `${label} frame ${done}/${jobs.length}: ${(frame.ms / 1000).toFixed(1)} s${frame.loss === null ? '' : `, style loss ${frame.loss.toPrecision(4)}`}`,
              ),
          });
          held.push(...frames.map((f) => f.image));
          return frames;
        };
        const threads = wasmThreadsPerWorker(flags.workers);
        const ranOn =
          flags.workers <= 1
            ? pipeline.backend.description
            : `${pipeline.backend.name} in ${flags.workers} worker processes` +
              (pipeline.backend.name === 'wasm' ? `, ${threads} thread${threads > 1 ? 's' : ''} each` : '');
        const start = performance.now();
        const stylized = await run('stylized', options);
        const elapsedMin = (performance.now() - start) / 60000;
        await writeFramesAndGif(tmp, 'frames', 'stylized.gif', stylized, source.fps);
        if (flags.video)
          writeFfmpegVideo(path.join(tmp, path.basename(flags.video)), path.join(tmp, 'frames'), source.fps);
        const baseline = flags.baseline ? await run('unguided', { ...options, method: 'none' }) : null;
        if (baseline) {
          await writeFramesAndGif(tmp, 'baseline', 'baseline.gif', baseline, source.fps);
        }
        const flickerOf = {
          input: await flicker(inputFrames),
          stylized: await flicker(stylized.map((f) => f.image)),
          baseline: baseline ? await flicker(baseline.map((f) => f.image)) : null,
        };
        const report = {
          tool: 'sag',
          sagVersion: packageVersion(),
          createdAt: new Date().toISOString(),
          argv: process.argv.slice(2),
          command: 'stylize-video',
          input: flags.demo
            ? 'demo (weights/examples/digit-style-4.png, moving)'
            : path.resolve(input as string),
          backend: ranOn,
          frames: stylized.length,
          fps: source.fps,
          batch,
          workers: flags.workers,
          crossFrame: flags.crossFrame ?? null,
          options: generateOptionsToJson(pipeline.resolveOptions(options, () => undefined)),
          framesPerMinute: stylized.length / elapsedMin,
          perFrame: stylized.map((f, i) => ({
            index: f.index,
            styleLoss: f.loss,
            baselineStyleLoss: baseline ? baseline[i].loss : null,
            ms: Math.round(f.ms),
          })),
          // Mean absolute difference between consecutive frames, and relative to the input's.
          flicker: {
            ...flickerOf,
            stylizedRelative: flickerOf.input > 0 ? flickerOf.stylized / flickerOf.input : null,
            baselineRelative:
              flickerOf.baseline !== null && flickerOf.input > 0
                ? flickerOf.baseline / flickerOf.input
                : null,
          },
        };
        fs.writeFileSync(path.join(tmp, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
        log(
          `wrote ${flags.out}: frames/, stylized.gif${flags.video ? `, ${path.basename(flags.video)}` : ''}, input.gif${baseline ? ', baseline/, baseline.gif' : ''}, report.json`,
        );
        log(`${stylized.length} frames at ${report.framesPerMinute.toFixed(1)} frames per minute (${ranOn})`);
        if (baseline) {
          const lower = stylized.filter(
            (f, i) => f.loss !== null && baseline[i].loss !== null && f.loss < (baseline[i].loss as number),
          ).length;
          log(`style loss lower than the unguided run's on ${lower} of ${stylized.length} frames`);
        }
        const relative = (x: number | null) =>
          x === null || flickerOf.input === 0 ? '' : ` (${(x / flickerOf.input).toFixed(2)}x the input's)`;
        log(
          `flicker (mean |frame - previous|): input ${flickerOf.input.toFixed(4)}, stylized ${flickerOf.stylized.toFixed(4)}${relative(flickerOf.stylized)}${flickerOf.baseline === null ? '' : `, unguided ${flickerOf.baseline.toFixed(4)}${relative(flickerOf.baseline)}`}`,
        );
      },
    );
  } finally {
    tf.dispose(held);
    pipeline.dispose();
  }
}

export function stylizeVideoCommand(): Command {
  return addGenerationFlags(
    new Command('stylize-video')
      .description(
        'stylize a video frame by frame: every frame starts from itself (img2img, --strength) with the same noise and is guided toward --style; optional ControlNet condition per frame (--depth)',
      )
      .argument('[input]', 'a folder of frames (PNG/JPEG), a .gif, or an .mp4/.webm/.mov (needs ffmpeg)')
      .requiredOption(
        '--out <dir>',
        'output folder: frames/, stylized.gif, input.gif, report.json (written atomically)',
      )
      .option(
        '--demo',
        'the embedded demo: the shipped digit 4 moving over 16 frames, styled like the shipped 8',
      )
      .option('--frames <count>', 'at most this many frames', parseInteger('--frames', 1, 1000), 16)
      .option('--stride <k>', 'every k-th frame of the input', parseInteger('--stride', 1), 1)
      .option(
        '--batch <k>',
        'frames per generation: faster per frame (one batched run), but the guidance step size is then shared by the batch (default: 1; with --cross-frame every frame)',
        parseInteger('--batch', 1, 1000),
      )
      .addOption(
        new Option(
          '--cross-frame <mode>',
          "cross-frame attention: the UNet's self-attentions take keys and values from the first frame, or from the previous one (Text2Video-Zero); steadier textures, all frames in one generation",
        ).choices([...CROSS_FRAME_MODES]),
      )
      .option(
        '--workers <count>',
        'processes that stylize batches of frames in parallel (wasm threads are shared out between them)',
        parseInteger('--workers', 1, 64),
        1,
      )
      .option(
        '--depth <folder>',
        'condition images for --controlnet, one per frame in name order (e.g. depth maps)',
      )
      .option(
        '--baseline',
        'also run unguided with the same settings: per-frame losses and flicker to compare',
      )
      .option(
        '--video <file.mp4|file.webm>',
        'also write the stylized frames as a video file in --out (needs ffmpeg)',
      )
      .option('--overwrite', 'replace an output folder that sag wrote (never a folder holding anything else)')
      .option('--model <dir>', "a 'sag convert sd' directory (default: the embedded digit model)")
      .option('--clip <dir>', "a 'sag convert clip' directory (the style loss of Stable Diffusion models)")
      .option(
        '--controlnet <dir>',
        "a 'sag convert controlnet' directory; --depth gives its condition images",
      )
      .option(
        '--classifier <dir>',
        'an image classifier directory (the style loss of pixel models; default: the embedded one)',
      )
      .addOption(
        new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
      ),
    {
      omit: ['guidance', 'initImage', 'control', 'num', 'ref', 'target'],
      preset: VIDEO_PRESET,
      defaultNotes: {
        strength: '0.3 (img2img from each frame; with --depth every frame starts from the same noise)',
        rhoScale: "the model's (--demo: 0.02)",
      },
    },
  )
    .addHelpText(
      'after',
      `
Examples:
  sag stylize-video --demo --baseline --out demo-video
  sag stylize-video dog.mp4 --model models/sd15 --clip models/clip-b16 --controlnet models/cn-depth --depth dog-depth/ --prompt "a cat running" --style sketch.png --out cat-video`,
    )
    .action(guarded(async (input: string | undefined, flags: VideoFlags) => runVideo(input, flags)));
}
