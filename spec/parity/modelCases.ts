import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../../lib/adjoint';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { ClipTokenizer } from '../../lib/models/clipTokenizer';
import { makeEstimateProblem } from '../../lib/ode';
import { NoiseSchedule } from '../../lib/schedule';
import { BackendChoice, startBackend } from '../../lib/backend';
import { readValues } from '../../lib/backend/readTensor';
import { useTestBackend } from '../helpers/testBackend';
import { FixtureCase, casePath, fixtureDir, readManifest } from '../helpers/fixtures';
import { toNchw, toNhwc } from '../helpers/layout';
import { relativeL2 } from '../helpers/relativeError';
import { FixtureModels } from './fixtureModels';
import * as path from 'path';

function withTensors<T>(fixture: FixtureCase, fn: (file: SafetensorsFile) => Promise<T>): Promise<T> {
  const file = SafetensorsFile.open(casePath(fixture.tensors));
  return fn(file).finally(() => file.close());
}

/** Reads a case tensor converted to our layout. */
function input(file: SafetensorsFile, name: string): tf.Tensor {
  return tf.tidy(() => toNhwc(file.readTensor(name)));
}

type Runner = (fixture: FixtureCase, file: SafetensorsFile) => Promise<void>;

/**
 * Every model case of the fixture manifest ($SAG_FIXTURES), run through the converted models on `backend` (default:
 * the test backend, wasm or $SAG_TEST_BACKEND). The 'scheduler' component is handled in schedulerCases.spec.ts.
 * Reads are asynchronous, so the same cases run on webgpu. With `passes` > 1 each case runs that many times on the
 * same loaded models (on webgpu the first run of a graph records it, later runs replay the recording).
 */
export function defineModelParityCases(backend?: BackendChoice, passes = 1): void {
  const manifest = readManifest();
  const tolerance = manifest.tolerance.relative_l2;
  const models = new FixtureModels();
  const worst: Record<string, number> = {};

  beforeAll(async () => {
    if (backend) await startBackend(backend, { announce: false });
    else await useTestBackend();
  });
  afterAll(async () => {
    await models.dispose();
    const lines = Object.entries(worst).map(([k, v]) => `  ${k.padEnd(40)} ${v.toExponential(2)}`);
    if (process.env.SAG_PARITY_REPORT)
      process.stdout.write(
        `worst relative L2 per case/output (${backend ?? 'test backend'}):\n${lines.join('\n')}\n`,
      );
  });

  async function expectClose(
    caseName: string,
    label: string,
    got: tf.Tensor,
    expected: tf.Tensor,
  ): Promise<void> {
    expect(got.shape).toEqual(expected.shape);
    const error = relativeL2(await readValues(got), await readValues(expected));
    worst[`${caseName}.${label}`] = error;
    expect(error).toBeLessThanOrEqual(tolerance);
  }

  const runners: Record<string, Runner> = {
    tokenizer: async (fixture, file) => {
      const tokenizer = ClipTokenizer.fromDirectory(path.join(fixtureDir(), fixture.model as string));
      const expected = file.readInt32('input_ids');
      const prompts = fixture.prompts ?? [];
      const length = file.entry('input_ids').shape[1];
      prompts.forEach((prompt, i) => {
        expect(tokenizer.encode(prompt).ids).toEqual([...expected.subarray(i * length, (i + 1) * length)]);
      });
    },

    text_encoder: async (fixture, file) => {
      const sd = await models.stableDiffusion(fixture.model as string);
      const ids = file.readTensor(fixture.inputs?.input_ids ?? 'input_ids');
      const out = sd.encodeTokens(ids);
      for (const [output, tensorName] of Object.entries(fixture.outputs ?? {})) {
        expect(output).toBe('last_hidden_state');
        await expectClose(fixture.name, output, out, file.readTensor(tensorName));
      }
      tf.dispose([ids, out]);
    },

    unet: async (fixture, file) => {
      const sd = await models.stableDiffusion(fixture.model as string);
      const names = fixture.inputs ?? {};
      const sample = input(file, names.sample ?? 'sample');
      const timestep = file.readTensor(names.timestep ?? 'timestep');
      const context = file.readTensor(names.encoder_hidden_states ?? 'encoder_hidden_states');
      const out = sd.unet(sample, timestep, context);
      await expectClose(
        fixture.name,
        'out',
        toNchw(out),
        file.readTensor(Object.values(fixture.outputs ?? { out: 'out' })[0]),
      );
      if (fixture.vjp) {
        const cotangent = input(file, fixture.vjp.cotangent as string);
        const grad = tf.grad((x: tf.Tensor) => sd.unet(x, timestep, context))(sample, cotangent);
        await expectClose(
          fixture.name,
          `vjp(${fixture.vjp.wrt})`,
          toNchw(grad),
          file.readTensor(fixture.vjp.expected),
        );
        // The converter's VJP graph, where it wrote one, must give the same gradient.
        if (sd.unetVjpGraph)
          await expectClose(
            fixture.name,
            `vjp graph(${fixture.vjp.wrt})`,
            toNchw(sd.unetVjp(sample, timestep, context, cotangent)),
            file.readTensor(fixture.vjp.expected),
          );
      }
    },

    vae_decoder: async (fixture, file) => {
      const sd = await models.stableDiffusion(fixture.model as string);
      const latent = input(file, fixture.inputs?.latent ?? 'latent');
      const image = sd.decode(latent);
      await expectClose(
        fixture.name,
        'image',
        toNchw(image),
        file.readTensor(fixture.outputs?.image ?? 'image'),
      );
      if (fixture.vjp) {
        const cotangent = input(file, fixture.vjp.cotangent as string);
        const grad = tf.grad((z: tf.Tensor) => sd.decode(z))(latent, cotangent);
        await expectClose(
          fixture.name,
          `vjp(${fixture.vjp.wrt})`,
          toNchw(grad),
          file.readTensor(fixture.vjp.expected),
        );
      }
    },

    vae_encoder: async (fixture, file) => {
      const sd = await models.stableDiffusion(fixture.model as string);
      const out = sd.encode(input(file, fixture.inputs?.image ?? 'image'));
      const got: Record<string, tf.Tensor> = { mean: out.mean, logvar: out.logvar };
      for (const [output, tensorName] of Object.entries(fixture.outputs ?? {})) {
        await expectClose(fixture.name, output, toNchw(got[output]), file.readTensor(tensorName));
      }
    },

    clean_estimate: async (fixture, file) => {
      const sd = await models.stableDiffusion(fixture.model as string);
      const xT = input(file, 'x_t');
      const target = input(file, 'target');
      const context = file.readTensor('encoder_hidden_states');
      const timesteps = [...file.readInt32('timesteps')];
      const n = timesteps.length;
      const schedule = new NoiseSchedule(sd.scheduler);
      const problem = makeEstimateProblem((x, t) => sd.unet(x, t, context), schedule, timesteps[0], { n });
      expect(problem.grid.slice(0, n).map((p) => p.timestep)).toEqual(timesteps);
      expect(
        relativeL2(
          problem.grid.map((p) => p.abar),
          file.readFloat32('alpha_bar'),
        ),
      ).toBeLessThan(1e-6);
      const loss = (x0: tf.Tensor) => tf.mul(tf.sum(tf.square(tf.sub(x0, target))), 0.5) as tf.Scalar;
      for (const method of ['symplectic', 'direct'] as const) {
        const result = estimateGradient(method, problem, xT, loss);
        await expectClose(fixture.name, `${method}.x0_hat`, toNchw(result.x0hat), file.readTensor('x0_hat'));
        await expectClose(
          fixture.name,
          `${method}.loss`,
          tf.reshape(result.loss, [1]),
          file.readTensor('loss'),
        );
        await expectClose(
          fixture.name,
          `${method}.grad_x_t`,
          toNchw(result.grad),
          file.readTensor('grad_x_t'),
        );
        tf.dispose([result.grad, result.x0hat, result.loss]);
      }
    },

    clip: async (fixture, file) => {
      const clip = await models.clipModel(fixture.model as string);
      const ids = file.readTensor(fixture.inputs?.input_ids ?? 'input_ids');
      const pixels = input(file, fixture.inputs?.pixel_values ?? 'pixel_values');
      const outputs = fixture.outputs ?? {};
      const hiddenIndex = (name: string) => Number(/^vision_hidden_(\d+)$/.exec(name)?.[1] ?? NaN);
      const wantedHidden = Object.keys(outputs)
        .map(hiddenIndex)
        .filter((i) => !Number.isNaN(i));
      const image = clip.image(pixels, wantedHidden);
      const text = clip.text(ids);
      const logits = tf.mul(tf.matMul(image.imageEmbeds, text, false, true), Math.exp(clip.logitScale));
      for (const [output, tensorName] of Object.entries(outputs)) {
        const expected = file.readTensor(tensorName);
        if (output === 'text_embeds') await expectClose(fixture.name, output, text, expected);
        else if (output === 'image_embeds')
          await expectClose(fixture.name, output, image.imageEmbeds, expected);
        else if (output === 'logits_per_image') await expectClose(fixture.name, output, logits, expected);
        else if (!Number.isNaN(hiddenIndex(output)))
          await expectClose(
            fixture.name,
            output,
            image.hiddenStates.get(hiddenIndex(output)) as tf.Tensor,
            expected,
          );
        else throw new Error(`clip case: unknown output '${output}'`);
      }
      if (fixture.vjp) {
        const cotangents = fixture.vjp.cotangent as Record<string, string>;
        const grad = tf.grad((x: tf.Tensor) => {
          const out = clip.image(x, wantedHidden);
          const terms = Object.entries(cotangents).map(([output, tensorName]) => {
            const value =
              output === 'image_embeds'
                ? out.imageEmbeds
                : (out.hiddenStates.get(hiddenIndex(output)) as tf.Tensor);
            return tf.sum(tf.mul(value, file.readTensor(tensorName)));
          });
          return tf.addN(terms);
        })(pixels);
        await expectClose(
          fixture.name,
          `vjp(${fixture.vjp.wrt})`,
          toNchw(grad),
          file.readTensor(fixture.vjp.expected),
        );
      }
    },

    arcface: async (fixture, file) => {
      const arcface = await models.arcfaceModel(fixture.model as string);
      const [[, inputTensor]] = Object.entries(fixture.inputs ?? {});
      const faces = input(file, inputTensor);
      const embedding = arcface.embed(faces);
      for (const [output, tensorName] of Object.entries(fixture.outputs ?? {}))
        await expectClose(fixture.name, output, embedding, file.readTensor(tensorName));
      if (fixture.vjp) {
        const cotangent = file.readTensor(fixture.vjp.cotangent as string);
        const grad = tf.grad((x: tf.Tensor) => arcface.embed(x))(faces, cotangent);
        await expectClose(
          fixture.name,
          `vjp(${fixture.vjp.wrt})`,
          toNchw(grad),
          file.readTensor(fixture.vjp.expected),
        );
      }
    },
  };

  const cases = manifest.cases.filter((c) => c.component !== 'scheduler');

  test('the manifest has model cases and every component has a runner', () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) expect(Object.keys(runners)).toContain(c.component);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, fixture) => {
    const runner = runners[fixture.component];
    for (let pass = 0; pass < passes; pass++) await withTensors(fixture, (file) => runner(fixture, file));
  });
}
