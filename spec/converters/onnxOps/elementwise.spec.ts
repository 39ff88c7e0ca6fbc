import { NchwArray, floatTensor, onnxNode, runOnnxNodes, testValues } from '../../helpers/onnxSingleOp';
import { useTestBackend } from '../../helpers/testBackend';

beforeAll(useTestBackend);

const x: NchwArray = { dims: [2, 3, 4, 5], data: testValues(120, 21) };
const channelOf = (i: number) => Math.floor(i / 20) % 3;

/** Elementwise ops (activation, arithmetic, normalization families) against their formulas per element. */
test.each<[string, () => Promise<NchwArray>, (v: number, i: number) => number]>([
  ['Relu', () => runOnnxNodes([onnxNode('Relu', ['x'], 'y')], [], x), (v) => Math.max(v, 0)],
  ['Sigmoid', () => runOnnxNodes([onnxNode('Sigmoid', ['x'], 'y')], [], x), (v) => 1 / (1 + Math.exp(-v))],
  [
    'PRelu, per-channel slope [C, 1, 1]',
    () =>
      runOnnxNodes([onnxNode('PRelu', ['x', 's'], 'y')], [floatTensor('s', [3, 1, 1], [0.1, -0.5, 2])], x),
    (v, i) => (v >= 0 ? v : [0.1, -0.5, 2][channelOf(i)] * v),
  ],
  [
    'PRelu, scalar slope',
    () => runOnnxNodes([onnxNode('PRelu', ['x', 's'], 'y')], [floatTensor('s', [1], [0.25])], x),
    (v) => (v >= 0 ? v : 0.25 * v),
  ],
  [
    'Add of a per-channel constant [1, C, 1, 1]',
    () => runOnnxNodes([onnxNode('Add', ['x', 'c'], 'y')], [floatTensor('c', [1, 3, 1, 1], [1, 2, 3])], x),
    (v, i) => v + [1, 2, 3][channelOf(i)],
  ],
  [
    'Sub, Mul and Div of activations',
    () =>
      runOnnxNodes(
        [
          onnxNode('Relu', ['x'], 'r'),
          onnxNode('Sub', ['x', 'r'], 'd'),
          onnxNode('Mul', ['d', 'x'], 'm'),
          onnxNode('Div', ['m', 'c'], 'y'),
        ],
        [floatTensor('c', [3, 1, 1], [2, 4, 8])],
        x,
      ),
    (v, i) => ((v - Math.max(v, 0)) * v) / [2, 4, 8][channelOf(i)],
  ],
  [
    'Identity and Dropout pass values through',
    () => runOnnxNodes([onnxNode('Identity', ['x'], 'i'), onnxNode('Dropout', ['i'], 'y')], [], x),
    (v) => v,
  ],
  [
    'BatchNormalization (inference)',
    () =>
      runOnnxNodes(
        [onnxNode('BatchNormalization', ['x', 'g', 'b', 'm', 'v'], 'y', { epsilon: { f: 1e-3 } })],
        [
          floatTensor('g', [3], [1.5, -1, 0.5]),
          floatTensor('b', [3], [0.1, 0.2, -0.3]),
          floatTensor('m', [3], [0.05, -0.1, 0.2]),
          floatTensor('v', [3], [0.5, 2, 0.01]),
        ],
        x,
      ),
    (v, i) => {
      const c = channelOf(i);
      return (
        ([1.5, -1, 0.5][c] * (v - [0.05, -0.1, 0.2][c])) / Math.sqrt([0.5, 2, 0.01][c] + 1e-3) +
        [0.1, 0.2, -0.3][c]
      );
    },
  ],
  [
    'a Constant node read by a later node',
    () =>
      runOnnxNodes(
        [
          onnxNode('Constant', [], 'k', { value: { t: floatTensor('k', [3, 1, 1], [3, -1, 0.5]) } }),
          onnxNode('Mul', ['x', 'k'], 'y'),
        ],
        [],
        x,
      ),
    (v, i) => v * [3, -1, 0.5][channelOf(i)],
  ],
])('%s', async (_, run, formula) => {
  const got = await run();
  expect(got.dims).toEqual(x.dims);
  got.data.forEach((v, i) => expect(Math.abs(v - formula(x.data[i], i))).toBeLessThan(1e-5));
});
