import { InvalidOptionError } from '../options/invalidOption';
import * as tf from '@tensorflow/tfjs';
import { ConvertedGraph } from '../models/convertedGraph';
import { CrossFrameMode, FRAME_MIX_INPUT, frameMixMatrix } from '../models/frameMix';
import { EpsFunction } from '../ode/epsFunction';
import { NoiseSchedule } from '../schedule/noiseSchedule';
import { epsFromPrediction, epsFromPredictionVjp } from '../schedule/predictionType';
import { useVjpGraphs } from '../models/vjpGraphSwitch';
import { Denoiser, EpsPrediction } from '../guidance/denoiser';

/** An unconditional pixel-space eps-model (the embedded default): samples are images scaled to [-1, 1]. */
export class PixelDenoiser implements Denoiser {
  readonly cfgScale = 1;
  readonly hasCfg = false;
  readonly eps: EpsFunction;

  constructor(
    readonly unet: ConvertedGraph,
    readonly schedule: NoiseSchedule,
    readonly channels: number,
    readonly imageSize: number,
    /** Use the UNet's VJP graph in the adjoints where it has one (default: unless SAG_VJP_GRAPHS=0). */
    useVjpGraph = useVjpGraphs(),
    /** Cross-frame attention over the batch (its images are the frames of a video, in order); null: none. */
    readonly crossFrame: CrossFrameMode | null = null,
  ) {
    if (crossFrame && !unet.takesInput(FRAME_MIX_INPUT))
      throw new Error(
        `${unet.dir}: this UNet has no cross-frame attention (no ${FRAME_MIX_INPUT} input; converted by an older sag): convert it again`,
      );
    const inputs = (x: tf.Tensor, t: number): Record<string, tf.Tensor> => ({
      sample: x,
      timestep: tf.tensor1d([t]),
      ...(crossFrame ? { [FRAME_MIX_INPUT]: frameMixMatrix(crossFrame, x.shape[0]) } : {}),
    });
    const eps: EpsFunction = (x, t) =>
      tf.tidy(() => epsFromPrediction(this.unet.execute(inputs(x, t), ['out'])[0], x, t, schedule));
    if (unet.vjpGraph && useVjpGraph)
      eps.vjp = (x, t, dy) =>
        tf.tidy(() => {
          const { output, sample } = epsFromPredictionVjp(dy, t, schedule);
          const grad = this.unet.vjp(inputs(x, t), output);
          return sample ? tf.add(grad, sample) : grad;
        });
    this.eps = eps;
  }

  sampleShape(batch: number, height: number, width: number): [number, number, number, number] {
    if (height !== this.imageSize || width !== this.imageSize) {
      throw new InvalidOptionError(
        'size',
        `this model generates ${this.imageSize}x${this.imageSize} images, got ${height}x${width}`,
      );
    }
    return [batch, height, width, this.channels];
  }

  predict(x: tf.Tensor, timestep: number): EpsPrediction {
    return { eps: this.eps(x, timestep), guidanceDelta: null };
  }

  toImage(x0: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => tf.clipByValue(tf.div(tf.add(x0, 1), 2), 0, 1) as tf.Tensor4D);
  }

  fromImage(image: tf.Tensor4D): tf.Tensor {
    return tf.tidy(() => {
      let x =
        image.shape[3] === this.channels
          ? image
          : this.channels === 1
            ? tf.mean(image, 3, true)
            : tf.tile(image, [1, 1, 1, 3]);
      if (x.shape[1] !== this.imageSize || x.shape[2] !== this.imageSize)
        x = tf.image.resizeBilinear(x as tf.Tensor4D, [this.imageSize, this.imageSize], false, true);
      return tf.sub(tf.mul(x, 2), 1);
    });
  }

  /** Holds no tensors of its own (the UNet belongs to the model). */
  dispose(): void {}
}
