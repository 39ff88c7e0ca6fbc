import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { startBackend } from '../../lib/backend';
import { nativeBlasAvailability, startNativeBlas } from '../../lib/backend/nativeBlas';
import {
  NativeBlasFunctions,
  activeNativeMatrixProducts,
  setNativeMatrixProducts,
} from '../../lib/backend/nativeMatrixProducts';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { relativeL2 } from '../helpers/relativeError';

// `npm install` builds the addon (native/build.mjs) where a compiler and Node's headers exist, and CI installs
// OpenBLAS; elsewhere these tests say why they are skipped.
const unavailable = nativeBlasAvailability();
const describeNative = typeof unavailable === 'string' ? describe.skip : describe;
if (typeof unavailable === 'string') console.log(`native matrix products: skipped (${unavailable})`);

let native: NativeBlasFunctions;

beforeAll(async () => {
  if (typeof unavailable === 'string') return;
  await startBackend('wasm', { announce: false, wasmThreads: 2 });
  native = activeNativeMatrixProducts() as NativeBlasFunctions;
});

/** The same tfjs call with native products and with wasm's own kernels. */
async function bothWays(run: () => tf.Tensor): Promise<{ native: Float32Array; wasm: Float32Array }> {
  setNativeMatrixProducts(native);
  const withNative = run();
  setNativeMatrixProducts(null);
  const withWasm = run();
  setNativeMatrixProducts(native);
  const result = {
    native: (await withNative.data()) as Float32Array,
    wasm: (await withWasm.data()) as Float32Array,
  };
  expect(withNative.shape).toEqual(withWasm.shape);
  tf.dispose([withNative, withWasm]);
  return result;
}

type Pad =
  'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describeNative('native matrix products on wasm (OpenBLAS through sag_blas)', () => {
  const convCases: [string, number[], number[], [number, number], Pad, [number, number]][] = [
    ['3x3 same', [2, 9, 7, 3], [3, 3, 3, 5], [1, 1], 'same', [1, 1]],
    ['3x3 stride 2 valid', [2, 9, 8, 4], [3, 3, 4, 6], [2, 2], 'valid', [1, 1]],
    ['3x3 stride 2 same, odd size', [1, 7, 5, 2], [3, 3, 2, 3], [2, 2], 'same', [1, 1]],
    ['dilation 2', [1, 10, 9, 3], [3, 3, 3, 2], [1, 1], 'same', [2, 2]],
    ['1x1', [3, 5, 6, 7], [1, 1, 7, 4], [1, 1], 'valid', [1, 1]],
    ['1x1 stride 2', [1, 6, 6, 3], [1, 1, 3, 2], [2, 2], 'valid', [1, 1]],
    [
      'explicit padding',
      [1, 6, 5, 2],
      [2, 3, 2, 3],
      [1, 2],
      [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
      [1, 1],
    ],
    ['numeric padding', [1, 5, 5, 2], [3, 3, 2, 2], [1, 1], 1, [1, 1]],
    // 2500 output rows: patches in chunks of 1024 rows (the last one shorter).
    ['patches in chunks', [1, 50, 50, 64], [3, 3, 64, 4], [1, 1], 'same', [1, 1]],
  ];
  test.each(convCases)(
    'Conv2D %s equals the wasm kernel',
    async (_name, xShape, fShape, strides, pad, dilations) => {
      const x: tf.Tensor = tf.randomNormal(xShape, 0, 1, 'float32', 1);
      const f: tf.Tensor = tf.randomNormal(fShape, 0, 1, 'float32', 2);
      const { native: a, wasm: b } = await bothWays(() =>
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations),
      );
      // Float32 sums of up to 576 products, in another order than XNNPACK's.
      expect(relativeL2(a, b)).toBeLessThan(1e-5);
      tf.dispose([x, f]);
    },
  );

  const matMulCases: [string, number[], number[], boolean, boolean][] = [
    ['batched', [3, 4, 5], [3, 5, 6], false, false],
    ['transposed a', [3, 5, 4], [3, 5, 6], true, false],
    ['transposed b', [3, 4, 5], [3, 6, 5], false, true],
    ['both transposed', [2, 5, 4], [2, 6, 5], true, true],
    ['rank 4 against one matrix', [2, 3, 4, 5], [5, 6], false, false],
    ['rank 4 against one transposed matrix', [2, 3, 4, 5], [6, 5], false, true],
    ['one matrix against a batch', [4, 5], [3, 5, 6], false, false],
    ['transposed batch against one matrix', [3, 5, 4], [1, 5, 6], true, false],
  ];
  test.each(matMulCases)('BatchMatMul %s equals the wasm kernel', async (_name, aShape, bShape, ta, tb) => {
    const a = tf.randomNormal(aShape, 0, 1, 'float32', 3);
    const b = tf.randomNormal(bShape, 0, 1, 'float32', 4);
    const { native: x, wasm: y } = await bothWays(() => tf.matMul(a, b, ta, tb));
    expect(relativeL2(x, y)).toBeLessThan(1e-6);
    tf.dispose([a, b]);
  });

  test('identical images in one batch give identical outputs (the guidance of identical prompts stays zero)', async () => {
    const image = tf.randomNormal([1, 7, 5, 6], 0, 1, 'float32', 7);
    const batch = tf.concat([image, image, image]);
    const tokens = tf.randomNormal([1, 35, 6], 0, 1, 'float32', 8);
    const batchTokens = tf.concat([tokens, tokens, tokens]);
    const filter = tf.randomNormal([3, 3, 6, 5], 0, 1, 'float32', 9);
    const pointwise = tf.randomNormal([1, 1, 6, 5], 0, 1, 'float32', 10);
    const weight = tf.randomNormal([6, 5], 0, 1, 'float32', 11);
    const outputs = [
      tf.conv2d(batch as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same'),
      tf.conv2d(batch as tf.Tensor4D, pointwise as tf.Tensor4D, 1, 'valid'),
      tf.matMul(batchTokens, weight),
    ];
    for (const out of outputs) {
      const [a, b, c] = tf.split(out, 3).map((t) => Array.from(t.dataSync()));
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    }
    tf.dispose([image, batch, tokens, batchTokens, filter, pointwise, weight, ...outputs]);
  });

  test('an empty inner dimension gives zeros', async () => {
    const a = tf.zeros([2, 3, 0]);
    const b = tf.zeros([2, 0, 4]);
    const { native: x } = await bothWays(() => tf.matMul(a, b));
    expect(Array.from(x)).toEqual(new Array(24).fill(0));
    tf.dispose([a, b]);
  });

  test("the digit UNet's eps and its VJP graph agree with the wasm kernels, without leaking tensors", async () => {
    const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
    const eps = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize, true).eps;
    const x = tf.randomNormal([2, model.imageSize, model.imageSize, model.channels], 0, 1, 'float32', 5);
    const cotangent = tf.randomNormal(x.shape, 0, 1, 'float32', 6);
    const vjp = eps.vjp as NonNullable<typeof eps.vjp>;
    const before = tf.memory().numTensors;
    const forward = await bothWays(() => eps(x, 400));
    const backward = await bothWays(() => vjp(x, 400, cotangent));
    expect(tf.memory().numTensors).toBe(before);
    expect(relativeL2(forward.native, forward.wasm)).toBeLessThan(1e-5);
    expect(relativeL2(backward.native, backward.wasm)).toBeLessThan(1e-5);
    tf.dispose([x, cotangent]);
    model.dispose();
  });

  test('the addon refuses a tensor outside the wasm heap', () => {
    const heap = new Uint8Array(64);
    expect(() => native.matMul(heap, 0, 0, 32, 1, 4, 4, 4, 0, 0, 0, 0)).toThrow(
      'a tensor lies outside the wasm heap',
    );
  });

  test('$SAG_NATIVE_BLAS turns the products off or names a library that must open', () => {
    const saved = process.env.SAG_NATIVE_BLAS;
    try {
      process.env.SAG_NATIVE_BLAS = '0';
      expect(startNativeBlas(1)).toBe('$SAG_NATIVE_BLAS=0');
      process.env.SAG_NATIVE_BLAS = '/nonexistent/libnothing.so';
      expect(() => startNativeBlas(1)).toThrow(
        /^\$SAG_NATIVE_BLAS: cannot open \/nonexistent\/libnothing\.so: /,
      );
    } finally {
      if (saved === undefined) delete process.env.SAG_NATIVE_BLAS;
      else process.env.SAG_NATIVE_BLAS = saved;
      setNativeMatrixProducts(native);
    }
  });
});
