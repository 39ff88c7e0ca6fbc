import * as path from 'path';
import { NoiseSchedule, readSchedulerConfig } from '../schedule';
import { ConvertedGraph, readSagManifest } from './convertedGraph';

/** A pixel-space unconditional diffusion model directory (sag.json format 'sag-pixel-diffusion'). */
export class PixelDiffusionModel {
  private constructor(
    readonly dir: string,
    readonly manifest: Record<string, unknown>,
    readonly unet: ConvertedGraph,
    readonly schedule: NoiseSchedule,
  ) {}

  static async load(dir: string): Promise<PixelDiffusionModel> {
    const manifest = readSagManifest(dir, 'sag-pixel-diffusion');
    const unet = await ConvertedGraph.load(path.join(dir, 'unet'));
    return new PixelDiffusionModel(
      dir,
      manifest,
      unet,
      new NoiseSchedule(readSchedulerConfig(path.join(dir, 'scheduler'))),
    );
  }

  get imageSize(): number {
    return this.manifest.imageSize as number;
  }
  get channels(): number {
    return this.manifest.channels as number;
  }

  dispose(): void {
    this.unet.dispose();
  }
}
