import { InvalidOptionError } from '../options/invalidOption';
import * as tf from '@tensorflow/tfjs';
import { ControlNetModel } from '../models/controlNetModel';
import { CrossFrameMode, FRAME_MIX_INPUT, frameMixMatrix } from '../models/frameMix';
import { StableDiffusionModels } from '../models/stableDiffusionModels';
import { EpsFunction } from '../ode/epsFunction';
import { NoiseSchedule } from '../schedule/noiseSchedule';
import { epsFromPrediction, epsFromPredictionVjp } from '../schedule/predictionType';
import { useVjpGraphs } from '../models/vjpGraphSwitch';
import { tidyResult } from '../tidyResult';
import { Denoiser, EpsPrediction } from '../guidance/denoiser';

/** A ControlNet and its condition for every UNet call (the denoiser disposes the condition). */
export interface LatentControl {
  net: ControlNetModel;
  /** The condition image [1, H, W, C] in [0, 1], at the output's pixel size. */
  condition: tf.Tensor4D;
  scale: number;
}

/**
 * Stable Diffusion as a Denoiser: eps = eps_u + w (eps_c - eps_u) from one batched UNet call over [x, x] with
 * [uncond, cond] contexts. Holds the two text embeddings [B, 77, D] (disposed by dispose()).
 */
export class LatentDenoiser implements Denoiser {
  readonly schedule: NoiseSchedule;
  readonly eps: EpsFunction;

  constructor(
    readonly sd: StableDiffusionModels,
    private readonly cond: tf.Tensor,
    private readonly uncond: tf.Tensor,
    readonly cfgScale: number,
    /** Use the UNet's VJP graph in the adjoints where it has one (default: unless SAG_VJP_GRAPHS=0). */
    useVjpGraph = useVjpGraphs(),
    /**
     * ControlNet residuals for every UNet call (both CFG branches, as diffusers does). The adjoints run the UNet's
     * VJP graph of its output with residuals and the ControlNet's VJP graph (tf.grad where either is missing).
     */
    private readonly control: LatentControl | null = null,
    /** Cross-frame attention over the batch (its images are the frames of a video, in order); null: none. */
    readonly crossFrame: CrossFrameMode | null = null,
  ) {
    if (crossFrame && !sd.unetTakesFrameMix)
      throw new Error(
        `${sd.unetGraph.dir}: this UNet has no cross-frame attention (no ${FRAME_MIX_INPUT} input; converted by an older sag): convert it again`,
      );
    this.schedule = new NoiseSchedule(sd.scheduler);
    const eps: EpsFunction = (x, t) => tf.tidy(() => this.combined(x, t).eps);
    const controlVjp = !control || (sd.unetControlledVjpGraph && control.net.hasVjpGraph);
    if (sd.unetVjpGraph && useVjpGraph && controlVjp) eps.vjp = (x, t, dy) => this.combinedVjp(x, t, dy);
    this.eps = eps;
  }

  /**
   * The transpose of `combined` through the UNet's VJP graph: with CFG, one VJP over the doubled batch with
   * cotangents (1 - w) dy and w dy, halves summed.
   */
  private combinedVjp(x: tf.Tensor, t: number, dy: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const b = x.shape[0];
      const doubled = this.hasCfg;
      const sample = doubled ? tf.concat([x, x], 0) : x;
      const context = doubled ? tf.concat([this.uncond, this.cond], 0) : this.cond;
      const dEps = doubled ? tf.concat([tf.mul(dy, 1 - this.cfgScale), tf.mul(dy, this.cfgScale)], 0) : dy;
      const { output, sample: direct } = epsFromPredictionVjp(dEps, t, this.schedule);
      let grad = this.unetOutputVjp(sample, t, context, output, this.frameMix(b, doubled ? 2 : 1));
      if (direct) grad = tf.add(grad, direct);
      if (!doubled) return grad;
      const [u, c] = tf.split(grad, [b, b], 0);
      return tf.add(u, c);
    });
  }

  /** The frame mix of a UNet call over `copies` stacked copies of a batch of `frames` (null without cross-frame). */
  private frameMix(frames: number, copies: number): tf.Tensor | undefined {
    return this.crossFrame ? frameMixMatrix(this.crossFrame, frames, copies) : undefined;
  }

  get hasCfg(): boolean {
    return this.cfgScale !== 1;
  }

  sampleShape(batch: number, height: number, width: number): [number, number, number, number] {
    const f = this.sd.vaeDownscale;
    if (height % f !== 0 || width % f !== 0)
      throw new InvalidOptionError(
        'size',
        `image sides must be multiples of ${f} for this model, got ${height}x${width}`,
      );
    return [batch, height / f, width / f, this.sd.latentChannels];
  }

  /**
   * The transpose of `unetOutput` applied to dy: with a ControlNet, the UNet's gradient w.r.t. the sample plus its
   * gradients w.r.t. the residuals carried back through the ControlNet's VJP graph.
   */
  private unetOutputVjp(
    x: tf.Tensor,
    t: number,
    context: tf.Tensor,
    dy: tf.Tensor,
    frameMix?: tf.Tensor,
  ): tf.Tensor {
    const control = this.control;
    if (!control) return this.sd.unetVjp(x, t, context, dy, frameMix);
    return tf.tidy(() => {
      const timestep = tf.tensor1d([t]);
      const residuals = control.net.residuals(x, timestep, context, control.condition, control.scale);
      const grads = this.sd.unetControlledVjp(x, timestep, context, residuals, dy, frameMix);
      const { condition, scale } = control;
      return tf.add(
        grads.sample,
        control.net.residualsVjp(x, timestep, context, condition, scale, grads.residuals),
      );
    });
  }

  /** The UNet's output, with the ControlNet's residuals when there is one. */
  private unetOutput(x: tf.Tensor, t: number, context: tf.Tensor, frameMix?: tf.Tensor): tf.Tensor {
    const control = this.control;
    if (!control) return this.sd.unet(x, t, context, frameMix);
    return tf.tidy(() => {
      const timestep = tf.tensor1d([t]);
      const residuals = control.net.residuals(x, timestep, context, control.condition, control.scale);
      return this.sd.unetControlled(x, timestep, context, residuals, frameMix);
    });
  }

  private combined(x: tf.Tensor, t: number): { eps: tf.Tensor; delta: tf.Tensor | null } {
    const b = x.shape[0];
    // v and x0 predictions become eps per branch (affine in the output, so CFG combines the same either way).
    if (!this.hasCfg)
      return {
        eps: epsFromPrediction(this.unetOutput(x, t, this.cond, this.frameMix(b, 1)), x, t, this.schedule),
        delta: null,
      };
    const doubled = tf.concat([x, x], 0);
    const out = epsFromPrediction(
      this.unetOutput(doubled, t, tf.concat([this.uncond, this.cond], 0), this.frameMix(b, 2)),
      doubled,
      t,
      this.schedule,
    );
    const [u, c] = tf.split(out, [b, b], 0);
    const delta = tf.sub(c, u);
    return { eps: tf.add(u, tf.mul(delta, this.cfgScale)), delta };
  }

  predict(x: tf.Tensor, timestep: number): EpsPrediction {
    return tidyResult(() => {
      const { eps, delta } = this.combined(x, timestep);
      return { eps, guidanceDelta: delta };
    });
  }

  toImage(x0: tf.Tensor): tf.Tensor4D {
    return tf.tidy(
      () =>
        tf.clipByValue(
          tf.div(tf.add(this.sd.decode(tf.div(x0, this.sd.scalingFactor)), 1), 2),
          0,
          1,
        ) as tf.Tensor4D,
    );
  }

  fromImage(image: tf.Tensor4D): tf.Tensor {
    return tf.tidy(() => {
      const rgb = image.shape[3] === 1 ? tf.tile(image, [1, 1, 1, 3]) : image;
      const { mean, logvar } = this.sd.encode(tf.sub(tf.mul(rgb, 2), 1));
      logvar.dispose();
      return tf.mul(mean, this.sd.scalingFactor);
    });
  }

  dispose(): void {
    tf.dispose([this.cond, this.uncond]);
    this.control?.condition.dispose();
  }
}
