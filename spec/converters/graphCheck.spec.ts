import { checkGraph } from '../../converters/graph/graphCheck';

const node = (name: string, op: string) => ({ name, op, input: [], attr: {} });

describe('graph check', () => {
  test('accepts primitive ops and counts them', () => {
    const { histogram } = checkGraph(
      [
        node('x', 'Placeholder'),
        node('w', 'Const'),
        node('c', 'Conv2D'),
        node('a', 'AddV2'),
        node('b', 'AddV2'),
      ],
      'm',
    );
    expect(histogram).toEqual({ Placeholder: 1, Const: 1, Conv2D: 1, AddV2: 2 });
  });

  test('rejects fused ops', () => {
    expect(() => checkGraph([node('f', '_FusedConv2D')], 'unet')).toThrow(
      "unet: node 'f' is a fused op (_FusedConv2D)",
    );
  });

  test('rejects ops without a registered gradient', () => {
    expect(() => checkGraph([node('s', 'StridedSlice')], 'clip')).toThrow(
      "clip: node 's' uses op StridedSlice, which the converter does not allow",
    );
  });
});
