import * as tf from '@tensorflow/tfjs';
import { Replacement, kernelReplacement } from './replacement';

interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** The source index that output index `i` copies in tfjs's nearest-neighbour resize (tfjs-backend-cpu's rule). */
function nearestSource(i: number, ratio: number, inSize: number, attrs: ResizeAttrs): number {
  const frac = attrs.halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, attrs.alignCorners ? Math.round(frac) : Math.floor(frac));
  return attrs.halfPixelCenters ? Math.max(0, nearest) : nearest;
}

function sizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

/**
 * dL/dimages of ResizeNearestNeighbor: each dy pixel added to the image pixel it was copied from. Replaces
 * tfjs-backend-cpu's kernel, which offsets dy by the image's batch stride, so every gradient through an upsample
 * at batch > 1 was wrong there (and which ignores halfPixelCenters).
 */
function resizeNearestNeighborGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ResizeAttrs;
  const backend = args.backend as CpuBackendLike;
  const [batch, inH, inW, channels] = images.shape;
  const [, outH, outW] = dy.shape;
  const dyValues = backend.data.get(dy.dataId).values;
  const dx = new Float32Array(batch * inH * inW * channels);
  const rowRatio = sizeRatio(inH, outH, attrs.alignCorners);
  const colRatio = sizeRatio(inW, outW, attrs.alignCorners);
  const sourceCols = Array.from({ length: outW }, (_, x) => nearestSource(x, colRatio, inW, attrs));
  let from = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outH; y++) {
      const rowBase = (b * inH + nearestSource(y, rowRatio, inH, attrs)) * inW;
      for (let x = 0; x < outW; x++) {
        const to = (rowBase + sourceCols[x]) * channels;
        for (let c = 0; c < channels; c++) dx[to + c] += dyValues[from++];
      }
    }
  }
  return backend.makeTensorInfo(images.shape, 'float32', dx);
}

/** tfjs-backend-cpu's ResizeNearestNeighborGrad, replaced (see resizeNearestNeighborGrad). */
export const CPU_RESIZE_NEAREST_GRADIENT: Replacement = kernelReplacement(
  'cpu ResizeNearestNeighborGrad: tfjs offsets dy by the image batch stride (wrong at batch > 1)',
  tf.ResizeNearestNeighborGrad,
  'cpu',
  () => resizeNearestNeighborGrad as unknown as tf.KernelFunc,
);
