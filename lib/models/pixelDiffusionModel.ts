import * as path from 'path';
import { NoiseSchedule, readSchedulerConfig } from '../schedule';
import { ConvertedGraph } from './convertedGraph';
import { PixelDiffusionManifest, readSagManifest } from './sagManifest';

/** A pixel-space unconditional diffusion model directory (sag.json format 'sag-pixel-diffusion'). */
export class PixelDiffusionModel {
  private constructor(
    readonly dir: string,
    readonly manifest: PixelDiffusionManifest,
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
    return this.manifest.imageSize;
  }
  get channels(): number {
    return this.manifest.channels;
  }

  dispose(): void {
    this.unet.dispose();
  }
}
