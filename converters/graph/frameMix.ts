import { Ref } from './graphBuilder';
import { GraphOps } from './graphOps';

export { FRAME_MIX_INPUT } from '../../lib/models/frameMix';

/**
 * Keys and values across frames (lib/models/frameMix.ts): the graph input M [B, B] (identity: ordinary attention;
 * a one-hot column 0: every frame attends to the first frame's tokens, as Text2Video-Zero's cross-frame attention).
 * Row i of the result is sum_j M[i, j] tokens[j], for tokens [B, T, C].
 *
 * Computed per token, M [1, B, B] @ tokens [T, B, C] (two transposes), not as one product M @ tokens[B, T*C]:
 * webgpu refuses a matmul whose output has 2^21 or more columns (a dispatch over 65535 workgroups), which SD's
 * first attention reaches from 80x80 latents (640 px) up.
 */
export function mixFrames(o: GraphOps, tokens: Ref, frameMix: Ref): Ref {
  const byToken = o.transpose(tokens, [1, 0, 2]);
  const batchedMix = o.reshape(
    frameMix,
    o.dynamicShape([1, { of: frameMix, dim: 0 }, { of: frameMix, dim: 1 }]),
  );
  return o.transpose(o.matmul(batchedMix, byToken), [1, 0, 2]);
}
