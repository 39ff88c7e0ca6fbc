import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GraphBuilder, Ref } from '../../converters/graph/graphBuilder';
import { GraphOps } from '../../converters/graph/graphOps';
import { attr } from '../../converters/graph/tfAttr';
import { appendVjpGraph, removeVjpGraph } from '../../converters/graph/vjp/appendVjpGraph';
import { BACKWARD_RULES } from '../../converters/graph/vjp/backwardRules';
import { WeightShardWriter } from '../../converters/graph/weightShardWriter';
import { readValues } from '../../lib/backend/readTensor';
import { SAG_ATTENTION, SAG_ATTENTION_GRAD, SAG_GROUP_NORM } from '../../lib/kernels';
import { ArcfaceModel } from '../../lib/models/arcfaceModel';
import { ClipModel } from '../../lib/models/clipModel';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { StableDiffusionModels } from '../../lib/models/stableDiffusionModels';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { ConvertedFixtures, convertFixtureModels, removeFixtureModels } from '../helpers/fixturePipeline';
import { relativeL2 } from '../helpers/relativeError';
import { makeTempDir } from '../helpers/tempDir';
import { useTestBackend } from '../helpers/testBackend';

let tmp: string;
beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('vjp-graph');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const seeded = (shape: number[], seed: number) =>
  Float32Array.from(tf.randomNormal(shape, 0, 0.5, 'float32', seed).dataSync());

interface OpCase {
  name: string;
  /** Input shape; null dims vary between the probes (batch; spatial where marked). */
  shape: (number | null)[];
  build: (g: GraphBuilder, o: GraphOps, x: Ref) => Ref;
  /** Ops the case exercises (checked against the rule table, so that every rule has a case). */
  ops: string[];
  /** More to check in the written model.json's nodes. */
  checkNodes?: (nodes: { op: string; attr: Record<string, { s?: string }> }[]) => void;
}

const spatial = (o: GraphOps, x: Ref) =>
  o.conv2d(x, o.g.constant('w', seeded([3, 3, 3, 4], 1), [3, 3, 3, 4]), 1, 'SAME');

const CASES: OpCase[] = [
  {
    name: 'elementwise binary ops with broadcasting between activations and constants',
    shape: [null, 4, 5, 3],
    ops: ['AddV2', 'Sub', 'Mul', 'RealDiv', 'Mean', 'Square'],
    build: (g, o, x) => {
      const mean = o.mean(x, [1, 2], true);
      const centred = o.sub(x, mean);
      const bias = g.constant('bias', seeded([3], 2), [3]);
      return o.div(o.mul(o.add(centred, bias), x), o.addScalar(o.unary('Square', mean), 1));
    },
  },
  {
    name: 'unary ops',
    shape: [null, 7],
    ops: ['Neg', 'Sqrt', 'Rsqrt', 'Exp', 'Sin', 'Cos', 'Sigmoid', 'Tanh', 'Erf', 'Identity'],
    build: (g, o, x) => {
      const positive = o.addScalar(o.unary('Square', x), 1);
      const parts = [
        o.unary('Neg', x),
        o.unary('Sqrt', positive),
        o.unary('Rsqrt', positive),
        o.unary('Exp', x),
        o.unary('Sin', x),
        o.unary('Cos', x),
        o.unary('Sigmoid', x),
        o.unary('Tanh', x),
        o.unary('Erf', x),
        g.op('Identity', [x], { T: attr.dtype('float32') }),
      ];
      return parts.reduce((a, b) => o.add(a, b));
    },
  },
  {
    name: 'Relu, Maximum and Minimum (inputs away from the kinks)',
    shape: [null, 6],
    ops: ['Relu', 'Maximum', 'Minimum'],
    build: (g, o, x) => {
      const shifted = o.mul(x, g.constant('k', Float32Array.from([3, -3, 2, -2, 1.5, -1.5]), [6]));
      return o.add(
        o.unary('Relu', shifted),
        o.add(o.maximum(x, g.scalar(0.05)), o.minimum(x, g.scalar(-0.05))),
      );
    },
  },
  {
    name: 'BatchMatMulV2 in all four transpose cases, with weights and between activations',
    shape: [null, 4, 3],
    ops: ['BatchMatMulV2', 'Transpose'],
    build: (g, o, x) => {
      const w = g.constant('w', seeded([3, 3], 3), [3, 3]);
      const a = o.matmul(x, w); // [B, 4, 3]
      const b = o.matmul(x, w, false, true); // [B, 4, 3]
      const c = o.matmul(x, a, true, false); // x^T a: [B, 3, 3]
      const d = o.matmul(a, o.transpose(b, [0, 2, 1]), true, true); // a^T b: [B, 3, 3]
      const scores = o.matmul(a, b, false, true); // [B, 4, 4]
      return o.add(o.matmul(scores, o.matmul(a, c)), o.matmul(a, d));
    },
  },
  {
    name: 'Conv2D: 3x3 SAME, 1x1, and a padded stride-2 VALID convolution (image size varies)',
    shape: [null, null, null, 3],
    ops: ['Conv2D', 'Pad'],
    build: (g, o, x) => {
      const h = spatial(o, x);
      const one = o.conv2d(h, g.constant('w1', seeded([1, 1, 4, 4], 4), [1, 1, 4, 4]), 1, 'SAME');
      const down = o.conv2d(
        o.pad(one, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
        g.constant('w2', seeded([3, 3, 4, 2], 5), [3, 3, 4, 2]),
        2,
        'VALID',
      );
      return down;
    },
  },
  {
    name: 'shape ops: Reshape (dynamic batch), Sum, ConcatV2, Slice, Split, Softmax',
    shape: [null, 4, 4, 3],
    ops: ['Reshape', 'Sum', 'ConcatV2', 'Slice', 'Split', 'Softmax'],
    build: (g, o, x) => {
      const rows = o.reshape(x, o.dynamicShape([{ of: x, dim: 0 }, 16, 3]));
      const soft = o.softmax(rows);
      const both = o.concat([soft, o.mul(rows, rows)], 2);
      const [left, right] = o.split(both, 2, 2);
      const sliced = o.slice(left, [0, 2, 0], [-1, 10, 3]);
      return o.add(o.sum(sliced, [1], false), o.sum(o.slice(right, [0, 0, 1], [-1, 16, 2]), [1, 2], true));
    },
  },
  {
    name: "sag's fused GroupNorm, with and without SiLU (image size varies)",
    shape: [null, null, null, 3],
    ops: [SAG_GROUP_NORM],
    build: (g, _o, x) => {
      const h = spatial(new GraphOps(g), x);
      const norm = (input: Ref, activation: string, seed: number) =>
        g.op(
          SAG_GROUP_NORM,
          [
            input,
            g.constant(`gamma${seed}`, seeded([4], seed), [4]),
            g.constant(`beta${seed}`, seeded([4], seed + 1), [4]),
          ],
          { groups: attr.int(2), epsilon: attr.float(1e-5), activation: attr.string(activation) },
        );
      return norm(norm(h, 'silu', 10), 'none', 12);
    },
  },
  {
    name: "sag's fused attention: self-attention (q, k, v differentiated) then cross-attention to a constant context (q only; token count varies)",
    shape: [null, null, 6],
    ops: [SAG_ATTENTION],
    build: (g, o, x) => {
      const project = (input: Ref, seed: number) =>
        o.matmul(input, g.constant(`w${seed}`, seeded([6, 6], seed), [6, 6]));
      const attention = (q: Ref, k: Ref, v: Ref) =>
        g.op(SAG_ATTENTION, [q, k, v], { heads: attr.int(2), scale: attr.float(1 / Math.sqrt(3)) });
      const self = attention(project(x, 20), project(x, 21), project(x, 22));
      const perImage = o.dynamicShape([{ of: x, dim: 0 }, 1, 1]);
      const context = (seed: number) =>
        o.tile(g.constant(`context${seed}`, seeded([1, 5, 6], seed), [1, 5, 6]), perImage);
      return attention(o.add(self, x), context(23), context(24));
    },
    checkNodes: (nodes) => {
      // One gradient node per attention, asking only for what is differentiated (cross-attention: q alone).
      const asked = nodes
        .filter((n) => n.op === SAG_ATTENTION_GRAD)
        .map((n) => Buffer.from(n.attr.gradients.s as string, 'base64').toString('utf8'));
      expect(asked.sort()).toEqual(['q', 'qkv']);
    },
  },
  {
    name: 'ResizeNearestNeighbor: 2x upsampling (image size varies)',
    shape: [null, null, null, 3],
    ops: ['ResizeNearestNeighbor'],
    build: (_g, o, x) => o.mul(o.upsampleNearest2x(x), o.upsampleNearest2x(x)),
  },
];

/** Probe and test shapes: null dims become 2/3 (batch) and 4/6/5 (others). */
const concrete = (shape: (number | null)[], k: number) =>
  shape.map((d, i) => d ?? (i === 0 ? [2, 3, 2][k] : [4, 6, 5][k]));

async function writeCase(c: OpCase, dir: string): Promise<ConvertedGraph> {
  fs.mkdirSync(dir, { recursive: true });
  const g = new GraphBuilder(new WeightShardWriter(dir));
  const o = new GraphOps(g);
  const x = g.input('x', 'float32', c.shape);
  g.output('out', c.build(g, o, x));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(g.modelJson()));
  await appendVjpGraph(dir, {
    wrt: 'x',
    outputs: ['out'],
    probes: () => [0, 1].map((k) => ({ x: tf.randomNormal(concrete(c.shape, k)) })),
  });
  return ConvertedGraph.load(dir);
}

test('every backward rule has a case below', () => {
  expect(CASES.flatMap((c) => c.ops).sort()).toEqual(Object.keys(BACKWARD_RULES).sort());
});

describe.each(CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
  test('the VJP graph equals tf.grad through the forward graph and central differences', async () => {
    const dir = path.join(tmp, name.replace(/\W+/g, '-'));
    const graph = await writeCase(c, dir);
    c.checkNodes?.(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology.node);
    const info = graph.vjpGraph;
    expect(info).not.toBeNull();
    const x = tf.randomNormal(concrete(c.shape, 2), 0, 1, 'float32', 7);
    const forward = (input: tf.Tensor) => graph.execute({ x: input }, ['out'])[0];
    const out = forward(x);
    const dy = tf.randomNormal(out.shape, 0, 1, 'float32', 8);
    const viaGraph = graph.vjp({ x }, dy);
    const viaTape = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(forward(input), dy)))(x);
    expect(relativeL2(viaGraph, viaTape)).toBeLessThan(1e-5);
    // Central differences of <dy, f(x)> along one random direction.
    const direction = tf.randomNormal(x.shape, 0, 1, 'float32', 9);
    const h = 1e-2;
    const along = async (s: number) =>
      (await readValues(tf.sum(tf.mul(forward(tf.add(x, tf.mul(direction, s))), dy))))[0];
    const numeric = ((await along(h)) - (await along(-h))) / (2 * h);
    const analytic = (await readValues(tf.sum(tf.mul(viaGraph, direction))))[0];
    expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
    graph.dispose();
  });
});

test('an op without a backward rule leaves the model unchanged and says which node', async () => {
  const dir = path.join(tmp, 'no-rule');
  fs.mkdirSync(dir, { recursive: true });
  const g = new GraphBuilder(new WeightShardWriter(dir));
  const x = g.input('x', 'float32', [null, 3]);
  g.output('out', g.op('Softplus', [x]));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(g.modelJson()));
  const before = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
  const files = fs.readdirSync(dir).sort();
  await expect(
    appendVjpGraph(dir, {
      wrt: 'x',
      outputs: ['out'],
      probes: () => [2, 3].map((b) => ({ x: tf.ones([b, 3]) })),
    }),
  ).rejects.toThrow("node 'Softplus' (Softplus): op Softplus has no VJP rule");
  expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe(before);
  expect(fs.readdirSync(dir).sort()).toEqual(files);
});

test('removeVjpGraph gives back the forward model exactly', async () => {
  const dir = path.join(tmp, 'remove');
  fs.mkdirSync(dir, { recursive: true });
  const g = new GraphBuilder(new WeightShardWriter(dir));
  const o = new GraphOps(g);
  const x = g.input('x', 'float32', [null, 4, 4, 3]);
  g.output('out', o.unary('Sigmoid', spatial(o, x)));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(g.modelJson()));
  const before = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
  const files = fs.readdirSync(dir).sort();
  const probes = () => [2, 3].map((b) => ({ x: tf.randomNormal([b, 4, 4, 3]) }));
  await appendVjpGraph(dir, { wrt: 'x', outputs: ['out'], probes });
  expect(fs.readdirSync(dir).length).toBeGreaterThan(files.length);
  removeVjpGraph(dir);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'))).toEqual(JSON.parse(before));
  expect(fs.readdirSync(dir).sort()).toEqual(files);
  await appendVjpGraph(dir, { wrt: 'x', outputs: ['out'], probes });
  expect((await ConvertedGraph.load(dir)).vjpGraph).not.toBeNull();
});

test('the shipped digit UNet has a VJP graph, equal to tf.grad through its forward graph', async () => {
  const graph = await ConvertedGraph.load(path.join(embeddedModelDir('digit-unet'), 'unet'));
  expect(graph.vjpGraph).toEqual({
    wrt: 'sample',
    outputs: ['out'],
    cotangents: ['out_cotangent'],
    grad: 'grad_sample',
  });
  const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 1);
  const t = tf.tensor1d([321]);
  const dy = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 2);
  const expected = tf.grad((s: tf.Tensor) =>
    tf.sum(tf.mul(graph.execute({ sample: s, timestep: t }, ['out'])[0], dy)),
  )(x);
  expect(relativeL2(graph.vjp({ sample: x, timestep: t }, dy), expected)).toBeLessThan(1e-5);
  graph.dispose();
});

describe('fixture models converted by sag', () => {
  let fixtures: ConvertedFixtures;
  beforeAll(async () => {
    fixtures = await convertFixtureModels();
  }, 300_000);
  afterAll(() => removeFixtureModels(fixtures));

  test('the UNet, VAE decoder, CLIP vision tower and ArcFace get VJP graphs; tf.grad through them uses the graph', async () => {
    const sd = await StableDiffusionModels.load(fixtures.sd);
    const clip = await ClipModel.load(fixtures.clip);
    const arcface = await ArcfaceModel.load(fixtures.arcface);
    expect(sd.unetGraph.vjpGraph?.outputs).toEqual(['out']);
    expect(sd.vaeDecoder.vjpGraph?.outputs).toEqual(['image']);
    expect(clip.vision.vjpGraph?.outputs[0]).toBe('image_embeds');
    expect(arcface.graph.vjpGraph).not.toBeNull();
    const vjp = jest.spyOn(ConvertedGraph.prototype, 'vjp');
    const latent = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3);
    const viaGraph = tf.grad((z: tf.Tensor) => tf.sum(tf.square(sd.decode(z))))(latent);
    expect(vjp).toHaveBeenCalledTimes(1);
    const viaTape = tf.grad((z: tf.Tensor) =>
      tf.sum(tf.square(sd.vaeDecoder.execute({ latent: z }, ['image'])[0])),
    )(latent);
    expect(relativeL2(viaGraph, viaTape)).toBeLessThan(1e-5);
    // Several outputs: an embedding and a hidden state together.
    const pixels = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4);
    const hidden = clip.availableHiddenStates[1];
    const loss =
      (image: (p: tf.Tensor) => { imageEmbeds: tf.Tensor; hiddenStates: Map<number, tf.Tensor> }) =>
      (p: tf.Tensor) => {
        const out = image(p);
        return tf.add(
          tf.sum(tf.mul(out.imageEmbeds, 3)),
          tf.sum(tf.square(out.hiddenStates.get(hidden) as tf.Tensor)),
        );
      };
    const clipGraph = tf.grad(loss((p) => clip.image(p, [hidden])))(pixels);
    expect(vjp).toHaveBeenCalledTimes(2);
    const clipTape = tf.grad(
      loss((p) => {
        const [embeds, state] = clip.vision.execute({ pixel_values: p }, [
          'image_embeds',
          `hidden_state_${hidden}`,
        ]);
        return { imageEmbeds: embeds, hiddenStates: new Map([[hidden, state]]) };
      }),
    )(pixels);
    expect(relativeL2(clipGraph, clipTape)).toBeLessThan(1e-5);
    vjp.mockRestore();
    sd.dispose();
    clip.dispose();
    arcface.dispose();
  });
});
