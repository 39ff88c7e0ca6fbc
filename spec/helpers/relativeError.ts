import * as tf from '@tensorflow/tfjs';

/** ||got - expected|| / ||expected|| computed in float64 on the host. */
export function relativeL2(
  got: ArrayLike<number> | tf.Tensor,
  expected: ArrayLike<number> | tf.Tensor,
): number {
  const g = got instanceof tf.Tensor ? got.dataSync() : got;
  const e = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  if (g.length !== e.length) throw new Error(`relativeL2: length ${g.length} vs ${e.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < e.length; i++) {
    num += (g[i] - e[i]) ** 2;
    den += e[i] ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den || 1);
}
