import * as tf from '@tensorflow/tfjs';

/**
 * The input of UNets (converted by this sag) that can attend across the frames of a batch: a [B, B] matrix M whose
 * row i mixes the frames whose tokens give frame i the keys and values of its self-attentions. Identity: ordinary
 * attention, what every run gets unless it asks for cross-frame attention.
 */
export const FRAME_MIX_INPUT = 'frame_mix';

/** Cross-frame attention: every frame attends to the first frame, or to the frame before it (frame 0 to itself). */
export const CROSS_FRAME_MODES = ['first', 'previous'] as const;
export type CrossFrameMode = (typeof CROSS_FRAME_MODES)[number];

/**
 * The frame mix of `mode` for `frames` frames, each repeated `copies` times in a row-block layout (classifier-free
 * guidance runs [all frames, unconditional; all frames, conditional]: copies = 2 keeps each half to itself). The
 * caller owns the result.
 */
export function frameMixMatrix(mode: CrossFrameMode | null, frames: number, copies = 1): tf.Tensor2D {
  const size = frames * copies;
  const values = new Float32Array(size * size);
  for (let block = 0; block < copies; block++)
    for (let i = 0; i < frames; i++) {
      const source = mode === 'first' ? 0 : mode === 'previous' ? Math.max(0, i - 1) : i;
      values[(block * frames + i) * size + block * frames + source] = 1;
    }
  return tf.tensor2d(values, [size, size]);
}
