import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeSyntheticUnet } from '../../converters/bench/convertBench';
import { writeUnetGraph } from '../../converters/sd/convertStableDiffusion';
import { parseUnetConfig } from '../../converters/sd/unetGraph';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
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

test('use_linear_projection true computes what the 1x1-conv projection computes', async () => {
  const conv = await convertAndRun('conv', BASE);
  const linear = await convertAndRun('linear', { ...BASE, use_linear_projection: true });
  expect(conv.result.shape).toEqual([2, 8, 8, 4]);
  expect(relativeL2(linear.result, conv.result)).toBeLessThan(1e-5);
});

test('attention_head_dim as a list equals the same heads given as an int; other head counts differ', async () => {
  const asInt = await convertAndRun('heads-int', BASE);
  const asList = await convertAndRun('heads-list', { ...BASE, attention_head_dim: [2, 2] });
  const other = await convertAndRun('heads-other', { ...BASE, attention_head_dim: [4, 4] });
  expect(relativeL2(asList.result, asInt.result)).toBeLessThan(1e-6);
  expect(relativeL2(other.result, asInt.result)).toBeGreaterThan(1e-4);
});

test('longer channel lists, two transformer layers, layers_per_block 2 and num_attention_heads', async () => {
  const config = {
    ...BASE,
    block_out_channels: [8, 16, 16],
    down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    layers_per_block: 2,
    transformer_layers_per_block: 2,
    num_attention_heads: [2, 4, 4],
    attention_head_dim: 8,
  };
  const { result } = await convertAndRun('deep', config);
  expect(result.shape).toEqual([2, 8, 8, 4]);
  expect(Number.isFinite(tf.sum(result).dataSync()[0])).toBe(true);
});

test('--dtype float16 halves the weight files and stays within float16 rounding', async () => {
  const full = await convertAndRun('f16', BASE, 'float32');
  const half = await convertAndRun('f16', BASE, 'float16');
  expect(half.bytes).toBeLessThan(0.6 * full.bytes);
  const error = relativeL2(half.result, full.result);
  expect(error).toBeGreaterThan(0);
  expect(error).toBeLessThan(1e-2);
});
