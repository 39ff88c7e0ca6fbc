import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  SAG_REPLACEMENTS,
  installedSagGradients,
  registerSagGradients,
  restoreStockGradients,
  startBackend,
} from '../../lib/backend';
import { relativeL2 } from '../helpers/relativeError';

// What tfjs had before sag touched anything (this file's module registry is its own).
const stock = {
  conv: tf.getGradient(tf.Conv2D),
  depthwise: tf.getGradient(tf.DepthwiseConv2dNative),
  multiply: tf.getGradient(tf.Multiply),
  cpuResizeGrad: tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu'),
  wasmMatMul: tf.getKernel(tf.BatchMatMul, 'wasm'),
};

const current = () => ({
  conv: tf.getGradient(tf.Conv2D),
  depthwise: tf.getGradient(tf.DepthwiseConv2dNative),
  multiply: tf.getGradient(tf.Multiply),
  cpuResizeGrad: tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu'),
  wasmMatMul: tf.getKernel(tf.BatchMatMul, 'wasm'),
});

/** Relative error of cpu's upsample gradient at batch 2 against a per-image computation (wrong in stock tfjs). */
async function cpuUpsampleGradientError(): Promise<number> {
  await tf.setBackend('cpu');
  const grad = (x: tf.Tensor, dy: tf.Tensor) =>
    tf.grad((v: tf.Tensor) => tf.image.resizeNearestNeighbor(v as tf.Tensor4D, [6, 6]))(x, dy);
  const x = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 1);
  const dy = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 2);
  const batched = grad(x, dy);
  const perImage = tf.concat([0, 1].map((b) => grad(x.slice(b, 1), dy.slice(b, 1))));
  return relativeL2(await batched.data(), await perImage.data());
}

describe('sag gradients are explicit and can be switched off', () => {
  test('startBackend({ sagGradients: false }) leaves tfjs as it was', async () => {
    await startBackend('wasm', { announce: false, sagGradients: false });
    expect(installedSagGradients()).toEqual([]);
    expect(current()).toEqual(stock);
  });

  test('registerSagGradients installs every replacement; restoreStockGradients puts the stock ones back', async () => {
    expect(registerSagGradients()).toHaveLength(SAG_REPLACEMENTS.length);
    const installed = current();
    for (const key of Object.keys(stock) as (keyof typeof stock)[])
      expect(installed[key]).not.toBe(stock[key]);
    expect(await cpuUpsampleGradientError()).toBeLessThan(1e-6);

    restoreStockGradients();
    expect(installedSagGradients()).toEqual([]);
    const restored = current();
    expect(restored.conv).toBe(stock.conv);
    expect(restored.depthwise).toBe(stock.depthwise);
    expect(restored.multiply).toBe(stock.multiply);
    expect(restored.cpuResizeGrad?.kernelFunc).toBe(stock.cpuResizeGrad?.kernelFunc);
    expect(restored.wasmMatMul?.kernelFunc).toBe(stock.wasmMatMul?.kernelFunc);
    // tfjs's own (wrong at batch > 1) cpu kernel is back: the behaviour, not only the registry entry.
    expect(await cpuUpsampleGradientError()).toBeGreaterThan(0.1);

    registerSagGradients();
    expect(await cpuUpsampleGradientError()).toBeLessThan(1e-6);
  });
});
