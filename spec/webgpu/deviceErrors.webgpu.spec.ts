import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { clearDeviceErrors } from '../../lib/backend/deviceHealth';
import { readValues } from '../../lib/backend/readTensor';
import { startWebgpuBackend } from '../../lib/backend/webgpuBackend';
import { describeOnWebgpu, webgpuAdapter } from '../helpers/webgpuSuite';

describeOnWebgpu('the webgpu backend itself', () => {
  test('an explicit webgpu start names the adapter and whether it is software', async () => {
    const started = await startBackend('webgpu', { announce: false });
    expect(started.name).toBe('webgpu');
    expect(started.description).toContain(webgpuAdapter);
    expect(started.description).toMatch(started.software ? /software adapter/ : /GPU/);
  });

  test('auto refuses a software adapter, with the reason', async () => {
    const started = await startBackend('webgpu', { announce: false });
    const attempt = await startWebgpuBackend(false);
    if (started.software) {
      expect(attempt.ok).toBe(false);
      expect(!attempt.ok && attempt.reason).toMatch(/software.*slower than wasm/);
    } else {
      expect(attempt.ok).toBe(true);
    }
    await startBackend('webgpu', { announce: false });
  });

  test('a kernel the device rejects fails the next read instead of returning zeros', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    // tfjs-backend-webgpu's pad kernel emits invalid WGSL for rank 6 ("cannot index type 'vec6'").
    const padded = tf.pad(tf.ones([1, 2, 1, 2, 1, 3]), [
      [0, 0],
      [0, 0],
      [0, 1],
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
    await expect(readValues(padded)).rejects.toThrow(/GPU device reported an error.*vec6/s);
    padded.dispose();
    clearDeviceErrors();
    expect(Array.from(await readValues(tf.add(tf.ones([2]), 1)))).toEqual([2, 2]);
  });
});
