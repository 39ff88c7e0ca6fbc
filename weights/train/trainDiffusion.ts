/**
 * Trains the embedded pixel-space diffusion UNet on the 9,000 training digits (eps-prediction, 1000-step DDPM
 * linear schedule) and writes its EMA weights as a safetensors checkpoint.
 *
 *   npx tsx weights/train/trainDiffusion.ts --minutes 75 --out weights/train/out [--backend wasm|webgpu]
 *     [--init weights/train/out/digit-unet-ema.safetensors --lr 3e-4 --seed 2]   (continue from saved weights)
 *
 * Seeded: batches, timesteps and noise come from --seed. With --init, training continues from a saved
 * checkpoint (its EMA weights; the optimizer state starts fresh).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseBackendChoice, startBackend } from '../../lib/backend';
import { NoiseSchedule, parseSchedulerConfig } from '../../lib/schedule';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { loadDigits } from './mnistData';
import { PixelUnetModel } from './pixelUnetModel';
import { EMBEDDED_UNET_SPEC } from '../../converters/pixel/pixelUnetSpec';
import { seededRandom } from '../../lib/seededRandom';
import { DIGIT_SCHEDULER_CONFIG } from './digitScheduler';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const minutes = Number(arg('minutes', '60'));
  const maxSteps = Number(arg('steps', '1000000'));
  const out = arg('out', 'weights/train/out');
  const seed = Number(arg('seed', '1'));
  const batch = Number(arg('batch', '48'));
  await startBackend(parseBackendChoice(arg('backend', 'wasm')));
  fs.mkdirSync(out, { recursive: true });
  const { train } = loadDigits();
  const schedule = new NoiseSchedule(parseSchedulerConfig(DIGIT_SCHEDULER_CONFIG));
  const model = new PixelUnetModel(EMBEDDED_UNET_SPEC, seed);
  const init = arg('init', '');
  let stepOffset = 0;
  if (init) stepOffset = model.importParameters(init);
  const baseLr = Number(arg('lr', '1e-3'));
  const ema = new Map([...model.params].map(([k, v]) => [k, tf.variable(v.clone(), false)]));
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const rand = seededRandom(seed);
  const logFile = path.join(out, 'train-diffusion.log');
  const log = { write: (line: string) => fs.appendFileSync(logFile, line) };
  const start = Date.now();
  let step = 0;
  let running = 0;
  const save = () => {
    const entries = model.exportParameters();
    // EMA weights, same layout conversion as the live ones.
    const emaModel = new Map(entries.map(([name]) => [name, ema.get(name) as tf.Variable]));
    const exported = entries.map(([name, shape]) => {
      const v = emaModel.get(name) as tf.Variable;
      const data = tf.tidy(
        () =>
          (v.rank === 4
            ? tf.transpose(v, [3, 2, 0, 1])
            : v.rank === 2
              ? tf.transpose(v)
              : v
          ).dataSync() as Float32Array,
      );
      return [name, shape, data] as const;
    });
    const file = path.join(out, 'digit-unet-ema.safetensors');
    writeSafetensors(
      `${file}.tmp`,
      exported.map(([n, s]) => [n, s]),
      (name) => exported.find((e) => e[0] === name)?.[2] as Float32Array,
      {
        format: 'pt',
        steps: String(stepOffset + step),
        initSteps: String(stepOffset),
        spec: JSON.stringify(EMBEDDED_UNET_SPEC),
      },
    );
    fs.renameSync(`${file}.tmp`, file);
  };
  while ((Date.now() - start) / 60000 < minutes && step < maxSteps) {
    const indices = Array.from({ length: batch }, () => Math.floor(rand() * train.count));
    const timesteps = indices.map(() => Math.floor(rand() * 1000));
    const lr = baseLr * Math.min(1, (step + 1) / 200);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const loss = tf.tidy(() => {
      const x0 = tf.tensor4d(
        Float32Array.from(
          indices.flatMap((i) => Array.from(train.images.subarray(i * 1024, (i + 1) * 1024))),
        ),
        [batch, 32, 32, 1],
      );
      const noise = tf.randomNormal([batch, 32, 32, 1], 0, 1, 'float32', seed * 1000003 + step);
      const a = tf.tensor1d(timesteps.map((t) => Math.sqrt(schedule.abar(t)))).reshape([batch, 1, 1, 1]);
      const s = tf.tensor1d(timesteps.map((t) => Math.sqrt(1 - schedule.abar(t)))).reshape([batch, 1, 1, 1]);
      const xt = tf.add(tf.mul(x0, a), tf.mul(noise, s)) as tf.Tensor4D;
      return optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(model.apply(xt, timesteps), noise))) as tf.Scalar,
        true,
      ) as tf.Scalar;
    });
    const value = loss.dataSync()[0];
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`training diverged at step ${step}`);
    const decay = Math.min(0.999, (1 + step) / (10 + step));
    tf.tidy(() => {
      for (const [k, v] of model.params)
        (ema.get(k) as tf.Variable).assign(
          tf.add(tf.mul(ema.get(k) as tf.Variable, decay), tf.mul(v, 1 - decay)),
        );
    });
    running = step === 0 ? value : 0.98 * running + 0.02 * value;
    step++;
    if (step % 50 === 0)
      log.write(
        `step ${step} loss ${running.toFixed(4)} lr ${lr.toExponential(1)} elapsed ${((Date.now() - start) / 1000).toFixed(0)}s\n`,
      );
    if (step % 250 === 0) save();
  }
  save();
  log.write(`done: ${step} steps, ${(model.parameterCount() / 1e3).toFixed(0)}k parameters\n`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
