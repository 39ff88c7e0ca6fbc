import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeSyntheticUnet } from '../../converters/bench/convertBench';
import { writeUnetGraph } from '../../converters/sd/convertStableDiffusion';
import { parseUnetConfig } from '../../converters/sd/unetGraph';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { toNhwc } from '../helpers/layout';
import { useTestBackend } from '../helpers/testBackend';
import { relativeL2 } from '../helpers/relativeError';
import { makeTempDir } from '../helpers/tempDir';

/** A small SD-like UNet config; variants below change one feature at a time. */
const BASE = {
  block_out_channels: [16, 32],
  down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 1,
  attention_head_dim: 2,
  cross_attention_dim: 12,
  norm_num_groups: 4,
  in_channels: 4,
  out_channels: 4,
  sample_size: 8,
};

let tmp: string;
const x = () => tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 5);
const context = () => tf.randomNormal([2, 7, 12], 0, 1, 'float32', 6);

beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('unet-variants');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function convertAndRun(
  name: string,
  config: Record<string, unknown>,
  dtype: 'float32' | 'float16' = 'float32',
) {
  const src = path.join(tmp, `${name}-src`);
  const out = path.join(tmp, `${name}-${dtype}`);
  if (!fs.existsSync(src)) writeSyntheticUnet(src, config, 1);
  await writeUnetGraph(src, out, parseUnetConfig(config, name), { dtype });
  const graph = await ConvertedGraph.load(out);
  const result = tf.tidy(
    () =>
      graph.execute({ sample: x(), timestep: tf.tensor1d([417.5]), encoder_hidden_states: context() }, [
        'out',
      ])[0],
  );
  graph.dispose();
  const shards = fs.readdirSync(out).filter((f) => f.endsWith('.bin'));
  return { result, bytes: shards.reduce((s, f) => s + fs.statSync(path.join(out, f)).size, 0) };
}

interface VariantManifest {
  made_by: string;
  tolerance: { relative_l2: number };
  variants: { name: string; description: string; unet: string; tensors: string }[];
}

const VARIANTS_DIR = path.join(__dirname, '..', 'fixtures', 'unet-variants');
const variants = JSON.parse(
  fs.readFileSync(path.join(VARIANTS_DIR, 'manifest.json'), 'utf8'),
) as VariantManifest;

/**
 * Configurations other than SD v1.5's, checked against diffusers' own UNet2DConditionModel (references made by
 * spec/fixtures/unet-variants/make_unet_variants.py): forward and the VJP w.r.t. the sample.
 */
describe.each(variants.variants.map((v) => [v.name, v] as const))(
  'UNet variant %s (diffusers)',
  (name, variant) => {
    test(`${variant.description}: output and sample VJP within ${variants.tolerance.relative_l2} of diffusers`, async () => {
      const src = path.join(VARIANTS_DIR, variant.unet);
      const out = path.join(tmp, name);
      const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
      await writeUnetGraph(src, out, parseUnetConfig(config, name), { dtype: 'float32' });
      const graph = await ConvertedGraph.load(out);
      const file = SafetensorsFile.open(path.join(VARIANTS_DIR, variant.tensors));
      try {
        const read = (key: string) => tf.tidy(() => toNhwc(file.readTensor(key)));
        const [sample, timestep, context, expected, cotangent, expectedGrad] = [
          'sample',
          'timestep',
          'encoder_hidden_states',
          'out',
          'cotangent',
          'grad_sample',
        ].map(read);
        const run = (x: tf.Tensor) =>
          graph.execute({ sample: x, timestep, encoder_hidden_states: context }, ['out'])[0];
        const got = run(sample);
        const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(run(x), cotangent)))(sample);
        expect(relativeL2(got, expected)).toBeLessThan(variants.tolerance.relative_l2);
        expect(relativeL2(grad, expectedGrad)).toBeLessThan(variants.tolerance.relative_l2);
        tf.dispose([sample, timestep, context, expected, cotangent, expectedGrad, got, grad]);
      } finally {
        file.close();
        graph.dispose();
      }
    });
  },
);

test('--dtype float16 halves the weight files and stays within float16 rounding', async () => {
  const full = await convertAndRun('f16', BASE, 'float32');
  const half = await convertAndRun('f16', BASE, 'float16');
  expect(half.bytes).toBeLessThan(0.6 * full.bytes);
  const error = relativeL2(half.result, full.result);
  expect(error).toBeGreaterThan(0);
  expect(error).toBeLessThan(1e-2);
});
