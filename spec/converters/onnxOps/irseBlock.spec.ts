import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import * as tf from '@tensorflow/tfjs';
import { convertArcface } from '../../../converters/onnx/convertArcface';
import { ONNX_PROTO } from '../../../converters/onnx/onnxSchema';
import { ArcfaceModel } from '../../../lib/models/arcfaceModel';
import { testBackendName, useTestBackend } from '../../helpers/testBackend';
import { relativeL2 } from '../../helpers/relativeError';
import { makeTempDir } from '../../helpers/tempDir';

let tmp: string;
beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('onnx-ops');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647 - 0.5) * 0.8;
  });
}

const init = (name: string, dims: number[], data: number[]) => ({
  name,
  dims,
  data_type: 1,
  float_data: data,
});
const node = (op: string, inputs: string[], output: string, attribute: object[] = []) => ({
  name: `${op}_${output}`,
  op_type: op,
  input: inputs,
  output: [output],
  attribute,
});
const ints = (name: string, v: number[]) => ({ name, ints: v, type: 7 });
const int = (name: string, v: number) => ({ name, i: v, type: 2 });

/**
 * An IR-SE-style block in NCHW: conv 3x3 (4 -> 6), SE (global pool, 1x1 convs, ReLU, Sigmoid, Mul), a MaxPool(1, 2)
 * shortcut with a 1x1 conv, Add, PRelu, Flatten (NCHW order), Gemm (transB).
 */
test('an IR-SE block (SE, MaxPool shortcut, PRelu, Flatten, Gemm) matches a reference written in NCHW', async () => {
  const w = {
    conv: values(6 * 4 * 9, 1),
    convB: values(6, 2),
    se1: values(3 * 6, 3),
    se2: values(6 * 3, 4),
    sc: values(6 * 4, 5),
    slope: values(6, 6),
    fc: values(5 * 6 * 4 * 4, 7),
    fcB: values(5, 8),
  };
  const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  const Model = root.lookupType('onnx.ModelProto');
  const model = Model.fromObject({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'irse',
      initializer: [
        init('conv.w', [6, 4, 3, 3], w.conv),
        init('conv.b', [6], w.convB),
        init('se1.w', [3, 6, 1, 1], w.se1),
        init('se2.w', [6, 3, 1, 1], w.se2),
        init('sc.w', [6, 4, 1, 1], w.sc),
        init('prelu', [6, 1, 1], w.slope),
        init('fc.w', [5, 96], w.fc),
        init('fc.b', [5], w.fcB),
      ],
      node: [
        node('Conv', ['x', 'conv.w', 'conv.b'], 'c1', [
          ints('kernel_shape', [3, 3]),
          ints('pads', [1, 1, 1, 1]),
          ints('strides', [2, 2]),
        ]),
        node('GlobalAveragePool', ['c1'], 'gp'),
        node('Conv', ['gp', 'se1.w'], 's1', [ints('kernel_shape', [1, 1])]),
        node('Relu', ['s1'], 's2'),
        node('Conv', ['s2', 'se2.w'], 's3', [ints('kernel_shape', [1, 1])]),
        node('Sigmoid', ['s3'], 's4'),
        node('Mul', ['c1', 's4'], 'se'),
        node('MaxPool', ['x'], 'mp', [ints('kernel_shape', [1, 1]), ints('strides', [2, 2])]),
        node('Conv', ['mp', 'sc.w'], 'sc', [ints('kernel_shape', [1, 1])]),
        node('Add', ['se', 'sc'], 'sum'),
        node('PRelu', ['sum', 'prelu'], 'act'),
        node('Flatten', ['act'], 'flat', [int('axis', 1)]),
        node('Gemm', ['flat', 'fc.w', 'fc.b'], 'embedding', [int('transB', 1)]),
      ],
      input: [
        {
          name: 'x',
          type: {
            tensor_type: {
              elem_type: 1,
              shape: { dim: [{ dim_value: 1 }, { dim_value: 4 }, { dim_value: 8 }, { dim_value: 8 }] },
            },
          },
        },
      ],
      output: [{ name: 'embedding', type: { tensor_type: { elem_type: 1 } } }],
    },
  });
  const file = path.join(tmp, 'irse.onnx');
  fs.writeFileSync(file, Model.encode(model).finish());
  await convertArcface(file, path.join(tmp, 'irse'), { dtype: 'float32' });
  const arcface = await ArcfaceModel.load(path.join(tmp, 'irse'));
  const xNchw = tf.tensor4d(values(2 * 4 * 64, 9), [2, 4, 8, 8]);
  const got = arcface.embed(tf.transpose(xNchw, [0, 2, 3, 1]));
  const gotValues = got.dataSync().slice();
  expect(got.shape).toEqual([2, 5]);
  // The reference uses einsum, which only the cpu backend has.
  await tf.setBackend('cpu');

  // Reference in NCHW with tfjs ops in channelsFirst-equivalent form (transposing around NHWC convs).
  const x = tf.tensor4d(xNchw.dataSync(), [2, 4, 8, 8]);
  const expected = tf.tidy(() => {
    const nhwc = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
    const nchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);
    const kernel = (d: number[], dims: number[]) =>
      tf.transpose(tf.tensor4d(d, dims as [number, number, number, number]), [2, 3, 1, 0]) as tf.Tensor4D;
    const c1 = nchw(
      tf.add(
        tf.conv2d(
          tf.pad(nhwc(x), [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          kernel(w.conv, [6, 4, 3, 3]),
          2,
          'valid',
        ),
        tf.tensor1d(w.convB),
      ),
    );
    const gp = tf.mean(c1, [2, 3], true);
    const s1 = tf.relu(tf.einsum('oc,bcij->boij', tf.tensor2d(w.se1, [3, 6]), gp));
    const s4 = tf.sigmoid(tf.einsum('oc,bcij->boij', tf.tensor2d(w.se2, [6, 3]), s1));
    const se = tf.mul(c1, s4);
    const sub = tf.stack(
      Array.from({ length: 4 }, (_, i) =>
        tf.stack(
          Array.from({ length: 4 }, (_, j) =>
            tf.slice(x, [0, 0, 2 * i, 2 * j], [2, 4, 1, 1]).reshape([2, 4]),
          ),
          2,
        ),
      ),
      2,
    );
    const sc = tf.einsum('oc,bcij->boij', tf.tensor2d(w.sc, [6, 4]), sub);
    const sum = tf.add(se, sc);
    const slope = tf.tensor3d(w.slope, [6, 1, 1]);
    const act = tf.add(tf.relu(sum), tf.mul(slope, tf.neg(tf.relu(tf.neg(sum)))));
    return tf.add(
      tf.matMul(act.reshape([2, 96]), tf.tensor2d(w.fc, [5, 96]), false, true),
      tf.tensor1d(w.fcB),
    );
  });
  expect(relativeL2(gotValues, expected)).toBeLessThan(1e-5);
  await tf.setBackend(testBackendName());
  arcface.dispose();
});
