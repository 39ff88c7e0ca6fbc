import { OnnxOpExecutor } from '../onnxOpContext';

/** BatchNormalization at inference: folded into one per-channel scale and shift at conversion time. */
const batchNormalization: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  const [gamma, beta, mean, variance] = node.inputs.slice(1, 5).map((name) => ctx.floatInit(node, name).data);
  const eps = ctx.attribute(node, 'epsilon')?.f ?? 1e-5;
  const scale = new Float32Array(gamma.length);
  const shift = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  const y = ctx.o.add(
    ctx.o.mul(x.ref, ctx.g.constant(`${node.name}/scale`, scale, [scale.length])),
    ctx.g.constant(`${node.name}/shift`, shift, [shift.length]),
  );
  ctx.set(node, y, x.shape);
};

export const NORMALIZATION_OPS: Record<string, OnnxOpExecutor> = { BatchNormalization: batchNormalization };
