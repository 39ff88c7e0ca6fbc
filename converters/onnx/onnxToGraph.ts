import { GraphBuilder, Ref } from '../graph/graphBuilder';
import { GraphOps } from '../graph/graphOps';
import { attr } from '../graph/tfAttr';
import { convWeightToHwio } from '../weights/layout';
import { OnnxGraph, OnnxNode, OnnxTensor } from './onnxModel';

/** A value of the ONNX graph in our graph: rank-4 activations are kept NHWC, everything else as in ONNX. */
interface Value {
  ref: Ref;
  /** ONNX (NCHW) shape; null for the batch or unknown dims. */
  shape: (number | null)[];
}

export const SUPPORTED_ONNX_OPS = [
  'Conv',
  'BatchNormalization',
  'PRelu',
  'Relu',
  'Sigmoid',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'GlobalAveragePool',
  'Flatten',
  'Reshape',
  'Gemm',
  'MatMul',
  'Identity',
  'Dropout',
  'Constant',
  'Transpose',
  'Pad',
  'MaxPool',
] as const;

/**
 * Translates an ONNX image model (insightface iresnet / IR-SE ArcFace exports) into graph ops. Inputs NCHW in ONNX
 * become NHWC graph inputs with the same names; outputs keep their ONNX names.
 */
export class OnnxToGraph {
  private readonly values = new Map<string, Value>();
  private readonly o: GraphOps;

  constructor(
    private readonly g: GraphBuilder,
    private readonly model: OnnxGraph,
    private readonly source: string,
  ) {
    this.o = new GraphOps(g);
  }

  /** Checks every node's op before anything is emitted. */
  static assertSupported(model: OnnxGraph, source: string): void {
    for (const node of model.nodes) {
      if (!(SUPPORTED_ONNX_OPS as readonly string[]).includes(node.opType)) {
        throw new Error(
          `${source}: unsupported ONNX op ${node.opType} in node '${node.name}' (supported: ${SUPPORTED_ONNX_OPS.join(', ')})`,
        );
      }
    }
  }

  build(): void {
    OnnxToGraph.assertSupported(this.model, this.source);
    for (const input of this.model.inputs) {
      const shape = input.dims.map((d, i) => (i === 0 ? null : d));
      if (shape.length !== 4 || shape.slice(1).some((d) => d === null)) {
        throw new Error(
          `${this.source}: input '${input.name}' must be a fixed-size NCHW image, got [${input.dims}]`,
        );
      }
      const [, c, h, w] = shape as number[];
      this.values.set(input.name, { ref: this.g.input(input.name, 'float32', [null, h, w, c]), shape });
    }
    for (const node of this.model.nodes) this.emit(node);
    for (const output of this.model.outputs) {
      const v = this.values.get(output.name);
      if (!v) throw new Error(`${this.source}: graph output '${output.name}' is not produced by any node`);
      this.g.output(output.name, v.shape.length === 4 ? this.toNchw(v) : v.ref);
    }
  }

  private fail(node: OnnxNode, why: string): never {
    throw new Error(`${this.source}: node '${node.name}' (${node.opType}): ${why}`);
  }

  private initializer(name: string): OnnxTensor | undefined {
    return this.model.initializers.get(name);
  }

  private floatInit(node: OnnxNode, name: string): OnnxTensor & { data: Float32Array } {
    const t = this.initializer(name);
    if (!t || !t.isFloat) this.fail(node, `input '${name}' must be a float initializer`);
    return t as OnnxTensor & { data: Float32Array };
  }

  private value(node: OnnxNode, name: string): Value {
    const v = this.values.get(name);
    if (v) return v;
    const t = this.initializer(name);
    if (t && t.isFloat) {
      const data = t.data as Float32Array;
      // Per-channel NCHW constants ([C,1,1] or [1,C,1,1]) broadcast over NHWC as [C].
      const dims = t.dims;
      const perChannel =
        (dims.length === 3 && dims[1] === 1 && dims[2] === 1) ||
        (dims.length === 4 && dims[0] === 1 && dims[2] === 1 && dims[3] === 1);
      const shape = perChannel ? [data.length] : dims;
      return { ref: this.g.constant(name, data, shape), shape: dims };
    }
    this.fail(node, `input '${name}' is neither produced by a node nor a float initializer`);
  }

  private set(node: OnnxNode, ref: Ref, shape: (number | null)[]): void {
    this.values.set(node.outputs[0], { ref, shape });
  }

  private toNchw(v: Value): Ref {
    return this.o.transpose(v.ref, [0, 3, 1, 2]);
  }

  private ints(node: OnnxNode, key: string, fallback: number[]): number[] {
    return node.attributes.get(key)?.ints ?? fallback;
  }

  private emit(node: OnnxNode): void {
    const o = this.o;
    const a = (k: string) => node.attributes.get(k);
    switch (node.opType) {
      case 'Conv': {
        const x = this.value(node, node.inputs[0]);
        const weight = this.floatInit(node, node.inputs[1]);
        if (this.ints(node, 'dilations', [1, 1]).some((d) => d !== 1))
          this.fail(node, 'dilated convolutions are not supported');
        if (a('auto_pad')?.s && a('auto_pad')?.s !== 'NOTSET')
          this.fail(node, `auto_pad ${a('auto_pad')?.s} is not supported`);
        const [outC, groupInC, kh, kw] = weight.dims;
        const group = a('group')?.i ?? 1;
        const inC = groupInC * group;
        if (group < 1 || outC % group !== 0)
          this.fail(node, `group ${group} does not divide ${outC} output channels`);
        const [sh, sw] = this.ints(node, 'strides', [1, 1]);
        if (sh !== sw) this.fail(node, 'unequal strides are not supported');
        const [pt, pl, pb, pr] = this.ints(node, 'pads', [0, 0, 0, 0]);
        const same =
          sh === 1 && kh === kw && kh % 2 === 1 && [pt, pl, pb, pr].every((p) => p === (kh - 1) / 2);
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
        const hwio = convWeightToHwio(weight.data, weight.dims);
        let y: Ref;
        if (group === 1) {
          y = o.conv2d(input, this.g.constant(node.inputs[1], hwio.data, hwio.shape), sh, padding);
        } else if (groupInC === 1) {
          // Depthwise: HWIO [kh, kw, 1, C*m] is, element for element, tfjs's depthwise filter [kh, kw, C, m].
          const filter = this.g.constant(node.inputs[1], hwio.data, [kh, kw, inC, outC / inC]);
          y = o.depthwiseConv2d(input, filter, sh, padding);
        } else {
          // General groups: one convolution per channel group, outputs concatenated in group order.
          const perGroup = (outC / group) * groupInC * kh * kw;
          const parts = o.split(input, group, 3).map((part, k) => {
            const dims = [outC / group, groupInC, kh, kw];
            const groupWeight = convWeightToHwio(
              weight.data.subarray(k * perGroup, (k + 1) * perGroup),
              dims,
            );
            const filter = this.g.constant(
              `${node.inputs[1]}/group${k}`,
              groupWeight.data,
              groupWeight.shape,
            );
            return o.conv2d(part, filter, sh, padding);
          });
          y = o.concat(parts, 3);
        }
        if (node.inputs[2])
          y = o.add(y, this.g.constant(node.inputs[2], this.floatInit(node, node.inputs[2]).data, [outC]));
        const [n, , h, w] = x.shape;
        const out = (size: number | null, k: number, p0: number, p1: number) =>
          size === null ? null : Math.floor((size + p0 + p1 - k) / sh) + 1;
        this.set(node, y, [n, outC, out(h, kh, pt, pb), out(w, kw, pl, pr)]);
        return;
      }
      case 'BatchNormalization': {
        const x = this.value(node, node.inputs[0]);
        const [gamma, beta, mean, variance] = node.inputs
          .slice(1, 5)
          .map((n) => this.floatInit(node, n).data);
        const eps = a('epsilon')?.f ?? 1e-5;
        const scale = new Float32Array(gamma.length);
        const shift = new Float32Array(gamma.length);
        for (let c = 0; c < gamma.length; c++) {
          scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
          shift[c] = beta[c] - mean[c] * scale[c];
        }
        const y = o.add(
          o.mul(x.ref, this.g.constant(`${node.name}/scale`, scale, [scale.length])),
          this.g.constant(`${node.name}/shift`, shift, [shift.length]),
        );
        this.set(node, y, x.shape);
        return;
      }
      case 'PRelu': {
        const x = this.value(node, node.inputs[0]);
        const slope = this.floatInit(node, node.inputs[1]).data;
        const slopeRef = this.g.constant(node.inputs[1], slope, slope.length === 1 ? [] : [slope.length]);
        const y = o.sub(o.unary('Relu', x.ref), o.mul(slopeRef, o.unary('Relu', o.unary('Neg', x.ref))));
        this.set(node, y, x.shape);
        return;
      }
      case 'Relu':
      case 'Sigmoid': {
        const x = this.value(node, node.inputs[0]);
        this.set(node, o.unary(node.opType, x.ref), x.shape);
        return;
      }
      case 'Identity':
      case 'Dropout': {
        const x = this.value(node, node.inputs[0]);
        this.values.set(node.outputs[0], x);
        return;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const x = this.value(node, node.inputs[0]);
        const y = this.value(node, node.inputs[1]);
        const fn = { Add: o.add, Sub: o.sub, Mul: o.mul, Div: o.div }[node.opType].bind(o);
        this.set(node, fn(x.ref, y.ref), x.shape.length >= y.shape.length ? x.shape : y.shape);
        return;
      }
      case 'MaxPool': {
        // IR-SE shortcuts use MaxPool(kernel 1, stride s): a subsampling, emitted as a stride-s identity 1x1 conv
        // (exact gradient on every backend; wasm's MaxPool gradient is wrong for >= 3 channels).
        const x = this.value(node, node.inputs[0]);
        const [kh, kw] = this.ints(node, 'kernel_shape', [1, 1]);
        const [sh, sw] = this.ints(node, 'strides', [1, 1]);
        const pads = this.ints(node, 'pads', [0, 0, 0, 0]);
        if (pads.some((p) => p !== 0) || sh !== sw)
          this.fail(node, 'only unpadded max pooling with equal strides is supported');
        const [n, c, h, w] = x.shape;
        if (c === null) this.fail(node, 'the channel count must be static');
        let y: Ref;
        if (kh === 1 && kw === 1) {
          const eye = new Float32Array(c * c);
          for (let i = 0; i < c; i++) eye[i * c + i] = 1;
          y = o.conv2d(
            x.ref,
            this.g.constant(`${node.name}/identity`, eye, [1, 1, c, c], 'float32', true),
            sh,
            'VALID',
          );
        } else {
          y = this.g.op('MaxPool', [x.ref], {
            ksize: attr.ints([1, kh, kw, 1]),
            strides: attr.ints([1, sh, sw, 1]),
            padding: attr.string('VALID'),
            data_format: attr.string('NHWC'),
          });
        }
        const out = (size: number | null, k: number) =>
          size === null ? null : Math.floor((size - k) / sh) + 1;
        this.set(node, y, [n, c, out(h, kh), out(w, kw)]);
        return;
      }
      case 'GlobalAveragePool': {
        const x = this.value(node, node.inputs[0]);
        if (x.shape.length !== 4) this.fail(node, 'expected a rank-4 input');
        this.set(node, o.mean(x.ref, [1, 2]), [x.shape[0], x.shape[1], 1, 1]);
        return;
      }
      case 'Flatten': {
        const x = this.value(node, node.inputs[0]);
        if ((a('axis')?.i ?? 1) !== 1) this.fail(node, 'only axis = 1 is supported');
        const rest = x.shape.slice(1);
        if (rest.some((d) => d === null)) this.fail(node, 'flattened dims must be static');
        const size = (rest as number[]).reduce((p, q) => p * q, 1);
        const source = x.shape.length === 4 ? this.toNchw(x) : x.ref;
        this.set(node, o.reshape(source, [-1, size]), [x.shape[0], size]);
        return;
      }
      case 'Reshape': {
        const x = this.value(node, node.inputs[0]);
        const target = this.initializer(node.inputs[1]);
        if (!target || target.isFloat) this.fail(node, 'the target shape must be an integer initializer');
        const dims = (target.data as number[]).map((d, i) => (d === 0 ? (x.shape[i] ?? -1) : d));
        dims[0] = -1;
        if (dims.length === 4) this.fail(node, 'reshaping to rank 4 is not supported');
        const source = x.shape.length === 4 ? this.toNchw(x) : x.ref;
        this.set(
          node,
          o.reshape(
            source,
            dims.map((d) => (d === null ? -1 : d)),
          ),
          [x.shape[0], ...dims.slice(1)],
        );
        return;
      }
      case 'Gemm':
      case 'MatMul': {
        const x = this.value(node, node.inputs[0]);
        const weight = this.floatInit(node, node.inputs[1]);
        if (x.shape.length !== 2) this.fail(node, 'expected a rank-2 input');
        if (node.opType === 'Gemm' && (a('transA')?.i ?? 0) !== 0) this.fail(node, 'transA is not supported');
        const transB = node.opType === 'Gemm' && (a('transB')?.i ?? 0) === 1;
        let y = o.matmul(x.ref, this.g.constant(node.inputs[1], weight.data, weight.dims), false, transB);
        const alpha = node.opType === 'Gemm' ? (a('alpha')?.f ?? 1) : 1;
        y = o.scale(y, alpha);
        const outDim = transB ? weight.dims[0] : weight.dims[1];
        if (node.opType === 'Gemm' && node.inputs[2]) {
          const beta = a('beta')?.f ?? 1;
          const bias = this.floatInit(node, node.inputs[2]).data.map((v) => v * beta);
          y = o.add(y, this.g.constant(node.inputs[2], bias, [bias.length]));
        }
        this.set(node, y, [x.shape[0], outDim]);
        return;
      }
      case 'Constant': {
        const t = a('value')?.t;
        if (!t) this.fail(node, 'only tensor-valued constants are supported');
        this.model.initializers.set(node.outputs[0], { ...t, name: node.outputs[0] });
        return;
      }
      case 'Transpose': {
        const x = this.value(node, node.inputs[0]);
        if (x.shape.length === 4) this.fail(node, 'transposing rank-4 activations is not supported');
        const perm = this.ints(
          node,
          'perm',
          x.shape.map((_, i) => x.shape.length - 1 - i),
        );
        this.set(
          node,
          o.transpose(x.ref, perm),
          perm.map((p) => x.shape[p]),
        );
        return;
      }
      case 'Pad': {
        const x = this.value(node, node.inputs[0]);
        const padsInit = node.inputs[1] ? this.initializer(node.inputs[1]) : undefined;
        const pads = padsInit ? (padsInit.data as number[]) : this.ints(node, 'pads', []);
        const mode = a('mode')?.s ?? 'constant';
        if (mode !== 'constant') this.fail(node, `pad mode '${mode}' is not supported`);
        if (x.shape.length !== 4 || pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5])
          this.fail(node, 'only spatial padding of rank-4 inputs is supported');
        const [, , t, l, , , b, r] = pads;
        const [n, c, h, w] = x.shape;
        this.set(
          node,
          o.pad(x.ref, [
            [0, 0],
            [t, b],
            [l, r],
            [0, 0],
          ]),
          [n, c, h === null ? null : h + t + b, w === null ? null : w + l + r],
        );
        return;
      }
      default:
        this.fail(node, 'unsupported op');
    }
  }
}
