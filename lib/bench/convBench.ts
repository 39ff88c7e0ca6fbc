import * as tf from '@tensorflow/tfjs';
import { convInputGradientAsForwardConv } from '../backend/fastConvGradient';
import { readScalar } from '../backend/readTensor';
import { formatTextTable } from './textTable';
import { medianTensorTime } from './timing';

/** One NHWC convolution as SD v1.5's UNet runs it (batch 2 = classifier-free guidance). */
export interface ConvCase {
  label: string;
  batch: number;
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

/**
 * The 3x3 convolutions that dominate an SD v1.5 UNet at `latent` x `latent` latents, channels multiplied by `scale`
 * (at least 8): the resnet convs of each resolution and the stride-2 downsampler of the first.
 */
export function sdUnetConvCases(latent: number, scale: number, batch = 2): ConvCase[] {
  const ch = (c: number) => Math.max(8, Math.round(c * scale));
  const levels: [number, number][] = [
    [latent, 320],
    [latent / 2, 640],
    [latent / 4, 1280],
    [latent / 8, 1280],
  ];
  const cases: ConvCase[] = levels.map(([size, c]) => ({
    label: `${size}x${size}x${ch(c)} 3x3`,
    batch,
    size,
    inChannels: ch(c),
    outChannels: ch(c),
    kernel: 3,
    stride: 1,
  }));
  cases.push({
    label: `${latent}x${latent}x${ch(320)} 3x3 stride 2`,
    batch,
    size: latent,
    inChannels: ch(320),
    outChannels: ch(320),
    kernel: 3,
    stride: 2,
  });
  return cases;
}

export interface ConvBenchRow {
  label: string;
  batch: number;
  forwardMs: number;
  /** tfjs's own Conv2DBackpropInput kernel. */
  stockInputVjpMs: number;
  /** sag's input gradient as a forward convolution (lib/backend/fastConvGradient.ts). */
  sagInputVjpMs: number;
  /** ||sag - stock|| / ||stock||. */
  relErr: number;
}

/** Forward, stock input VJP and sag's input VJP of each convolution, on the current backend. */
export async function runConvBench(
  cases: ConvCase[],
  repeats: number,
  onRow?: (row: ConvBenchRow) => void,
): Promise<ConvBenchRow[]> {
  const rows: ConvBenchRow[] = [];
  for (const c of cases) {
    const xShape: [number, number, number, number] = [c.batch, c.size, c.size, c.inChannels];
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal([c.kernel, c.kernel, c.inChannels, c.outChannels], 0, 0.05, 'float32', 2);
    const attrs = { strides: c.stride, pad: 'same' as const, dataFormat: 'NHWC' as const, dilations: 1 };
    const y = tf.conv2d(x, filter as tf.Tensor4D, c.stride, 'same');
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
    y.dispose();
    const stock = () => tf.conv2dTranspose(dy, filter as tf.Tensor4D, xShape, c.stride, 'same');
    const sag = () => {
      const dx = convInputGradientAsForwardConv(xShape, dy, filter as tf.Tensor4D, attrs);
      if (!dx) throw new Error(`sag bench conv: ${c.label} is outside the forward-conv gradient's geometry`);
      return dx;
    };
    try {
      const forwardMs = await medianTensorTime(
        () => tf.conv2d(x, filter as tf.Tensor4D, c.stride, 'same'),
        repeats,
        2,
      );
      const stockInputVjpMs = await medianTensorTime(stock, repeats, 2);
      const sagInputVjpMs = await medianTensorTime(sag, repeats, 2);
      const ratio = tf.tidy(() => {
        const a = stock();
        return tf.div(tf.norm(tf.sub(sag(), a)), tf.norm(a));
      });
      const relErr = await readScalar(ratio);
      ratio.dispose();
      const row = { label: c.label, batch: c.batch, forwardMs, stockInputVjpMs, sagInputVjpMs, relErr };
      rows.push(row);
      onRow?.(row);
    } finally {
      tf.dispose([x, filter, dy]);
    }
  }
  return rows;
}

export function formatConvBenchTable(rows: ConvBenchRow[]): string {
  return formatTextTable(
    [
      'convolution',
      'batch',
      'forward ms',
      'stock input VJP ms',
      'sag input VJP ms',
      'sag VJP / forward',
      'rel. err',
    ],
    rows.map((r) => [
      r.label,
      String(r.batch),
      r.forwardMs.toFixed(2),
      r.stockInputVjpMs.toFixed(2),
      r.sagInputVjpMs.toFixed(2),
      (r.sagInputVjpMs / r.forwardMs).toFixed(2),
      r.relErr.toExponential(1),
    ]),
    1,
  );
}
