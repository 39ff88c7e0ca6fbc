import { GraphBuilder, Ref } from '../graph/graphBuilder';
import { GraphOps } from '../graph/graphOps';
import { OnnxAttribute, OnnxNode, OnnxTensor } from './onnxModel';

/** A value of the ONNX graph in our graph: rank-4 activations are kept NHWC, everything else as in ONNX. */
export interface OnnxValue {
  ref: Ref;
  /** ONNX (NCHW) shape; null for the batch or unknown dims. */
  shape: (number | null)[];
}

/** What an op executor may read and write while translating one ONNX node. */
export interface OnnxOpContext {
  readonly g: GraphBuilder;
  readonly o: GraphOps;
  /** An input of the node: a value produced earlier, or a float initializer as a constant. */
  value(node: OnnxNode, name: string): OnnxValue;
  initializer(name: string): OnnxTensor | undefined;
  /** A float initializer's data (an error naming the node when the input is not one). */
  floatInit(node: OnnxNode, name: string): OnnxTensor & { data: Float32Array };
  /** Makes a tensor available to later nodes as an initializer (ONNX Constant nodes). */
  defineInitializer(name: string, tensor: OnnxTensor): void;
  /** Records the node's (first) output. */
  set(node: OnnxNode, ref: Ref, shape: (number | null)[]): void;
  /** The node's output is `value` itself (Identity, Dropout at inference). */
  alias(node: OnnxNode, value: OnnxValue): void;
  /** A rank-4 NHWC value back in ONNX's NCHW order. */
  toNchw(value: OnnxValue): Ref;
  attribute(node: OnnxNode, key: string): OnnxAttribute | undefined;
  ints(node: OnnxNode, key: string, fallback: number[]): number[];
  /** Throws an error naming the model, the node and its op. */
  fail(node: OnnxNode, why: string): never;
}

/** Translates one ONNX node into graph ops through the context. */
export type OnnxOpExecutor = (node: OnnxNode, ctx: OnnxOpContext) => void;
