import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { ArcfaceModel } from '../../lib/models/arcfaceModel';
import { useTestBackend } from '../helpers/testBackend';
import { relativeL2 } from '../helpers/relativeError';
import { makeTempDir } from '../helpers/tempDir';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'onnx');

let tmp: string;
beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('onnx-grouped');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * A MobileFaceNet miniature exported by torch.onnx (depthwise convs with multiplier 1 and 2, stride 2, a
 * depthwise residual block, a 4-group conv, a global depthwise conv, Linear + BatchNorm1d): embedding and input
 * VJP against PyTorch's.
 */
test('a MobileFaceNet-style ONNX model (depthwise and grouped convs) matches PyTorch, forward and VJP', async () => {
  const out = path.join(tmp, 'mobileface');
  const manifest = await convertArcface(path.join(FIXTURES, 'mobileface-tiny.onnx'), out, {
    dtype: 'float32',
  });
  const histogram = JSON.stringify(
    JSON.parse(fs.readFileSync(path.join(out, 'arcface', 'model.json'), 'utf8')).modelTopology.node.map(
      (n: { op: string }) => n.op,
    ),
  );
  expect(histogram).toContain('DepthwiseConv2dNative');
  expect(manifest.embeddingDim).toBe(12);
  const model = await ArcfaceModel.load(out);
  const expected = SafetensorsFile.open(path.join(FIXTURES, 'mobileface-tiny-expected.safetensors'));
  try {
    const input = expected.readTensor('input');
    const cotangent = expected.readTensor('cotangent');
    const embedding = model.embed(input);
    expect(relativeL2(embedding, expected.readFloat32('embedding'))).toBeLessThan(1e-5);
    const grad = tf.grad((x: tf.Tensor) => model.embed(x))(input, cotangent);
    expect(relativeL2(grad, expected.readFloat32('input_grad'))).toBeLessThan(1e-5);
    tf.dispose([input, cotangent, embedding, grad]);
  } finally {
    expected.close();
    model.dispose();
  }
});
