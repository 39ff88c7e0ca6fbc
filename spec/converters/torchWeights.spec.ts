import * as fs from 'fs';
import * as path from 'path';
import { CheckpointWeights } from '../../converters/weights/weightSource';
import { makeTempDir } from '../helpers/tempDir';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'torch', 'state-dict.bin');

describe('CheckpointWeights on PyTorch .bin checkpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('torch-weights');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a component directory with only pytorch_model.bin is read like one with safetensors', async () => {
    fs.copyFileSync(FIXTURE, path.join(dir, 'pytorch_model.bin'));
    const weights = await CheckpointWeights.openDirectory(dir, ['model', 'pytorch_model']);
    try {
      expect(weights.shape('conv.weight')).toEqual([4, 3, 3, 3]);
      const transposed = weights.get('transposed.weight', [5, 6]);
      expect(transposed.data).toHaveLength(30);
      expect(weights.unused()).not.toContain('transposed.weight');
    } finally {
      weights.close();
    }
  });

  test('sharded .bin checkpoints are opened through pytorch_model.bin.index.json', async () => {
    fs.copyFileSync(FIXTURE, path.join(dir, 'part-1.bin'));
    fs.writeFileSync(
      path.join(dir, 'pytorch_model.bin.index.json'),
      JSON.stringify({ weight_map: { 'conv.weight': 'part-1.bin', 'conv.bias': 'part-1.bin' } }),
    );
    const weights = await CheckpointWeights.openDirectory(dir, ['pytorch_model']);
    try {
      expect(weights.get('conv.bias').shape).toEqual([4]);
    } finally {
      weights.close();
    }
  });

  test('a directory without any checkpoint names what it looked for', async () => {
    await expect(CheckpointWeights.openDirectory(dir, ['model', 'pytorch_model'])).rejects.toThrow(
      /no model\.safetensors, pytorch_model\.safetensors, model\.bin, pytorch_model\.bin or sharded index found/,
    );
  });
});
