import {
  NchwArray,
  at,
  floatTensor,
  intTensor,
  maxAbsDifference,
  onnxNode,
  runOnnxNodes,
  testValues,
} from '../../helpers/onnxSingleOp';
import { useTestBackend } from '../../helpers/testBackend';

beforeAll(useTestBackend);

const x: NchwArray = { dims: [2, 3, 2, 4], data: testValues(48, 41) };

describe('shape family', () => {
  test("Flatten keeps ONNX's NCHW element order (the graph holds images NHWC)", async () => {
    const got = await runOnnxNodes([onnxNode('Flatten', ['x'], 'y', { axis: { i: 1 } })], [], x);
    expect(maxAbsDifference(got, { dims: [2, 24], data: x.data })).toBe(0);
  });

  test('Reshape to rank 3 (0 copies a dim), then Transpose of the last two axes', async () => {
    const got = await runOnnxNodes(
      [
        onnxNode('Reshape', ['x', 'shape'], 'r'),
        onnxNode('Transpose', ['r'], 'y', { perm: { ints: [0, 2, 1] } }),
      ],
      [intTensor('shape', [3], [0, 3, 8])],
      x,
    );
    const expected: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let k = 0; k < 8; k++) for (let c = 0; c < 3; c++) expected.push(x.data[b * 24 + c * 8 + k]);
    expect(maxAbsDifference(got, { dims: [2, 8, 3], data: expected })).toBe(0);
  });

  test.each([
    ['attribute pads', [onnxNode('Pad', ['x'], 'y', { pads: { ints: [0, 0, 1, 2, 0, 0, 0, 1] } })], []],
    [
      'pads as an input (opset >= 11)',
      [onnxNode('Pad', ['x', 'p'], 'y')],
      [intTensor('p', [8], [0, 0, 1, 2, 0, 0, 0, 1])],
    ],
  ] as const)('Pad with %s: zeros around the image', async (_, nodes, inits) => {
    const got = await runOnnxNodes([...nodes], [...inits], x);
    const dims = [2, 3, 3, 7];
    const expected = new Array<number>(2 * 3 * 3 * 7).fill(0);
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 4; j++) expected[at(dims, b, c, i + 1, j + 2)] = x.data[at(x.dims, b, c, i, j)];
    expect(maxAbsDifference(got, { dims, data: expected })).toBe(0);
  });

  test('Pad: reflect mode and a non-zero value are refused by name', async () => {
    await expect(
      runOnnxNodes(
        [onnxNode('Pad', ['x'], 'y', { pads: { ints: [0, 0, 1, 1, 0, 0, 1, 1] }, mode: { s: 'reflect' } })],
        [],
        x,
      ),
    ).rejects.toThrow("pad mode 'reflect' is not supported");
    await expect(
      runOnnxNodes(
        [onnxNode('Pad', ['x', 'p', 'v'], 'y')],
        [intTensor('p', [8], [0, 0, 1, 1, 0, 0, 1, 1]), floatTensor('v', [], [1])],
        x,
      ),
    ).rejects.toThrow('only zero padding is supported');
  });
});

describe('linear family', () => {
  const weight = testValues(5 * 24, 42);
  const bias = testValues(5, 43);
  /** y[b, o] = alpha * sum_k flat[b, k] W[o, k] + beta * bias[o] with W stored [out, in] (transB) or [in, out]. */
  function reference(transB: boolean, alpha: number, beta: number): NchwArray {
    const data: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let o = 0; o < 5; o++) {
        let sum = 0;
        for (let k = 0; k < 24; k++)
          sum += x.data[b * 24 + k] * (transB ? weight[o * 24 + k] : weight[k * 5 + o]);
        data.push(alpha * sum + beta * bias[o]);
      }
    return { dims: [2, 5], data };
  }

  test.each([
    ['Gemm, transB, alpha and beta', 'Gemm', true, 0.5, 2],
    ['Gemm, [in, out] weight', 'Gemm', false, 1, 1],
    ['MatMul', 'MatMul', false, 1, 0],
  ] as const)('%s', async (_, op, transB, alpha, beta) => {
    const attributes: Record<string, { i?: number; f?: number }> =
      op === 'Gemm' ? { transB: { i: transB ? 1 : 0 }, alpha: { f: alpha }, beta: { f: beta } } : {};
    const got = await runOnnxNodes(
      [
        onnxNode('Flatten', ['x'], 'f'),
        onnxNode(op, op === 'Gemm' ? ['f', 'w', 'b'] : ['f', 'w'], 'y', attributes),
      ],
      [floatTensor('w', transB ? [5, 24] : [24, 5], weight), floatTensor('b', [5], bias)],
      x,
    );
    expect(maxAbsDifference(got, reference(transB, alpha, beta))).toBeLessThan(1e-5);
  });

  test('a weight of the wrong size is named', async () => {
    await expect(
      runOnnxNodes(
        [onnxNode('Flatten', ['x'], 'f'), onnxNode('MatMul', ['f', 'w'], 'y')],
        [floatTensor('w', [20, 5], testValues(100, 1))],
        x,
      ),
    ).rejects.toThrow('the input has 24 features, the weight [20,5] expects 20');
  });
});

test('an op without an executor is refused before anything is emitted, listing the supported ones', async () => {
  await expect(runOnnxNodes([onnxNode('Softmax', ['x'], 'y')], [], x)).rejects.toThrow(
    /unsupported ONNX op Softmax in node 'Softmax_y' \(supported: Conv, BatchNormalization, PRelu, /,
  );
});
