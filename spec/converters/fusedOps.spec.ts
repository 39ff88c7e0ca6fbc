import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { scaledSdV15UnetConfig, writeSyntheticUnetGraph } from '../../converters/bench/syntheticUnetGraph';
import { fuseAttention } from '../../converters/graph/fuseAttention';
import { fuseGroupNorms } from '../../converters/graph/fuseGroupNorms';
import { startBackend } from '../../lib/backend';
import { readValues } from '../../lib/backend/readTensor';
import { SAG_ATTENTION, SAG_GROUP_NORM } from '../../lib/kernels';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { relativeL2 } from '../helpers/relativeError';

let dir: string;
const config = scaledSdV15UnetConfig(0.05);

beforeAll(async () => {
  await startBackend('wasm', { announce: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-fuse-spec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function opCounts(unetDir: string): Record<string, number> {
  const json = JSON.parse(fs.readFileSync(path.join(unetDir, 'model.json'), 'utf8'));
  const counts: Record<string, number> = {};
  for (const node of json.modelTopology.node as { op: string }[])
    counts[node.op] = (counts[node.op] ?? 0) + 1;
  return counts;
}

async function unetOutput(unetDir: string): Promise<Float32Array> {
  const unet = await ConvertedGraph.load(unetDir);
  const inputs = {
    sample: tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 1),
    timestep: tf.tensor1d([500]),
    encoder_hidden_states: tf.randomNormal([2, 77, config.cross_attention_dim as number], 0, 1, 'float32', 2),
  };
  const [out] = unet.execute(inputs, ['out']);
  const values = Float32Array.from(await readValues(out));
  tf.dispose([out, ...Object.values(inputs)]);
  unet.dispose();
  return values;
}

test('a graph converted with primitive GroupNorms, rewritten, has the GroupNorm nodes and output of a fused conversion', async () => {
  const primitive = await writeSyntheticUnetGraph(path.join(dir, 'primitive'), config, 0, false);
  const fused = await writeSyntheticUnetGraph(path.join(dir, 'fused'), config, 0, {
    groupNorm: true,
    attention: false,
  });
  const before = await unetOutput(primitive.unetDir);
  expect(opCounts(primitive.unetDir)[SAG_GROUP_NORM]).toBeUndefined();

  const count = await fuseGroupNorms(primitive.unetDir);

  const fusedCounts = opCounts(fused.unetDir);
  expect(count).toBe(fusedCounts[SAG_GROUP_NORM]);
  // SD's UNet: 2 per resnet (with SiLU), 1 per transformer, the output norm (with SiLU).
  expect(count).toBeGreaterThan(40);
  const rewritten = opCounts(primitive.unetDir);
  for (const op of ['Rsqrt', 'Sigmoid', 'Square']) expect(rewritten[op] ?? 0).toBe(fusedCounts[op] ?? 0);
  expect(relativeL2(await unetOutput(primitive.unetDir), before)).toBeLessThan(1e-6);
  expect(relativeL2(await unetOutput(fused.unetDir), before)).toBeLessThan(1e-6);
  expect(await fuseGroupNorms(primitive.unetDir)).toBe(0);
}, 120_000);

test.each([
  ['all', { groupNorm: true, attention: true }],
  ['attention only', { groupNorm: false, attention: true }],
  ['none', false],
] as const)(
  'the converter writes the fused ops asked for (%s), with the output of primitive ops',
  async (label, fusedOps) => {
    const primitive = await writeSyntheticUnetGraph(path.join(dir, `reference-${label}`), config, 0, {
      groupNorm: false,
      attention: false,
    });
    const written = await writeSyntheticUnetGraph(path.join(dir, label), config, 0, fusedOps);
    const counts = opCounts(written.unetDir);
    const fused = fusedOps === false ? { groupNorm: false, attention: false } : fusedOps;
    // Every softmax of the primitive graph (2 per transformer: self and cross) is in one SagAttention.
    const softmaxes = opCounts(primitive.unetDir).Softmax;
    expect(softmaxes).toBeGreaterThanOrEqual(32);
    expect(counts[SAG_ATTENTION] ?? 0).toBe(fused.attention ? softmaxes : 0);
    expect(counts.Softmax ?? 0).toBe(fused.attention ? 0 : softmaxes);
    expect((counts[SAG_GROUP_NORM] ?? 0) > 40).toBe(fused.groupNorm);
    expect(relativeL2(await unetOutput(written.unetDir), await unetOutput(primitive.unetDir))).toBeLessThan(
      1e-5,
    );
  },
  120_000,
);

test('a graph converted with primitive attention, rewritten, has the SagAttention nodes and output of a fused conversion', async () => {
  const primitive = await writeSyntheticUnetGraph(path.join(dir, 'unfused-attention'), config, 0, {
    groupNorm: true,
    attention: false,
  });
  const fused = await writeSyntheticUnetGraph(path.join(dir, 'fused-attention'), config, 0, true);
  const before = await unetOutput(primitive.unetDir);

  const count = await fuseAttention(primitive.unetDir);

  const fusedCounts = opCounts(fused.unetDir);
  expect(count).toBe(fusedCounts[SAG_ATTENTION]);
  // The same ops as a fused conversion (constants aside: the old head shapes and permutations stay, unread).
  const withoutConsts = ({ Const: _, ...counts }: Record<string, number>) => counts;
  expect(withoutConsts(opCounts(primitive.unetDir))).toEqual(withoutConsts(fusedCounts));
  expect(relativeL2(await unetOutput(primitive.unetDir), before)).toBeLessThan(1e-5);
  expect(await fuseAttention(primitive.unetDir)).toBe(0);
}, 120_000);
