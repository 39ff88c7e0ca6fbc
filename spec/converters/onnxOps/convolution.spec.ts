import {
  NchwArray,
  at,
  floatTensor,
  maxAbsDifference,
  onnxNode,
  runOnnxNodes,
  testValues,
} from '../../helpers/onnxSingleOp';
import { useTestBackend } from '../../helpers/testBackend';

beforeAll(useTestBackend);

/** ONNX Conv by its definition: y[n, o, i, j] = b[o] + sum over the group's channels and the kernel window. */
function referenceConv(
  x: NchwArray,
  weight: NchwArray,
  bias: number[] | null,
  o: { group: number; stride: number; pads: [number, number, number, number] },
): NchwArray {
  const [n, , h, w] = x.dims;
  const [outC, groupInC, kh, kw] = weight.dims;
  const [pt, pl, pb, pr] = o.pads;
  const oh = Math.floor((h + pt + pb - kh) / o.stride) + 1;
  const ow = Math.floor((w + pl + pr - kw) / o.stride) + 1;
  const dims = [n, outC, oh, ow];
  const data = new Array<number>(n * outC * oh * ow).fill(0);
  const outPerGroup = outC / o.group;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < outC; oc++) {
      const firstIn = Math.floor(oc / outPerGroup) * groupInC;
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let sum = bias ? bias[oc] : 0;
          for (let ic = 0; ic < groupInC; ic++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const y = i * o.stride + u - pt;
                const z = j * o.stride + v - pl;
                if (y < 0 || z < 0 || y >= h || z >= w) continue;
                sum += x.data[at(x.dims, b, firstIn + ic, y, z)] * weight.data[at(weight.dims, oc, ic, u, v)];
              }
          data[at(dims, b, oc, i, j)] = sum;
        }
    }
  return { dims, data };
}

describe.each([
  ['plain 3x3, SAME-like padding', 4, 6, 1, 3, 1, [1, 1, 1, 1]],
  ['plain 3x3, stride 2, padding 1', 4, 6, 1, 3, 2, [1, 1, 1, 1]],
  ['1x1, no bias', 4, 5, 1, 1, 1, [0, 0, 0, 0]],
  ['asymmetric padding', 3, 2, 1, 3, 1, [0, 1, 2, 1]],
  ['depthwise (group = channels)', 4, 4, 4, 3, 1, [1, 1, 1, 1]],
  ['depthwise with multiplier 2, stride 2', 3, 6, 3, 3, 2, [1, 1, 1, 1]],
  ['grouped (2 groups of 2 channels)', 4, 6, 2, 3, 1, [1, 1, 1, 1]],
] as const)('Conv: %s', (_, inC, outC, group, k, stride, pads) => {
  test('equals the definition in NCHW', async () => {
    const x = { dims: [2, inC, 7, 6], data: testValues(2 * inC * 42, 11) };
    const weight = { dims: [outC, inC / group, k, k], data: testValues((outC * inC * k * k) / group, 12) };
    const bias = _.includes('no bias') ? null : testValues(outC, 13);
    const attributes = {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [stride, stride] },
      pads: { ints: [...pads] },
      group: { i: group },
    };
    const got = await runOnnxNodes(
      [onnxNode('Conv', bias ? ['x', 'w', 'b'] : ['x', 'w'], 'y', attributes)],
      [floatTensor('w', weight.dims, weight.data), ...(bias ? [floatTensor('b', [outC], bias)] : [])],
      x,
    );
    const expected = referenceConv(x, weight, bias, {
      group,
      stride,
      pads: [...pads] as [number, number, number, number],
    });
    expect(maxAbsDifference(got, expected)).toBeLessThan(1e-5);
  });
});

test('Conv: what it cannot translate is named', async () => {
  const x = { dims: [1, 2, 4, 4], data: testValues(32, 1) };
  const w = floatTensor('w', [2, 2, 3, 3], testValues(36, 2));
  await expect(
    runOnnxNodes([onnxNode('Conv', ['x', 'w'], 'y', { dilations: { ints: [2, 2] } })], [w], x),
  ).rejects.toThrow("case.onnx: node 'Conv_y' (Conv): dilated convolutions are not supported");
  await expect(
    runOnnxNodes([onnxNode('Conv', ['x', 'w'], 'y', { strides: { ints: [1, 2] } })], [w], x),
  ).rejects.toThrow('unequal strides are not supported');
  await expect(
    runOnnxNodes([onnxNode('Conv', ['x', 'w'], 'y')], [floatTensor('w', [2, 3, 3, 3], testValues(54, 2))], x),
  ).rejects.toThrow('the input has 2 channels, the weight expects 3');
});
