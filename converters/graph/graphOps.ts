import { GraphBuilder, Ref } from './graphBuilder';
import { GraphDtype, attr } from './tfAttr';

/** A dimension of a dynamic shape: a fixed size, -1 (inferred), or dimension k of a reference tensor. */
export type DimSpec = number | { of: Ref; dim: number };

/** Primitive graph ops with tfjs gradients, as typed calls on a GraphBuilder. */
export class GraphOps {
  constructor(readonly g: GraphBuilder) {}

  add(a: Ref, b: Ref): Ref {
    return this.g.op('AddV2', [a, b]);
  }
  sub(a: Ref, b: Ref): Ref {
    return this.g.op('Sub', [a, b]);
  }
  mul(a: Ref, b: Ref): Ref {
    return this.g.op('Mul', [a, b]);
  }
  div(a: Ref, b: Ref): Ref {
    return this.g.op('RealDiv', [a, b]);
  }
  scale(a: Ref, factor: number): Ref {
    return factor === 1 ? a : this.mul(a, this.g.scalar(factor));
  }
  addScalar(a: Ref, value: number): Ref {
    return this.add(a, this.g.scalar(value));
  }
  unary(
    op: 'Neg' | 'Square' | 'Rsqrt' | 'Sqrt' | 'Sigmoid' | 'Tanh' | 'Erf' | 'Exp' | 'Sin' | 'Cos' | 'Relu',
    x: Ref,
  ): Ref {
    return this.g.op(op, [x]);
  }
  maximum(a: Ref, b: Ref): Ref {
    return this.g.op('Maximum', [a, b]);
  }
  minimum(a: Ref, b: Ref): Ref {
    return this.g.op('Minimum', [a, b]);
  }
  /** Batched matmul with broadcasting of leading dims; transposeB for PyTorch [out, in] weights. */
  matmul(a: Ref, b: Ref, transposeA = false, transposeB = false): Ref {
    return this.g.op('BatchMatMulV2', [a, b], { adj_x: attr.bool(transposeA), adj_y: attr.bool(transposeB) });
  }
  conv2d(x: Ref, filter: Ref, stride: number, padding: 'SAME' | 'VALID'): Ref {
    return this.g.op('Conv2D', [x, filter], {
      strides: attr.ints([1, stride, stride, 1]),
      padding: attr.string(padding),
      data_format: attr.string('NHWC'),
      dilations: attr.ints([1, 1, 1, 1]),
    });
  }
  /** Depthwise conv; filter [kh, kw, C, m], output channel c * m + j. */
  depthwiseConv2d(x: Ref, filter: Ref, stride: number, padding: 'SAME' | 'VALID'): Ref {
    return this.g.op('DepthwiseConv2dNative', [x, filter], {
      strides: attr.ints([1, stride, stride, 1]),
      padding: attr.string(padding),
      data_format: attr.string('NHWC'),
      dilations: attr.ints([1, 1, 1, 1]),
    });
  }
  pad(x: Ref, paddings: [number, number][]): Ref {
    return this.g.op('Pad', [x, this.g.ints(paddings.flat(), [paddings.length, 2])]);
  }
  reshape(x: Ref, shape: Ref | number[]): Ref {
    return this.g.op('Reshape', [x, Array.isArray(shape) ? this.g.ints(shape) : shape]);
  }
  transpose(x: Ref, perm: number[]): Ref {
    return this.g.op('Transpose', [x, this.g.ints(perm)]);
  }
  mean(x: Ref, axes: number[], keepDims = true): Ref {
    return this.g.op('Mean', [x, this.g.ints(axes)], { keep_dims: attr.bool(keepDims) });
  }
  sum(x: Ref, axes: number[], keepDims = true): Ref {
    return this.g.op('Sum', [x, this.g.ints(axes)], { keep_dims: attr.bool(keepDims) });
  }
  concat(xs: Ref[], axis: number): Ref {
    return this.g.op('ConcatV2', [...xs, this.g.intScalar(axis)], { N: attr.int(xs.length) });
  }
  /** Splits into `count` equal parts along axis. */
  split(x: Ref, count: number, axis: number): Ref[] {
    const node = this.g.op('Split', [this.g.intScalar(axis), x], { num_split: attr.int(count) });
    return Array.from({ length: count }, (_, k) => GraphBuilder.outputOf(node, k));
  }
  slice(x: Ref, begin: number[], size: number[]): Ref {
    return this.g.op('Slice', [x, this.g.ints(begin), this.g.ints(size)]);
  }
  /** Repeats x along each axis; `multiples` may be dynamic (see dynamicShape). */
  tile(x: Ref, multiples: Ref): Ref {
    return this.g.op('Tile', [x, multiples]);
  }
  softmax(x: Ref): Ref {
    return this.g.op('Softmax', [x]);
  }
  gather(params: Ref, indices: Ref, axis: number): Ref {
    return this.g.op('GatherV2', [params, indices, this.g.intScalar(axis)], { batch_dims: attr.int(0) });
  }
  cast(x: Ref, dtype: GraphDtype): Ref {
    return this.g.op('Cast', [x], { DstT: attr.dtype(dtype) });
  }
  /** The int32 shape of x (metadata only: never on a differentiated path). */
  shapeOf(x: Ref): Ref {
    return this.g.op('Shape', [x], { out_type: attr.dtype('int32') });
  }
  /** An int32 shape vector built from fixed sizes and dimensions of other tensors. */
  dynamicShape(dims: DimSpec[]): Ref {
    if (dims.every((d) => typeof d === 'number')) return this.g.ints(dims as number[]);
    const parts: Ref[] = [];
    const shapes = new Map<string, Ref>();
    let pendingFixed: number[] = [];
    const flushFixed = () => {
      if (pendingFixed.length) parts.push(this.g.ints(pendingFixed));
      pendingFixed = [];
    };
    for (const d of dims) {
      if (typeof d === 'number') {
        pendingFixed.push(d);
        continue;
      }
      flushFixed();
      let shape = shapes.get(d.of.ref);
      if (!shape) {
        shape = this.shapeOf(d.of);
        shapes.set(d.of.ref, shape);
      }
      parts.push(this.slice(shape, [d.dim], [1]));
    }
    flushFixed();
    return parts.length === 1 ? parts[0] : this.concat(parts, 0);
  }
  /** Nearest-neighbour 2x upsampling of NHWC x. */
  upsampleNearest2x(x: Ref): Ref {
    const size = this.mul(this.slice(this.shapeOf(x), [1], [2]), this.g.ints([2, 2]));
    return this.g.op('ResizeNearestNeighbor', [x, size], {
      align_corners: attr.bool(false),
      half_pixel_centers: attr.bool(false),
    });
  }
}
