import { SAG_ATTENTION, SAG_ATTENTION_GRAD, SAG_GROUP_NORM, SAG_GROUP_NORM_GRAD } from '../../../lib/kernels';
import { GraphBuilder, GraphNode, Ref } from '../graphBuilder';
import { attr } from '../tfAttr';
import { BackwardContext, BackwardRule } from './backwardContext';

const x = (node: GraphNode, k = 0): Ref => ({ ref: node.input[k] });
const y = (node: GraphNode): Ref => ({ ref: node.name });
const first = (dys: (Ref | null)[]) => dys[0] as Ref;
const only = (grad: Ref) => new Map([[0, grad]]);
const boolAttr = (node: GraphNode, key: string) =>
  Boolean((node.attr[key] as { b?: boolean } | undefined)?.b);
const stringAttr = (node: GraphNode, key: string) => {
  const s = (node.attr[key] as { s?: string } | undefined)?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
};
const intsAttr = (node: GraphNode, key: string) =>
  ((node.attr[key] as { list?: { i?: string[] } } | undefined)?.list?.i ?? []).map(Number);

/** A rule for an op whose gradient flows to input 0 only, as a function of dy. */
function unary(grad: (node: GraphNode, dy: Ref, ctx: BackwardContext) => Ref): BackwardRule {
  return { differentiableInputs: () => [0], backward: (node, dys, ctx) => only(grad(node, first(dys), ctx)) };
}

/** A binary elementwise op with broadcasting: the gradient of each input is reduced to its shape. */
function binary(
  gradA: (node: GraphNode, dy: Ref, ctx: BackwardContext) => Ref,
  gradB: (node: GraphNode, dy: Ref, ctx: BackwardContext) => Ref,
): BackwardRule {
  return {
    differentiableInputs: () => [0, 1],
    backward: (node, dys, ctx) => {
      const dy = first(dys);
      return new Map([
        [0, ctx.unbroadcast(gradA(node, dy, ctx), node.input[0], node.name)],
        [1, ctx.unbroadcast(gradB(node, dy, ctx), node.input[1], node.name)],
      ]);
    },
  };
}

/** The shape of `ref` with `axes` set to 1, as an int32 vector (static where the probe says so). */
function keptDimsShape(ctx: BackwardContext, ref: string, axes: number[]): Ref {
  const shape = ctx.shape(ref);
  return ctx.o.dynamicShape(shape.map((d, i) => (axes.includes(i) ? 1 : (d ?? { of: { ref }, dim: i }))));
}

function normalizedAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** Mean and Sum: dy reshaped to keep the reduced axes, spread over them (divided by their size for Mean). */
function reduction(mean: boolean): BackwardRule {
  return {
    differentiableInputs: () => [0],
    backward: (node, dys, ctx) => {
      const { o, g } = ctx;
      const input = node.input[0];
      const rank = ctx.shape(input).length;
      const axes = normalizedAxes(ctx.intValues(node, node.input[1]), rank);
      let spread = o.reshape(first(dys), keptDimsShape(ctx, input, axes));
      if (mean) {
        const dims = axes.map((a) => ctx.shape(input)[a]);
        if (dims.every((d) => d !== null)) {
          spread = o.scale(spread, 1 / (dims as number[]).reduce((p, q) => p * q, 1));
        } else {
          const count = o.div(
            o.cast(g.op('Size', [{ ref: input }], { out_type: attr.dtype('int32') }), 'float32'),
            o.cast(g.op('Size', [y(node)], { out_type: attr.dtype('int32') }), 'float32'),
          );
          spread = o.div(spread, count);
        }
      }
      return only(ctx.broadcastable(spread));
    },
  };
}

/** BatchMatMulV2 y = op(a) op(b), op = transpose when adj_x / adj_y: the four textbook cases. */
const batchMatMul: BackwardRule = {
  differentiableInputs: () => [0, 1],
  backward: (node, dys, ctx) => {
    const { o } = ctx;
    const dy = first(dys);
    const a = x(node, 0);
    const b = x(node, 1);
    const adjA = boolAttr(node, 'adj_x');
    const adjB = boolAttr(node, 'adj_y');
    let da: Ref;
    let db: Ref;
    if (!adjA && !adjB) {
      da = o.matmul(dy, b, false, true);
      db = o.matmul(a, dy, true, false);
    } else if (!adjA && adjB) {
      da = o.matmul(dy, b, false, false);
      db = o.matmul(dy, a, true, false);
    } else if (adjA && !adjB) {
      da = o.matmul(b, dy, false, true);
      db = o.matmul(a, dy, false, false);
    } else {
      da = o.matmul(b, dy, true, true);
      db = o.matmul(dy, a, true, true);
    }
    return new Map([
      [0, ctx.unbroadcast(da, node.input[0], node.name)],
      [1, ctx.unbroadcast(db, node.input[1], node.name)],
    ]);
  },
};

/**
 * Inserts (s - 1) zeros after every row and column of NHWC dy: [n, h, w, c] -> [n, h s, w s, c]. Built from rank-4
 * pads and reshapes (webgpu's pad emits invalid WGSL for rank 6); `channels` is static.
 */
function spreadWithZeros(ctx: BackwardContext, dy: Ref, s: number, channels: number): Ref {
  const { o, g } = ctx;
  const shape = o.shapeOf(dy);
  const dim = (k: number) => o.slice(shape, [k], [1]);
  const columns = o.pad(o.reshape(dy, o.concat([g.ints([-1]), dim(2), g.ints([1, channels])], 0)), [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]);
  const rows = o.pad(o.reshape(columns, o.concat([dim(0), dim(1), g.ints([1, -1])], 0)), [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]);
  const wide = o.mul(dim(2), g.ints([s]));
  return o.reshape(rows, o.concat([dim(0), g.ints([-1]), wide, g.ints([channels])], 0));
}

/**
 * Conv2D's input gradient as a forward convolution with the flipped kernel (stored once): a SAME convolution of dy
 * for stride 1 and an odd square kernel; otherwise (VALID, any stride) a VALID convolution of dy spread with zeros
 * and padded by k - 1 before and by whatever reaches the input's size after (computed from the shapes at run time,
 * so that odd and even sizes both come out right). tfjs's Conv2DBackpropInput, 8x slower on wasm, is not used.
 */
const conv2d: BackwardRule = {
  differentiableInputs: () => [0],
  backward: (node, dys, ctx) => {
    const { o, g } = ctx;
    const strides = intsAttr(node, 'strides');
    const padding = stringAttr(node, 'padding');
    const dilations = intsAttr(node, 'dilations');
    if (dilations.some((d) => d !== 1)) ctx.fail(node, 'dilated convolutions have no VJP rule');
    const [kh, kw, , outC] = ctx.shape(node.input[1]) as number[];
    const [sh, sw] = [strides[1], strides[2]];
    const dy = first(dys);
    const flipped = ctx.inputGradFilter(node, node.input[1]);
    if (sh === 1 && sw === 1 && padding === 'SAME' && kh === kw && kh % 2 === 1)
      return only(o.conv2d(dy, flipped, 1, 'SAME'));
    if (padding !== 'VALID' || sh !== sw || kh < sh || kw < sw)
      return only(
        g.op('Conv2DBackpropInput', [ctx.shapeTensor(node.input[0]), x(node, 1), dy], {
          strides: attr.ints(strides),
          padding: attr.string(padding ?? 'VALID'),
          data_format: attr.string('NHWC'),
          dilations: attr.ints([1, 1, 1, 1]),
        }),
      );
    const spread = sh === 1 ? dy : spreadWithZeros(ctx, dy, sh, outC);
    // After the spread dy (h s rows), the input still has in - h s rows to reach: kh + r - s >= 0 of them.
    const inShape = ctx.shapeTensor(node.input[0]);
    const spreadShape = o.shapeOf(spread);
    const after = (axis: number) => o.sub(o.slice(inShape, [axis], [1]), o.slice(spreadShape, [axis], [1]));
    const paddings = o.reshape(
      o.concat([g.ints([0, 0, kh - 1]), after(1), g.ints([kw - 1]), after(2), g.ints([0, 0])], 0),
      [4, 2],
    );
    // A full correlation: every output row of the padded input sees all the kernel taps that touched it.
    const padded = g.op('Pad', [spread, paddings]);
    const grad = o.conv2d(padded, flipped, 1, 'VALID');
    return only(grad);
  },
};

/** ConcatV2 along a static axis: each input's gradient is its slice of dy. */
const concat: BackwardRule = {
  differentiableInputs: (node) => node.input.slice(0, -1).map((_, i) => i),
  backward: (node, dys, ctx) => {
    const inputs = node.input.slice(0, -1);
    const rank = ctx.shape(node.name).length;
    const [axis] = normalizedAxes(ctx.intValues(node, node.input[node.input.length - 1]), rank);
    const grads = new Map<number, Ref>();
    let offset = 0;
    inputs.forEach((input, i) => {
      const size = ctx.shape(input)[axis];
      if (size === null) return ctx.fail(node, 'concatenation along a dynamic axis has no VJP rule');
      const begin = Array.from({ length: rank }, (_, k) => (k === axis ? offset : 0));
      grads.set(i, ctx.g.op('Slice', [first(dys), ctx.g.ints(begin), ctx.shapeTensor(input)]));
      offset += size;
    });
    return grads;
  },
};

/** Pad (constant): the gradient is the unpadded window of dy. */
const pad = unary((node, dy, ctx) => {
  const paddings = ctx.intValues(node, node.input[1]);
  const begin = paddings.filter((_, i) => i % 2 === 0);
  return ctx.g.op('Slice', [dy, ctx.g.ints(begin), ctx.shapeTensor(node.input[0])]);
});

/** Slice with constant begin and size: dy padded back to the input's shape (amounts constant over the probes). */
const slice = unary((node, dy, ctx) => {
  const begin = ctx.intValues(node, node.input[1]);
  const outRuns = ctx.probeRuns(node.name);
  const paddings = begin.map((b, i) => {
    const after = ctx.probeRuns(node.input[0]).map((inShape, k) => inShape[i] - b - outRuns[k][i]);
    if (after.some((a) => a !== after[0]))
      ctx.fail(node, 'a slice whose margins vary with the input shape has no VJP rule');
    return [b, after[0]] as [number, number];
  });
  return ctx.o.pad(dy, paddings);
});

/** Split into equal parts: the gradients concatenated back (zeros for parts nothing differentiates). */
const split: BackwardRule = {
  differentiableInputs: () => [1],
  backward: (node, dys, ctx) => {
    const [axis] = ctx.intValues(node, node.input[0]);
    const parts = dys.map(
      (dy, k) => dy ?? ctx.g.op('ZerosLike', [{ ref: k === 0 ? node.name : `${node.name}:${k}` }]),
    );
    return new Map([[1, ctx.o.concat(parts, axis)]]);
  },
};

/** ResizeNearestNeighbor by an integer factor (no corner alignment, no half-pixel centres): sum of each block. */
const resizeNearest = unary((node, dy, ctx) => {
  if (boolAttr(node, 'align_corners') || boolAttr(node, 'half_pixel_centers'))
    ctx.fail(node, 'only plain nearest-neighbour upsampling has a VJP rule');
  // The factor from the probe runs: the same integer in every run and on both axes.
  const outRuns = ctx.probeRuns(node.name);
  const factors = ctx
    .probeRuns(node.input[0])
    .flatMap((inShape, k) => [outRuns[k][1] / inShape[1], outRuns[k][2] / inShape[2]]);
  const factor = factors[0];
  if (!Number.isInteger(factor) || factors.some((f) => f !== factor))
    return ctx.fail(node, 'only upsampling by one integer factor on both axes has a VJP rule');
  const input = { ref: node.input[0] };
  const blocks = ctx.o.reshape(
    dy,
    ctx.o.dynamicShape([
      { of: input, dim: 0 },
      { of: input, dim: 1 },
      factor,
      { of: input, dim: 2 },
      factor,
      { of: input, dim: 3 },
    ]),
  );
  return ctx.o.sum(blocks, [2, 4], false);
});

const softmax = unary((node, dy, ctx) => {
  const { o } = ctx;
  const s = y(node);
  return o.mul(s, o.sub(dy, o.sum(o.mul(dy, s), [-1], true)));
});

/** dy where a > b (or >=), else 0: a boolean mask, computed only once dy exists. */
function where(ctx: BackwardContext, dy: Ref, a: Ref, b: Ref, op: 'Greater' | 'GreaterEqual'): Ref {
  const mask = ctx.g.op(op, [ctx.afterGradient(dy, a), b]);
  return ctx.g.op('SelectV2', [mask, dy, ctx.g.op('ZerosLike', [dy])]);
}

/**
 * SagAttention: one SagAttentionGrad node for the inputs on the differentiated path (in cross-attention only q is:
 * k and v come from the text context), which recomputes the probabilities instead of keeping them from the forward.
 */
const attention: BackwardRule = {
  differentiableInputs: () => [0, 1, 2],
  backward: (node, dys, ctx) => {
    const wanted = [0, 1, 2].filter((i) => ctx.needsGradient(node, i));
    const gradients = wanted.map((i) => 'qkv'[i]).join('');
    const grad = ctx.g.op(SAG_ATTENTION_GRAD, [x(node, 0), x(node, 1), x(node, 2), first(dys)], {
      ...node.attr,
      gradients: attr.string(gradients),
    });
    return new Map(wanted.map((input, k) => [input, GraphBuilder.outputOf(grad, k)]));
  },
};

export const BACKWARD_RULES: Readonly<Record<string, BackwardRule>> = {
  Identity: unary((_, dy) => dy),
  AddV2: binary(
    (_, dy) => dy,
    (_, dy) => dy,
  ),
  Sub: binary(
    (_, dy) => dy,
    (_, dy, ctx) => ctx.o.unary('Neg', dy),
  ),
  Mul: binary(
    (node, dy, ctx) => ctx.o.mul(dy, x(node, 1)),
    (node, dy, ctx) => ctx.o.mul(dy, x(node, 0)),
  ),
  RealDiv: binary(
    (node, dy, ctx) => ctx.o.div(dy, x(node, 1)),
    (node, dy, ctx) => ctx.o.unary('Neg', ctx.o.div(ctx.o.mul(dy, y(node)), x(node, 1))),
  ),
  Maximum: binary(
    (node, dy, ctx) => where(ctx, dy, x(node, 0), x(node, 1), 'GreaterEqual'),
    (node, dy, ctx) => where(ctx, dy, x(node, 1), x(node, 0), 'Greater'),
  ),
  Minimum: binary(
    (node, dy, ctx) => where(ctx, dy, x(node, 1), x(node, 0), 'GreaterEqual'),
    (node, dy, ctx) => where(ctx, dy, x(node, 0), x(node, 1), 'Greater'),
  ),
  Neg: unary((_, dy, ctx) => ctx.o.unary('Neg', dy)),
  Square: unary((node, dy, ctx) => ctx.o.scale(ctx.o.mul(dy, x(node)), 2)),
  Sqrt: unary((node, dy, ctx) => ctx.o.div(ctx.o.scale(dy, 0.5), y(node))),
  Rsqrt: unary((node, dy, ctx) => {
    const { o } = ctx;
    return o.scale(o.mul(o.mul(o.mul(dy, y(node)), y(node)), y(node)), -0.5);
  }),
  Exp: unary((node, dy, ctx) => ctx.o.mul(dy, y(node))),
  Sin: unary((node, dy, ctx) => ctx.o.mul(dy, ctx.o.unary('Cos', ctx.afterGradient(dy, x(node))))),
  Cos: unary((node, dy, ctx) =>
    ctx.o.unary('Neg', ctx.o.mul(dy, ctx.o.unary('Sin', ctx.afterGradient(dy, x(node))))),
  ),
  Sigmoid: unary((node, dy, ctx) => {
    const dyS = ctx.o.mul(dy, y(node));
    return ctx.o.sub(dyS, ctx.o.mul(dyS, y(node)));
  }),
  Tanh: unary((node, dy, ctx) => ctx.o.sub(dy, ctx.o.mul(ctx.o.mul(dy, y(node)), y(node)))),
  Erf: unary((node, dy, ctx) => {
    const { o } = ctx;
    const input = ctx.afterGradient(dy, x(node));
    return o.mul(
      dy,
      o.scale(o.unary('Exp', o.unary('Neg', o.unary('Square', input))), 2 / Math.sqrt(Math.PI)),
    );
  }),
  Relu: unary((node, dy, ctx) => where(ctx, dy, x(node), ctx.g.scalar(0), 'Greater')),
  BatchMatMulV2: batchMatMul,
  Conv2D: conv2d,
  Reshape: unary((node, dy, ctx) => ctx.o.reshape(dy, ctx.shapeTensor(node.input[0]))),
  Transpose: unary((node, dy, ctx) => {
    const perm = ctx.intValues(node, node.input[1]);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return ctx.o.transpose(dy, inverse);
  }),
  Mean: reduction(true),
  Sum: reduction(false),
  ConcatV2: concat,
  Pad: pad,
  Slice: slice,
  Split: split,
  ResizeNearestNeighbor: resizeNearest,
  Softmax: softmax,
  [SAG_ATTENTION]: attention,
  // The fused GroupNorm's input gradient is one fused node too (x, gamma, beta, dy; the forward's attributes).
  [SAG_GROUP_NORM]: unary((node, dy, ctx) =>
    ctx.g.op(SAG_GROUP_NORM_GRAD, [x(node, 0), x(node, 1), x(node, 2), dy], node.attr),
  ),
};
