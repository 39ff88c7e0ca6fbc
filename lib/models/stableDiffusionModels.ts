import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FRAME_MIX_INPUT } from './frameMix';
import { SchedulerConfig } from '../schedule';
import { readSchedulerConfig } from '../schedule/schedulerConfigFile';
import { ClipTokenizer } from './clipTokenizer';
import { ControlResiduals, residualFeeds } from './controlNetModel';
import { ConvertedGraph } from './convertedGraph';
import { StableDiffusionManifest } from './sagManifest';
import { readSagManifest, sagManifestFormat } from './sagManifestFile';

/** The VAE fields of a 'sag-vae' or 'sag-stable-diffusion' directory. */
function readVaeManifest(dir: string): {
  latentChannels: number;
  scalingFactor: number;
  vaeDownscale: number;
} {
  let format: ReturnType<typeof sagManifestFormat>;
  try {
    format = sagManifestFormat(dir);
  } catch (error) {
    throw new Error(`--vae ${(error as Error).message}`);
  }
  if (format !== 'sag-vae' && format !== 'sag-stable-diffusion') {
    throw new Error(
      `--vae ${dir}: a '${format}' directory has no VAE (expected 'sag convert vae' or 'sag convert sd' output)`,
    );
  }
  return readSagManifest(dir, format);
}

/** A converted Stable Diffusion directory (`sag convert sd`): UNet, VAE, text encoder, tokenizer, scheduler. */
export class StableDiffusionModels {
  private constructor(
    readonly dir: string,
    readonly manifest: StableDiffusionManifest,
    readonly unetGraph: ConvertedGraph,
    readonly vaeDecoder: ConvertedGraph,
    readonly vaeEncoder: ConvertedGraph,
    readonly textEncoder: ConvertedGraph,
    readonly tokenizer: ClipTokenizer,
    readonly scheduler: SchedulerConfig,
  ) {}

  /**
   * Loads a `sag convert sd` directory; `vae`: a `sag convert vae` directory (or another Stable Diffusion
   * directory) whose VAE replaces this one's.
   */
  static async load(dir: string, options: { vae?: string } = {}): Promise<StableDiffusionModels> {
    let manifest = readSagManifest(dir, 'sag-stable-diffusion');
    const vaeDir = options.vae ?? dir;
    if (options.vae) {
      const vae = readVaeManifest(options.vae);
      if (vae.latentChannels !== manifest.latentChannels) {
        throw new Error(
          `--vae ${options.vae}: its latents have ${vae.latentChannels} channels, the model's UNet ${manifest.latentChannels}`,
        );
      }
      manifest = { ...manifest, scalingFactor: vae.scalingFactor, vaeDownscale: vae.vaeDownscale };
    }
    const [unet, dec, enc, text] = await Promise.all([
      ConvertedGraph.load(path.join(dir, 'unet')),
      ConvertedGraph.load(path.join(vaeDir, 'vae_decoder')),
      ConvertedGraph.load(path.join(vaeDir, 'vae_encoder')),
      ConvertedGraph.load(path.join(dir, 'text_encoder')),
    ]);
    const tokenizer = ClipTokenizer.fromDirectory(path.join(dir, 'tokenizer'));
    const scheduler = readSchedulerConfig(path.join(dir, 'scheduler'));
    return new StableDiffusionModels(dir, manifest, unet, dec, enc, text, tokenizer, scheduler);
  }

  get scalingFactor(): number {
    return this.manifest.scalingFactor;
  }

  get latentChannels(): number {
    return this.manifest.latentChannels;
  }

  get vaeDownscale(): number {
    return this.manifest.vaeDownscale;
  }

  /**
   * eps = UNet(x, t, context): x [B, h, w, C] NHWC, t a (fractional) timestep, context [B, 77, D]; `frameMix`
   * [B, B]: cross-frame attention (lib/models/frameMix.ts), identity when absent.
   */
  unet(x: tf.Tensor, timestep: number | tf.Tensor, context: tf.Tensor, frameMix?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const t = typeof timestep === 'number' ? tf.tensor1d([timestep]) : timestep;
      return this.unetGraph.execute(
        {
          sample: x,
          timestep: t,
          encoder_hidden_states: context,
          ...(frameMix ? { [FRAME_MIX_INPUT]: frameMix } : {}),
        },
        ['out'],
      )[0];
    });
  }

  /** Whether the converted UNet can attend across frames (it has the frame mix input). */
  get unetTakesFrameMix(): boolean {
    return this.unetGraph.takesInput(FRAME_MIX_INPUT);
  }

  /** Whether the converted UNet takes ControlNet residuals (converted by a sag that writes out_controlled). */
  get unetTakesResiduals(): boolean {
    return this.unetGraph.model.outputNodes.some((name) => name.split(':')[0] === 'out_controlled');
  }

  /** Channels of the UNet's residual inputs (down_residual_<i>, then mid_residual). */
  unetResidualChannels(): { down: number[]; mid: number } {
    const inputs = new Map(this.unetGraph.model.inputs.map((i) => [i.name.split(':')[0], i.shape ?? []]));
    const channels = (name: string) => (inputs.get(name) as number[])[3];
    const down: number[] = [];
    while (inputs.has(`down_residual_${down.length}`)) down.push(channels(`down_residual_${down.length}`));
    return { down, mid: channels('mid_residual') };
  }

  /** eps with ControlNet residuals added (the UNet's out_controlled output). */
  unetControlled(
    x: tf.Tensor,
    timestep: number | tf.Tensor,
    context: tf.Tensor,
    residuals: ControlResiduals,
    frameMix?: tf.Tensor,
  ): tf.Tensor {
    return tf.tidy(() => {
      const t = typeof timestep === 'number' ? tf.tensor1d([timestep]) : timestep;
      return this.unetGraph.execute(
        {
          sample: x,
          timestep: t,
          encoder_hidden_states: context,
          ...residualFeeds(residuals),
          ...(frameMix ? { [FRAME_MIX_INPUT]: frameMix } : {}),
        },
        ['out_controlled'],
      )[0];
    });
  }

  /** Whether the converted UNet carries the VJP graph of its output with ControlNet residuals. */
  get unetControlledVjpGraph(): boolean {
    return this.unetGraph.vjpGraphOf('sagVjpControlled') !== null;
  }

  /**
   * The transpose of `unetControlled` at (x, residuals) applied to dy: the gradients w.r.t. x and w.r.t. each residual.
   * Caller owns the results.
   */
  unetControlledVjp(
    x: tf.Tensor,
    timestep: tf.Tensor,
    context: tf.Tensor,
    residuals: ControlResiduals,
    dy: tf.Tensor,
    frameMix?: tf.Tensor,
  ): { sample: tf.Tensor; residuals: ControlResiduals } {
    const grads = this.unetGraph.vjpAll(
      'sagVjpControlled',
      {
        sample: x,
        timestep,
        encoder_hidden_states: context,
        ...residualFeeds(residuals),
        ...(frameMix ? { [FRAME_MIX_INPUT]: frameMix } : {}),
      },
      [dy],
    );
    const down = residuals.down.length;
    return { sample: grads[0], residuals: { down: grads.slice(1, 1 + down), mid: grads[1 + down] } };
  }

  /** Whether the converted UNet carries a VJP graph (w.r.t. the sample). */
  get unetVjpGraph(): boolean {
    return this.unetGraph.vjpGraph !== null;
  }

  /** J_UNet(x)^T dy w.r.t. the sample, by the UNet's VJP graph. Caller owns the result. */
  unetVjp(
    x: tf.Tensor,
    timestep: number | tf.Tensor,
    context: tf.Tensor,
    dy: tf.Tensor,
    frameMix?: tf.Tensor,
  ): tf.Tensor {
    return tf.tidy(() => {
      const t = typeof timestep === 'number' ? tf.tensor1d([timestep]) : timestep;
      return this.unetGraph.vjp(
        {
          sample: x,
          timestep: t,
          encoder_hidden_states: context,
          ...(frameMix ? { [FRAME_MIX_INPUT]: frameMix } : {}),
        },
        dy,
      );
    });
  }

  /** Unscaled latent -> image in about [-1, 1] (NHWC). */
  decode(latent: tf.Tensor): tf.Tensor {
    return this.vaeDecoder.executeDifferentiable({ latent }, ['image'])[0];
  }

  /** Image in [-1, 1] (NHWC) -> mean and logvar of the unscaled latent. */
  encode(image: tf.Tensor): { mean: tf.Tensor; logvar: tf.Tensor } {
    const [mean, logvar] = this.vaeEncoder.execute({ image }, ['mean', 'logvar']);
    return { mean, logvar };
  }

  /** Token ids [B, 77] (int32) -> last hidden state [B, 77, D]. */
  encodeTokens(ids: tf.Tensor): tf.Tensor {
    return this.textEncoder.execute({ input_ids: ids }, ['last_hidden_state'])[0];
  }

  dispose(): void {
    for (const g of [this.unetGraph, this.vaeDecoder, this.vaeEncoder, this.textEncoder]) g.dispose();
  }
}
