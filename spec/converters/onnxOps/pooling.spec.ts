import {
  NchwArray,
  at,
  maxAbsDifference,
  onnxNode,
  runOnnxNodes,
  testValues,
} from '../../helpers/onnxSingleOp';
import { useTestBackend } from '../../helpers/testBackend';

beforeAll(useTestBackend);

const x: NchwArray = { dims: [2, 3, 6, 8], data: testValues(288, 31) };

function referenceMaxPool(k: number, stride: number): NchwArray {
  const [n, c, h, w] = x.dims;
  const oh = Math.floor((h - k) / stride) + 1;
  const ow = Math.floor((w - k) / stride) + 1;
  const dims = [n, c, oh, ow];
  const data: number[] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let m = -Infinity;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++)
              m = Math.max(m, x.data[at(x.dims, b, ch, i * stride + u, j * stride + v)]);
          data.push(m);
        }
  return { dims, data };
}

test.each([
  [1, 2],
  [2, 2],
  [3, 1],
])('MaxPool kernel %i stride %i equals the definition', async (k, stride) => {
  const got = await runOnnxNodes(
    [
      onnxNode('MaxPool', ['x'], 'y', {
        kernel_shape: { ints: [k, k] },
        strides: { ints: [stride, stride] },
      }),
    ],
    [],
    x,
  );
  expect(maxAbsDifference(got, referenceMaxPool(k, stride))).toBeLessThan(1e-6);
});

test('MaxPool with padding is refused by name', async () => {
  await expect(
    runOnnxNodes(
      [onnxNode('MaxPool', ['x'], 'y', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } })],
      [],
      x,
    ),
  ).rejects.toThrow("node 'MaxPool_y' (MaxPool): only unpadded max pooling with equal strides is supported");
});

test('GlobalAveragePool: the mean of each channel, shape [N, C, 1, 1]', async () => {
  const got = await runOnnxNodes([onnxNode('GlobalAveragePool', ['x'], 'y')], [], x);
  const expected: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let i = 0; i < 6; i++) for (let j = 0; j < 8; j++) sum += x.data[at(x.dims, b, c, i, j)];
      expected.push(sum / 48);
    }
  expect(maxAbsDifference(got, { dims: [2, 3, 1, 1], data: expected })).toBeLessThan(1e-6);
});
