import { Ref } from '../../graph/graphBuilder';
import { convWeightToHwio } from '../../weights/layout';
import { OnnxOpExecutor } from '../onnxOpContext';

/**
 * Conv (2-D, no dilation, equal strides): plain, depthwise (group = channels) or grouped (one convolution per
 * group, concatenated). Symmetric odd-kernel padding at stride 1 becomes SAME; other padding an explicit Pad.
 */
const conv: OnnxOpExecutor = (node, ctx) => {
  const { o, g } = ctx;
  const x = ctx.value(node, node.inputs[0]);
  const weight = ctx.floatInit(node, node.inputs[1]);
  if (ctx.ints(node, 'dilations', [1, 1]).some((d) => d !== 1))
    ctx.fail(node, 'dilated convolutions are not supported');
  const autoPad = ctx.attribute(node, 'auto_pad')?.s;
  if (autoPad && autoPad !== 'NOTSET') ctx.fail(node, `auto_pad ${autoPad} is not supported`);
  if (weight.dims.length !== 4)
    ctx.fail(node, `expected a 4-D (2-D convolution) weight, got [${weight.dims}]`);
  const [outC, groupInC, kh, kw] = weight.dims;
  const group = ctx.attribute(node, 'group')?.i ?? 1;
  const inC = groupInC * group;
  if (group < 1 || outC % group !== 0)
    ctx.fail(node, `group ${group} does not divide ${outC} output channels`);
  if (x.shape[1] !== null && x.shape[1] !== inC)
    ctx.fail(node, `the input has ${x.shape[1]} channels, the weight expects ${inC}`);
  const [sh, sw] = ctx.ints(node, 'strides', [1, 1]);
  if (sh !== sw) ctx.fail(node, 'unequal strides are not supported');
  const [pt, pl, pb, pr] = ctx.ints(node, 'pads', [0, 0, 0, 0]);
  const same = sh === 1 && kh === kw && kh % 2 === 1 && [pt, pl, pb, pr].every((p) => p === (kh - 1) / 2);
  const input =
    same || !(pt || pl || pb || pr)
      ? x.ref
      : o.pad(x.ref, [
          [0, 0],
          [pt, pb],
          [pl, pr],
          [0, 0],
        ]);
  const padding = same ? 'SAME' : 'VALID';
  let y: Ref;
  if (group === 1) {
    const hwio = convWeightToHwio(weight.data, weight.dims);
    y = o.conv2d(input, g.constant(node.inputs[1], hwio.data, hwio.shape), sh, padding);
  } else if (groupInC === 1) {
    // Depthwise: HWIO [kh, kw, 1, C*m] is, element for element, tfjs's depthwise filter [kh, kw, C, m].
    const hwio = convWeightToHwio(weight.data, weight.dims);
    const filter = g.constant(node.inputs[1], hwio.data, [kh, kw, inC, outC / inC]);
    y = o.depthwiseConv2d(input, filter, sh, padding);
  } else {
    const perGroup = (outC / group) * groupInC * kh * kw;
    const parts = o.split(input, group, 3).map((part, k) => {
      const groupWeight = convWeightToHwio(weight.data.subarray(k * perGroup, (k + 1) * perGroup), [
        outC / group,
        groupInC,
        kh,
        kw,
      ]);
      const filter = g.constant(`${node.inputs[1]}/group${k}`, groupWeight.data, groupWeight.shape);
      return o.conv2d(part, filter, sh, padding);
    });
    y = o.concat(parts, 3);
  }
  if (node.inputs[2])
    y = o.add(y, g.constant(node.inputs[2], ctx.floatInit(node, node.inputs[2]).data, [outC]));
  const [n, , h, w] = x.shape;
  const out = (size: number | null, k: number, p0: number, p1: number) =>
    size === null ? null : Math.floor((size + p0 + p1 - k) / sh) + 1;
  ctx.set(node, y, [n, outC, out(h, kh, pt, pb), out(w, kw, pl, pr)]);
};

export const CONVOLUTION_OPS: Record<string, OnnxOpExecutor> = { Conv: conv };
