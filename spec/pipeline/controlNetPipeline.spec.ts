import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertControlNet } from '../../converters/sd/convertControlNet';
import { convertClip } from '../../converters/clip/convertClip';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { imageFileToTensor, writeImageFile } from '../../lib/io/imageFile';
import { ControlNetModel } from '../../lib/models/controlNetModel';
import { StableDiffusionModels } from '../../lib/models/stableDiffusionModels';
import { LatentDenoiser } from '../../lib/pipeline/latentDenoiser';
import { relativeL2 } from '../helpers/relativeError';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { repoFixtureDir } from '../helpers/fixtures';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName, useTestBackend } from '../helpers/testBackend';
import { writeSdTinyControlNet } from '../helpers/tinyControlNet';

let tmp: string;
let pipeline: Pipeline;
let conditionImage: string;

beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('controlnet-pipeline');
  await convertStableDiffusion(path.join(repoFixtureDir(), 'sd-tiny'), path.join(tmp, 'sd'), {
    dtype: 'float32',
  });
  await convertClip(path.join(repoFixtureDir(), 'clip-tiny'), path.join(tmp, 'clip'), { dtype: 'float32' });
  writeSdTinyControlNet(path.join(tmp, 'controlnet-src'));
  await convertControlNet(path.join(tmp, 'controlnet-src'), path.join(tmp, 'controlnet'), {
    dtype: 'float32',
  });
  conditionImage = path.join(tmp, 'depth.png');
  // A left-to-right ramp, like a depth map of a slanted plane (at another size than the output: it is resized).
  const ramp = tf.tidy(() =>
    tf.tile(tf.reshape(tf.linspace(0, 1, 48), [1, 48, 1]), [48, 1, 3]),
  ) as tf.Tensor3D;
  await writeImageFile(conditionImage, ramp);
  ramp.dispose();
  pipeline = await Pipeline.load({
    model: path.join(tmp, 'sd'),
    clip: path.join(tmp, 'clip'),
    controlnet: path.join(tmp, 'controlnet'),
    backend: testBackendName(),
    announceBackend: false,
  });
});

afterAll(() => {
  pipeline?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function image(options: Partial<GenerateOptions>): Promise<{ values: Float32Array; losses: number[] }> {
  const result = await pipeline.generate(
    { prompt: 'a cat', steps: 3, size: [64, 64], seed: 5, ...options },
    { onWarning: () => undefined },
  );
  const values = (await result.images.data()) as Float32Array;
  result.images.dispose();
  return { values, losses: result.finalLosses };
}

describe('generate with a ControlNet', () => {
  test('the condition changes the image; scale 0 gives exactly the image without one', async () => {
    const plain = await image({});
    const controlled = await image({ control: conditionImage });
    const zero = await image({ control: conditionImage, controlScale: 0 });
    expect(controlled.values).not.toEqual(plain.values);
    expect(zero.values).toEqual(plain.values);
  });

  test('SAG guides through UNet + ControlNet: finite losses, another image', async () => {
    const memoryBefore = tf.memory().numTensors;
    const unguided = await image({ control: conditionImage, guidance: ['clip'], method: 'none' });
    const guided = await image({
      control: conditionImage,
      guidance: ['clip'],
      method: 'sag',
      n: 2,
      rhoScale: 0.5,
    });
    expect(guided.losses.every(Number.isFinite)).toBe(true);
    expect(guided.values).not.toEqual(unguided.values);
    expect(tf.memory().numTensors).toBe(memoryBefore);
  });

  test('bad inputs name the option', async () => {
    const noControlNet = await Pipeline.load({
      model: path.join(tmp, 'sd'),
      backend: testBackendName(),
      announceBackend: false,
    });
    try {
      await expect(noControlNet.generate({ control: conditionImage, steps: 1 })).rejects.toThrow(
        'a condition image needs a ControlNet (--controlnet <dir>)',
      );
    } finally {
      noControlNet.dispose();
    }
    const otherDir = path.join(tmp, 'other-controlnet');
    await convertControlNet(path.join(__dirname, '..', 'fixtures', 'controlnet', 'controlnet'), otherDir, {
      dtype: 'float32',
    });
    const run = await runCli([
      'generate',
      '--model',
      path.join(tmp, 'sd'),
      '--controlnet',
      otherDir,
      '--control',
      conditionImage,
      '--steps',
      '1',
      '--out',
      path.join(tmp, 'x.png'),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`--controlnet ${otherDir}: made for another UNet`);
    expect(fs.existsSync(path.join(tmp, 'x.png'))).toBe(false);
  });

  test('sag generate --controlnet --control from the shell records them', async () => {
    const out = path.join(tmp, 'cli.png');
    const run = await runCli([
      'generate',
      '--model',
      path.join(tmp, 'sd'),
      '--controlnet',
      path.join(tmp, 'controlnet'),
      '--control',
      conditionImage,
      '--control-scale',
      '0.8',
      '--prompt',
      'a cat',
      '--steps',
      '2',
      '--size',
      '64',
      '--out',
      out,
      '--report',
      path.join(tmp, 'cli.json'),
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(tmp, 'cli.json'), 'utf8'));
    expect(report.models.controlnet).toBe(path.join(tmp, 'controlnet'));
    expect(report.runs[0].options.control).toBe(conditionImage);
    expect(report.runs[0].options.controlScale).toBe(0.8);
  });

  test('stylize-video with --controlnet and --depth: a condition image per frame, frames from the same noise, batched', async () => {
    const frames = path.join(tmp, 'video-frames');
    const depth = path.join(tmp, 'video-depth');
    fs.mkdirSync(frames);
    fs.mkdirSync(depth);
    for (const i of [0, 1]) {
      fs.copyFileSync(conditionImage, path.join(frames, `${i}.png`));
      fs.copyFileSync(conditionImage, path.join(depth, `${i}.png`));
    }
    const out = path.join(tmp, 'video-out');
    const run = await runCli([
      'stylize-video',
      frames,
      '--model',
      path.join(tmp, 'sd'),
      '--clip',
      path.join(tmp, 'clip'),
      '--controlnet',
      path.join(tmp, 'controlnet'),
      '--depth',
      depth,
      '--style',
      conditionImage,
      '--prompt',
      'a cat',
      '--steps',
      '2',
      '--size',
      '64',
      '--batch',
      '2',
      '--out',
      out,
    ]);
    expect(run.code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'frames'))).toHaveLength(2);
    // One batch of two (each with its condition image, CFG doubling the batch), same noise, same condition, same
    // prompt: the two frames are the same image.
    expect(fs.readFileSync(path.join(out, 'frames', '0000.png'))).toEqual(
      fs.readFileSync(path.join(out, 'frames', '0001.png')),
    );
  });

  test("a controlled denoiser's VJP through the VJP graphs equals tf.grad through UNet + ControlNet", () => {
    const sd = pipeline.sd as StableDiffusionModels;
    const make = (graphs: boolean) =>
      new LatentDenoiser(
        sd,
        tf.randomNormal([1, 77, sd.manifest.crossAttentionDim], 0, 1, 'float32', 1),
        tf.randomNormal([1, 77, sd.manifest.crossAttentionDim], 0, 1, 'float32', 2),
        3,
        graphs,
        {
          net: pipeline.controlnet as ControlNetModel,
          condition: imageFileToTensor(conditionImage, 3, [64, 64]),
          scale: 0.9,
        },
      );
    const withGraphs = make(true);
    const withTape = make(false);
    try {
      expect(withGraphs.eps.vjp).toBeDefined();
      expect(withTape.eps.vjp).toBeUndefined();
      const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3);
      const dy = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 4);
      const byGraphs = (withGraphs.eps.vjp as NonNullable<typeof withGraphs.eps.vjp>)(x, 400, dy);
      const byTape = tf.grad((v: tf.Tensor) => withTape.eps(v, 400))(x, dy);
      expect(relativeL2(byGraphs, byTape)).toBeLessThan(1e-5);
      tf.dispose([x, dy, byGraphs, byTape]);
    } finally {
      withGraphs.dispose();
      withTape.dispose();
    }
  });
});
