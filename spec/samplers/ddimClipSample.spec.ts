import * as tf from '@tensorflow/tfjs';
import { DdimSampler, predictX0 } from '../../lib/samplers';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

test('DDIM with clip_sample clamps the predicted clean sample and keeps the model eps for the direction', () => {
  const schedule = new NoiseSchedule({ ...SD_V1_SCHEDULER, clipSample: true, clipSampleRange: 1 });
  const sampler = new DdimSampler(schedule, 10);
  const x = tf.tensor4d([3, -0.2, 0.5, -4], [1, 1, 2, 2]);
  const eps = tf.tensor4d([0.1, 0.3, -0.2, 0.4], [1, 1, 2, 2]);
  const { prevSample } = sampler.step(eps, 0, x, sampler.initialState());
  const a = sampler.abarNext(0);
  const x0 = tf.clipByValue(predictX0(x, eps, sampler.abarAt(0)), -1, 1);
  const expected = tf.add(tf.mul(x0, Math.sqrt(a)), tf.mul(eps, Math.sqrt(1 - a)));
  expect(Array.from(prevSample.dataSync())).toEqual(Array.from(expected.dataSync()));
  expect(Math.max(...x0.dataSync().map(Math.abs))).toBeLessThanOrEqual(1);
});
