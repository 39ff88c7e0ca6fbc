import { Ref } from './graphBuilder';
import { GraphOps } from './graphOps';

export { FRAME_MIX_INPUT } from '../../lib/models/frameMix';

/**
 * Keys and values across frames (lib/models/frameMix.ts): the graph input M [B, B] (identity: ordinary attention;
 * a one-hot column 0: every frame attends to the first frame's tokens, as Text2Video-Zero's cross-frame attention).
 * M @ tokens over the batch: tokens [B, T, C] -> [B, T, C], row i = sum_j M[i, j] tokens[j]. */
export function mixFrames(o: GraphOps, tokens: Ref, frameMix: Ref): Ref {
  const flat = o.reshape(tokens, o.dynamicShape([{ of: tokens, dim: 0 }, -1]));
  return o.reshape(o.matmul(frameMix, flat), o.shapeOf(tokens));
}
