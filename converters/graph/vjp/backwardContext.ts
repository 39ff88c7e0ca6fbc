import { GraphBuilder, GraphNode, Ref } from '../graphBuilder';
import { GraphOps } from '../graphOps';
import { ProbedShape } from './shapeProbe';

/** What a backward rule may use while emitting the gradient nodes of one forward node. */
export interface BackwardContext {
  readonly g: GraphBuilder;
  readonly o: GraphOps;
  /** The probed shape of a float tensor (null dims are dynamic). */
  shape(ref: string): ProbedShape;
  /** The concrete shapes `ref` had in the probe runs. */
  probeRuns(ref: string): number[][];
  /** The values of an int32 Const input (axes, permutations, paddings). */
  intValues(node: GraphNode, ref: string): number[];
  /** The int32 shape of a forward tensor at run time (one Shape node per tensor). */
  shapeTensor(ref: string): Ref;
  /** A conv filter flipped spatially with in/out channels swapped, stored once as a constant. */
  inputGradFilter(node: GraphNode, filterRef: string): Ref;
  /**
   * Marks a gradient as broadcastable to its input's shape rather than equal to it (Mean's and Sum's keep their
   * reduced axes at size 1): it is added to the input's other gradients by broadcasting, and only materialized
   * when it is the only one, so no full-size tensor is made during the forward pass.
   */
  broadcastable(grad: Ref): Ref;
  /**
   * `value` with a data dependency on `dy` (value + 0 * dy): a backward term computed from forward tensors only
   * would otherwise run as soon as they exist, during the forward pass, and stay alive until the backward pass.
   */
  afterGradient(dy: Ref, value: Ref): Ref;
  /** Whether input `index` of `node` lies on the differentiated path (its gradient is used). */
  needsGradient(node: GraphNode, index: number): boolean;
  /** `grad` (shaped like `output`) summed over the axes `operand` was broadcast along, shaped like `operand`. */
  unbroadcast(grad: Ref, operand: string, output: string): Ref;
  fail(node: GraphNode, why: string): never;
}

/**
 * The backward pass of one op: which inputs carry gradient, and their gradients given the gradients of the
 * node's outputs (null for an output nothing downstream differentiates).
 */
export interface BackwardRule {
  differentiableInputs(node: GraphNode): number[];
  backward(node: GraphNode, dys: (Ref | null)[], ctx: BackwardContext): Map<number, Ref>;
}
