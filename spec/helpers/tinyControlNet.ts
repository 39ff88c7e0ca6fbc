import * as fs from 'fs';
import * as path from 'path';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { unetSkipChannels, parseUnetConfig } from '../../converters/sd/unetGraph';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { seededRandom } from '../../lib/seededRandom';
import { repoFixtureDir } from './fixtures';

/**
 * A diffusers ControlNetModel directory for sd-tiny, made the way ControlNetModel.from_unet makes one: the UNet's
 * encoder weights copied, and (random, not zero: so that they matter) condition-embedding and 1x1 residual
 * convolutions. Parity with diffusers is checked on spec/fixtures/controlnet; this one is for end-to-end runs.
 */
export function writeSdTinyControlNet(dir: string, seed = 1): void {
  const unetDir = path.join(repoFixtureDir(), 'sd-tiny', 'unet');
  const unetConfig = JSON.parse(fs.readFileSync(path.join(unetDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const embedding = [4, 8, 8, 16];
  const config = {
    ...unetConfig,
    _class_name: 'ControlNetModel',
    conditioning_channels: 3,
    conditioning_embedding_out_channels: embedding,
    controlnet_conditioning_channel_order: 'rgb',
    global_pool_conditions: false,
  };
  delete (config as Record<string, unknown>).up_block_types;
  delete (config as Record<string, unknown>).out_channels;
  const unet = SafetensorsFile.open(path.join(unetDir, 'diffusion_pytorch_model.safetensors'));
  const copied = unet
    .names()
    .filter((n) => /^(conv_in|time_embedding|down_blocks|mid_block)\./.test(n))
    .map((n): [string, number[]] => [n, unet.entry(n).shape]);
  const parsed = parseUnetConfig(unetConfig, 'sd-tiny unet');
  const conv = (name: string, out: number, input: number, k: number): [string, number[]][] => [
    [`${name}.weight`, [out, input, k, k]],
    [`${name}.bias`, [out]],
  ];
  const added: [string, number[]][] = [
    ...conv('controlnet_cond_embedding.conv_in', embedding[0], 3, 3),
    ...embedding
      .slice(0, -1)
      .flatMap((c, i) => [
        ...conv(`controlnet_cond_embedding.blocks.${2 * i}`, c, c, 3),
        ...conv(`controlnet_cond_embedding.blocks.${2 * i + 1}`, embedding[i + 1], c, 3),
      ]),
    ...conv(
      'controlnet_cond_embedding.conv_out',
      parsed.blockOutChannels[0],
      embedding[embedding.length - 1],
      3,
    ),
    ...unetSkipChannels(parsed).flatMap((c, i) => conv(`controlnet_down_blocks.${i}`, c, c, 1)),
    ...conv(
      'controlnet_mid_block',
      parsed.blockOutChannels[parsed.blockOutChannels.length - 1],
      parsed.blockOutChannels[parsed.blockOutChannels.length - 1],
      1,
    ),
  ];
  const random = seededRandom(seed);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const copiedNames = new Set(copied.map(([n]) => n));
  writeSafetensors(
    path.join(dir, 'diffusion_pytorch_model.safetensors'),
    [...copied, ...added],
    (name, _shape, size) =>
      copiedNames.has(name)
        ? unet.readFloat32(name)
        : Float32Array.from({ length: size }, () => 0.2 * (random() - 0.5)),
  );
  unet.close();
}
