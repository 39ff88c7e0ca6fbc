import { OnnxOpExecutor } from '../onnxOpContext';
import { ACTIVATION_OPS } from './activation';
import { ARITHMETIC_OPS } from './arithmetic';
import { CONSTANT_OPS } from './constant';
import { CONVOLUTION_OPS } from './convolution';
import { LINEAR_OPS } from './linear';
import { NORMALIZATION_OPS } from './normalization';
import { POOLING_OPS } from './pooling';
import { SHAPE_OPS } from './shape';

/** Every ONNX op the converter translates, by op type; one file per op family. */
export const ONNX_OP_EXECUTORS: Readonly<Record<string, OnnxOpExecutor>> = Object.freeze({
  ...CONVOLUTION_OPS,
  ...NORMALIZATION_OPS,
  ...ACTIVATION_OPS,
  ...ARITHMETIC_OPS,
  ...POOLING_OPS,
  ...LINEAR_OPS,
  ...SHAPE_OPS,
  ...CONSTANT_OPS,
});
