import * as fs from 'fs';
import * as path from 'path';
import { FusedOps } from '../graph/fusedOps';
import { writeUnetGraph } from '../sd/convertStableDiffusion';
import { parseUnetConfig } from '../sd/unetGraph';
import { writeSyntheticUnet } from './convertBench';
import { SD_V15_UNET_CONFIG } from './sdV15UnetConfig';

/**
 * SD v1.5's UNet config with every channel count multiplied by `scale` (rounded to the 32 GroupNorm groups, at
 * least 32) and the text width by `scale` (rounded to a multiple of 8): the same architecture, smaller.
 */
export function scaledSdV15UnetConfig(scale: number): Record<string, unknown> {
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale: expected a number in (0, 1], got ${scale}`);
  const channels = (c: number) => Math.max(32, Math.round((c * scale) / 32) * 32);
  return {
    ...SD_V15_UNET_CONFIG,
    block_out_channels: SD_V15_UNET_CONFIG.block_out_channels.map(channels),
    cross_attention_dim: Math.max(8, Math.round((SD_V15_UNET_CONFIG.cross_attention_dim * scale) / 8) * 8),
  };
}

/**
 * A random-weight UNet for `config`, converted into `dir/unet` (a graph model): the checkpoint is written to
 * `dir/checkpoint`, converted (with sag's fused ops `fusedOps`), then deleted. Returns the parameter count.
 */
export async function writeSyntheticUnetGraph(
  dir: string,
  config: Record<string, unknown>,
  seed = 0,
  fusedOps: FusedOps = true,
): Promise<{ unetDir: string; parameters: number }> {
  const checkpoint = path.join(dir, 'checkpoint');
  const unetDir = path.join(dir, 'unet');
  const { parameters } = writeSyntheticUnet(checkpoint, config, seed);
  try {
    await writeUnetGraph(checkpoint, unetDir, parseUnetConfig(config, 'synthetic UNet config'), {
      dtype: 'float32',
      fusedOps,
    });
  } finally {
    fs.rmSync(checkpoint, { recursive: true, force: true });
  }
  return { unetDir, parameters };
}
