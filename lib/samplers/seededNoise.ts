import { InvalidOptionError } from '../options/invalidOption';
import * as tf from '@tensorflow/tfjs';

/**
 * The one seeded generator of a run: the initial sample and every time-travel draw come from it, in order, so
 * the same seed, options and backend reproduce the same image.
 */
export class SeededNoise {
  private draws = 0;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0)
      throw new InvalidOptionError('seed', `expected a non-negative integer, got ${seed}`);
  }

  /** Standard normal noise of the given shape. Caller owns it. */
  normal(shape: number[]): tf.Tensor {
    // Distinct seeds per draw: tfjs's seeded generator restarts from its seed on every call.
    const drawSeed = (this.seed * 1_000_003 + ++this.draws * 7919) % 2147483647;
    return tf.randomNormal(shape, 0, 1, 'float32', drawSeed);
  }
}
