import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertClip } from '../../converters/clip/convertClip';
import { writeClassifierModel } from '../../converters/pixel/writeEmbeddedModels';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { createClassifierLoss, createClassifierStyleLoss } from '../../lib/losses/classifierLoss';
import { clipImageEmbedding, clipTextEmbedding, createClipScoreLoss } from '../../lib/losses/clipScoreLoss';
import { arcfaceInput, createFaceIdLoss } from '../../lib/losses/faceIdLoss';
import { ArcfaceModel } from '../../lib/models/arcfaceModel';
import { clipPatchTokens, createStyleLoss } from '../../lib/losses/styleLoss';
import { ClipModel } from '../../lib/models/clipModel';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { DIGIT_CLASSIFIER_SPEC } from '../../converters/pixel/classifierSpec';
import { ClassifierModel } from '../../weights/train/classifierModel';
import { repoFixtureDir } from '../helpers/fixtures';
import { useTestBackend } from '../helpers/testBackend';
import { makeTempDir } from '../helpers/tempDir';

let tmp: string;
let clip: ClipModel;
let classifier: ImageClassifier;
let arcface: ArcfaceModel;

beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('model-losses');
  await convertClip(path.join(repoFixtureDir(), 'clip-tiny'), path.join(tmp, 'clip'), { dtype: 'float32' });
  clip = await ClipModel.load(path.join(tmp, 'clip'));
  const model = new ClassifierModel(DIGIT_CLASSIFIER_SPEC, 1);
  const params = model.exportParameters();
  writeSafetensors(
    path.join(tmp, 'c.safetensors'),
    params.map(([n, s]) => [n, s]),
    (n) => params.find((p) => p[0] === n)?.[2] as Float32Array,
  );
  await writeClassifierModel(
    path.join(tmp, 'c.safetensors'),
    DIGIT_CLASSIFIER_SPEC,
    path.join(tmp, 'classifier'),
  );
  classifier = await ImageClassifier.load(path.join(tmp, 'classifier'));
  await convertArcface(path.join(repoFixtureDir(), 'arcface-tiny', 'model.onnx'), path.join(tmp, 'arcface'), {
    dtype: 'float32',
  });
  arcface = await ArcfaceModel.load(path.join(tmp, 'arcface'));
});

/** (L(x + h u) - L(x - h u)) / 2h for u = g / ||g||, which must equal ||g||. */
function directionalDerivativeAlongGradient(
  loss: (x: tf.Tensor4D) => tf.Scalar,
  x: tf.Tensor4D,
): { numeric: number; norm: number } {
  const grad = tf.grad((input: tf.Tensor) => loss(input as tf.Tensor4D))(x);
  const norm = tf.norm(grad).dataSync()[0];
  const h = 1e-3;
  const step = tf.mul(grad, h / norm);
  const numeric =
    (loss(tf.add(x, step) as tf.Tensor4D).dataSync()[0] -
      loss(tf.sub(x, step) as tf.Tensor4D).dataSync()[0]) /
    (2 * h);
  return { numeric, norm };
}

test('clip loss: -100 cos(image, text) by hand, and its gradient', () => {
  const x = images();
  const loss = createClipScoreLoss(clip, 'a red house');
  const u = clipImageEmbedding(clip, x).arraySync();
  const v = clipTextEmbedding(clip, 'a red house').arraySync()[0];
  const cos = (a: number[]) => a.reduce((s, ai, i) => s + ai * v[i], 0) / Math.hypot(...a) / Math.hypot(...v);
  expect(loss(x).dataSync()[0]).toBeCloseTo(-100 * (cos(u[0]) + cos(u[1])), 3);
  const { numeric, norm } = directionalDerivativeAlongGradient(loss, x);
  expect(Math.abs(numeric - norm) / norm).toBeLessThan(2e-2);
});

test('face loss: L2 distance of normalised ArcFace embeddings by hand, and its gradient', () => {
  const face = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 21) as tf.Tensor4D;
  const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 22) as tf.Tensor4D;
  const loss = createFaceIdLoss(arcface, face);
  const embed = (img: tf.Tensor4D) =>
    (arcface.embed(arcfaceInput(img, arcface.inputSize)).arraySync() as number[][]).map((e) =>
      e.map((v) => v / Math.hypot(...e)),
    );
  const ref = embed(face)[0];
  const expected = embed(x).reduce((s, e) => s + Math.hypot(...e.map((v, i) => v - ref[i])), 0);
  expect(loss(x).dataSync()[0]).toBeCloseTo(expected, 4);
  expect(loss(face).dataSync()[0]).toBeLessThan(1e-3);
  const { numeric, norm } = directionalDerivativeAlongGradient(loss, x);
  expect(Math.abs(numeric - norm) / norm).toBeLessThan(2e-2);
});

afterAll(() => {
  arcface.dispose();
  clip.dispose();
  classifier.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const images = () => tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;

test('style loss: Gram distance of CLIP hidden-state patch tokens, zero at the style image itself', () => {
  const style = tf.randomUniform([1, 40, 40, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const loss = createStyleLoss(clip, style, 3);
  expect(loss(style).dataSync()[0]).toBeCloseTo(0, 3);
  const x = images();
  const tokens = clipPatchTokens(clip, x, 3);
  const target = clipPatchTokens(clip, style, 3);
  const [b, n, d] = tokens.shape;
  const f = tokens.arraySync();
  const s = target.arraySync()[0];
  let expected = 0;
  for (let bb = 0; bb < b; bb++) {
    let sum = 0;
    for (let p = 0; p < d; p++)
      for (let q = 0; q < d; q++) {
        let g = 0;
        let h = 0;
        for (let i = 0; i < n; i++) {
          g += f[bb][i][p] * f[bb][i][q];
          h += s[i][p] * s[i][q];
        }
        sum += (g - h) ** 2;
      }
    expected += Math.sqrt(sum);
  }
  expect(loss(x).dataSync()[0]).toBeCloseTo(expected, 2);
  loss.dispose();
});

test('class loss: cross-entropy of the target label; its gradient matches central differences', () => {
  const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
  const loss = createClassifierLoss(classifier, 7);
  const logits = classifier.logits(x).arraySync();
  const expected = logits.reduce(
    (s, row) => s - (row[7] - Math.log(row.reduce((a, v) => a + Math.exp(v), 0))),
    0,
  );
  expect(loss(x).dataSync()[0]).toBeCloseTo(expected, 4);
  const { numeric, norm } = directionalDerivativeAlongGradient(loss, x);
  expect(Math.abs(numeric - norm) / norm).toBeLessThan(2e-2);
  expect(() => createClassifierLoss(classifier, 10)).toThrow(
    'target: expected a class index in 0..9, got 10',
  );
});

test('classifier style loss is zero at the reference and positive elsewhere', () => {
  const reference = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const loss = createClassifierStyleLoss(classifier, reference);
  expect(loss(reference).dataSync()[0]).toBeCloseTo(0, 3);
  expect(
    loss(tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 5) as tf.Tensor4D).dataSync()[0],
  ).toBeGreaterThan(0.01);
});
