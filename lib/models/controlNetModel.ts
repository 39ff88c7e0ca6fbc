import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConvertedGraph } from './convertedGraph';
import { ControlNetManifest } from './sagManifest';
import { readSagManifest } from './sagManifestFile';

/** ControlNet residuals for one UNet call: one per skip connection, and the mid block's. */
export interface ControlResiduals {
  down: tf.Tensor[];
  mid: tf.Tensor;
}

/** The UNet graph's inputs for residuals (see `sag convert sd`'s out_controlled output). */
export function residualFeeds(residuals: ControlResiduals): Record<string, tf.Tensor> {
  return {
    ...Object.fromEntries(residuals.down.map((r, i) => [`down_residual_${i}`, r])),
    mid_residual: residuals.mid,
  };
}

/** A converted ControlNet directory (`sag convert controlnet`). */
export class ControlNetModel {
  private constructor(
    readonly dir: string,
    readonly manifest: ControlNetManifest,
    readonly graph: ConvertedGraph,
  ) {}

  static async load(dir: string): Promise<ControlNetModel> {
    const manifest = readSagManifest(dir, 'sag-controlnet');
    return new ControlNetModel(dir, manifest, await ConvertedGraph.load(path.join(dir, 'controlnet')));
  }

  /**
   * The residuals for latents x [B, h, w, C] at `timestep` with text context [B, T, D], for a condition image
   * [B or 1, h * conditionDownscale, w * conditionDownscale, C] in [0, 1] (RGB; flipped here for BGR models),
   * times `scale`. Differentiable w.r.t. x by tf.grad. Caller owns the results.
   */
  residuals(
    x: tf.Tensor,
    timestep: tf.Tensor,
    context: tf.Tensor,
    condition: tf.Tensor,
    scale: number,
  ): ControlResiduals {
    const downCount = this.manifest.residualChannels.down.length;
    const names = [...Array.from({ length: downCount }, (_, i) => `down_${i}`), 'mid'];
    const outputs = tf.tidy(() =>
      this.graph.execute(this.feeds(x, timestep, context, condition, scale), names),
    );
    return { down: outputs.slice(0, downCount), mid: outputs[downCount] };
  }

  /** Whether the converter wrote the ControlNet's VJP graph (w.r.t. the sample, of all residuals). */
  get hasVjpGraph(): boolean {
    return this.graph.vjpGraph !== null;
  }

  /**
   * J^T cotangents w.r.t. x of the residuals (the same inputs as `residuals`), by the ControlNet's VJP graph.
   * Caller owns the result.
   */
  residualsVjp(
    x: tf.Tensor,
    timestep: tf.Tensor,
    context: tf.Tensor,
    condition: tf.Tensor,
    scale: number,
    cotangents: ControlResiduals,
  ): tf.Tensor {
    return tf.tidy(() =>
      this.graph.vjp(this.feeds(x, timestep, context, condition, scale), [
        ...cotangents.down,
        cotangents.mid,
      ]),
    );
  }

  private feeds(
    x: tf.Tensor,
    timestep: tf.Tensor,
    context: tf.Tensor,
    condition: tf.Tensor,
    scale: number,
  ): Record<string, tf.Tensor> {
    const rgb = this.manifest.channelOrder === 'bgr' ? tf.reverse(condition, 3) : condition;
    // One condition per image of x, or per image of half of it (CFG doubles the batch as [x, x]), or one for all.
    const batched = rgb.shape[0] === x.shape[0] ? rgb : tf.tile(rgb, [x.shape[0] / rgb.shape[0], 1, 1, 1]);
    return {
      sample: x,
      timestep,
      encoder_hidden_states: context,
      controlnet_cond: batched,
      conditioning_scale: tf.tensor1d([scale]),
    };
  }

  dispose(): void {
    this.graph.dispose();
  }
}
