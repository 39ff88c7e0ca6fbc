import * as fs from 'fs';
import * as path from 'path';
import { openTensorFile } from '../../lib/io/tensorFile';
import { SAG_MANIFEST_VERSION, VaeManifest } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';
import { ConversionOptions } from '../conversionOptions';
import { writeAtomically } from '../outputDirectory';
import { CheckpointWeights } from '../weights/weightSource';
import { vaeComponents, writeVaeGraphs } from './convertStableDiffusion';
import { inferVaeConfig } from './singleFile/ldmConfigs';
import { unclosedView } from './singleFile/renamedTensorFile';
import { vaeView, vaeWeightFile } from './singleFile/singleFileSource';
import { parseVaeConfig } from './vaeGraph';

export interface ConvertVaeOptions extends ConversionOptions {
  /** A diffusers VAE config.json (default: the folder's own, or SD's VAE config sized from the tensors). */
  config?: string;
}

function readConfig(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * `sag convert vae`: a VAE alone (a VAE-only single file such as `vae-ft-mse-840000-ema-pruned.safetensors`, with
 * LDM or diffusers names, or a diffusers vae/ folder) -> vae_decoder/, vae_encoder/ and a 'sag-vae' sag.json, to
 * use with `--vae` in place of a Stable Diffusion model's VAE.
 */
export async function convertVae(
  source: string,
  outDir: string,
  options: ConvertVaeOptions,
): Promise<VaeManifest> {
  const weightFile = vaeWeightFile(source);
  const folderConfig =
    fs.statSync(source).isDirectory() && fs.existsSync(path.join(source, 'config.json'))
      ? path.join(source, 'config.json')
      : undefined;
  const file = await openTensorFile(weightFile);
  try {
    const view = vaeView(file, file.names());
    const configFile = options.config ?? folderConfig;
    const raw = configFile ? readConfig(configFile) : inferVaeConfig(view, 512);
    const vaeConfig = parseVaeConfig(raw, configFile ?? `${weightFile} (inferred from its tensors)`);
    const log = options.log ?? (() => undefined);
    const graphOptions = { dtype: options.dtype, verbose: options.verbose, log, fusedOps: options.fusedOps };
    return await writeAtomically(outDir, options.overwrite ?? false, async (tmp) => {
      // A view: closing the weights leaves the file open (closed below).
      const weights = CheckpointWeights.fromFiles([unclosedView(view)]);
      await writeVaeGraphs(weights, tmp, vaeConfig, graphOptions, options.vjpGraphs ?? true);
      const manifest: VaeManifest = {
        format: 'sag-vae',
        version: SAG_MANIFEST_VERSION,
        source: path.resolve(source),
        dtype: options.dtype,
        layout: 'NHWC',
        components: vaeComponents(vaeConfig),
        latentChannels: vaeConfig.latentChannels,
        scalingFactor: vaeConfig.scalingFactor,
        vaeDownscale: 2 ** (vaeConfig.blockOutChannels.length - 1),
      };
      writeSagManifest(tmp, manifest);
      return manifest;
    });
  } finally {
    file.close();
  }
}
