import { directoryModelFiles } from '../io/directoryModelFiles';
import { ModelFiles } from '../io/modelFiles';
import { NoiseSchedule, loadSchedulerConfig } from '../schedule';
import { ConvertedGraph } from './convertedGraph';
import { PixelDiffusionManifest, loadSagManifest } from './sagManifest';

/** A pixel-space unconditional diffusion model directory (sag.json format 'sag-pixel-diffusion'). */
export class PixelDiffusionModel {
  private constructor(
    readonly dir: string,
    readonly manifest: PixelDiffusionManifest,
    readonly unet: ConvertedGraph,
    readonly schedule: NoiseSchedule,
  ) {}

  static async load(dir: string): Promise<PixelDiffusionModel> {
    return PixelDiffusionModel.fromFiles(directoryModelFiles(dir));
  }

  /** From a directory or a URL (browsers load the embedded model this way). */
  static async fromFiles(files: ModelFiles): Promise<PixelDiffusionModel> {
    const manifest = await loadSagManifest(files, 'sag-pixel-diffusion');
    const schedule = new NoiseSchedule(await loadSchedulerConfig(files.at('scheduler')));
    const unet = await ConvertedGraph.fromFiles(files.at('unet'));
    return new PixelDiffusionModel(files.location, manifest, unet, schedule);
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
