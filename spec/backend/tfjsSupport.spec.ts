import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SUPPORTED_TFJS_VERSION, unsupportedTfjs } from '../../lib/backend/tfjsSupport';

describe('the tfjs sag was written for', () => {
  test('package.json pins exactly that version, and it is the one installed', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of [
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgpu',
    ])
      expect(pkg.dependencies[name]).toBe(SUPPORTED_TFJS_VERSION);
    expect(tf.version_core).toBe(SUPPORTED_TFJS_VERSION);
    expect(unsupportedTfjs()).toBeNull();
  });

  test('a tfjs whose engine lacks what sag touches is refused with one line naming what is missing', () => {
    const state = tf.engine().state as unknown as Record<string, unknown>;
    const saved = state.kernelDepth;
    delete state.kernelDepth;
    try {
      expect(unsupportedTfjs()).toMatch(
        /^tfjs 4\.22\.0 is not supported by this sag \(it needs tfjs 4\.22\.0; missing: engine\.state\.kernelDepth\)/,
      );
    } finally {
      state.kernelDepth = saved;
    }
  });
});
