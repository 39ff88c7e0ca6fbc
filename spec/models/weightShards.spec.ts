import * as tf from '@tensorflow/tfjs';
import { shardsTfjsReadsRight } from '../../lib/models/loadGraphModelDir';

test('a last shard larger than the others is still read right (tfjs reads it as zeros otherwise)', () => {
  const specs: tf.io.WeightsManifestEntry[] = [
    { name: 'a', shape: [4], dtype: 'int32' },
    { name: 'b', shape: [4], dtype: 'int32' },
    { name: 'c', shape: [3], dtype: 'int32' },
  ];
  // One 16-byte shard, then a 28-byte one: tfjs finds byte 32 (c's start) in shard floor(32 / 16) = 2.
  const buffers = [new Int32Array([1, 2, 3, 4]).buffer, new Int32Array([5, 6, 7, 8, 9, 10, 11]).buffer];
  const stock = tf.io.decodeWeights(buffers, specs);
  expect(Array.from(stock.c.dataSync())).toEqual([0, 0, 0]);
  const fixed = tf.io.decodeWeights(shardsTfjsReadsRight(buffers), specs);
  expect(Array.from(fixed.a.dataSync())).toEqual([1, 2, 3, 4]);
  expect(Array.from(fixed.b.dataSync())).toEqual([5, 6, 7, 8]);
  expect(Array.from(fixed.c.dataSync())).toEqual([9, 10, 11]);
  tf.dispose([...Object.values(stock), ...Object.values(fixed)]);
});
