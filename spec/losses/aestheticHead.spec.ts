import * as fs from 'fs';
import * as path from 'path';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { readAestheticHead } from '../../lib/losses/aestheticHeadFile';
import { seededRandom } from '../../lib/seededRandom';
import { makeTempDir } from '../helpers/tempDir';

type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

function writeHead(file: string, tensors: Tensors): void {
  writeSafetensors(
    file,
    Object.entries(tensors).map(([name, t]) => [name, t.shape]),
    (name) => tensors[name].data,
  );
}

function randomArray(size: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: size }, () => rand() * 2 - 1);
}

/** LAION's MLP predictor layout: Linear layers at Sequential indices 0, 2, 4, 6, 7 (dropouts between). */
function laionLikeMlp(dims: number[], rand: () => number): Tensors {
  const indices = [0, 2, 4, 6, 7];
  const tensors: Tensors = {};
  for (let k = 0; k + 1 < dims.length; k++) {
    tensors[`layers.${indices[k]}.weight`] = {
      shape: [dims[k + 1], dims[k]],
      data: randomArray(dims[k + 1] * dims[k], rand),
    };
    tensors[`layers.${indices[k]}.bias`] = { shape: [dims[k + 1]], data: randomArray(dims[k + 1], rand) };
  }
  return tensors;
}

/** The MLP applied layer by layer in float64, the way PyTorch runs it (no activations). */
function runMlp(tensors: Tensors, x: number[]): number {
  const names = Object.keys(tensors)
    .filter((n) => n.endsWith('weight'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  let h = x;
  for (const name of names) {
    const [outputs, inputs] = tensors[name].shape;
    const w = tensors[name].data;
    const b = tensors[name.replace(/weight$/, 'bias')].data;
    h = Array.from({ length: outputs }, (_, o) => {
      let s = b[o];
      for (let i = 0; i < inputs; i++) s += w[o * inputs + i] * h[i];
      return s;
    });
  }
  return h[0];
}

describe('readAestheticHead', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('aesthetic-head');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an MLP chain (LAION layout, layers 0..7) scores exactly like running its layers', async () => {
    const rand = seededRandom(5);
    const tensors = laionLikeMlp([12, 20, 9, 6, 4, 1], rand);
    const file = path.join(dir, 'mlp.safetensors');
    writeHead(file, tensors);
    const head = await readAestheticHead(file);
    expect(head.weight).toHaveLength(12);
    for (let trial = 0; trial < 5; trial++) {
      const x = Array.from(randomArray(12, rand));
      const composed = head.bias + x.reduce((s, v, i) => s + v * head.weight[i], 0);
      expect(composed).toBeCloseTo(runMlp(tensors, x), 4);
    }
  });

  test('a single linear layer is read as it is', async () => {
    const file = path.join(dir, 'linear.safetensors');
    const weight = Float32Array.from([0.5, -1, 2]);
    writeHead(file, {
      'linear.weight': { shape: [1, 3], data: weight },
      'linear.bias': { shape: [1], data: Float32Array.from([0.25]) },
    });
    const head = await readAestheticHead(file);
    expect(Array.from(head.weight)).toEqual([0.5, -1, 2]);
    expect(head.bias).toBeCloseTo(0.25, 6);
  });

  test('layers that do not chain, or do not end in one score, are named in the error', async () => {
    const rand = seededRandom(6);
    const broken = laionLikeMlp([8, 5, 1], rand);
    broken['layers.2.weight'] = { shape: [1, 4], data: randomArray(4, rand) };
    const file = path.join(dir, 'broken.safetensors');
    writeHead(file, broken);
    await expect(readAestheticHead(file)).rejects.toThrow(
      /'layers.2.weight' takes 4 inputs but 'layers.0.weight' gives 5/,
    );
    const noScore = path.join(dir, 'no-score.safetensors');
    writeHead(noScore, laionLikeMlp([8, 5, 3], rand));
    await expect(readAestheticHead(noScore)).rejects.toThrow(
      /last layer 'layers.2.weight' has 3 outputs, expected 1/,
    );
  });

  test("LAION's MLP predictor saved by torch.save (.pth) scores as PyTorch does", async () => {
    const dir = path.join(__dirname, '..', 'fixtures', 'torch');
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
      aestheticMlp: { inputs: number[][]; scores: number[] };
    };
    const head = await readAestheticHead(path.join(dir, 'aesthetic-mlp.pth'));
    expected.aestheticMlp.inputs.forEach((x, k) => {
      const score = head.bias + x.reduce((s, v, i) => s + v * head.weight[i], 0);
      expect(score).toBeCloseTo(expected.aestheticMlp.scores[k], 5);
    });
  });
});
