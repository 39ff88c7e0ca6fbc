import * as fs from 'fs';
import * as path from 'path';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { Pipeline, PipelineOptions } from '../../lib/pipeline/pipeline';
import { repoFixtureDir } from './fixtures';
import { makeTempDir } from './tempDir';
import { testBackendName } from './testBackend';

export interface ConvertedFixtures {
  dir: string;
  sd: string;
  clip: string;
  arcface: string;
}

/** Converts the fixture checkpoints (sd-tiny, clip-tiny, arcface-tiny) into a temporary directory. */
export async function convertFixtureModels(): Promise<ConvertedFixtures> {
  const dir = makeTempDir('fixture-models');
  const out = {
    dir,
    sd: path.join(dir, 'sd'),
    clip: path.join(dir, 'clip'),
    arcface: path.join(dir, 'arcface'),
  };
  await convertStableDiffusion(path.join(repoFixtureDir(), 'sd-tiny'), out.sd, { dtype: 'float32' });
  await convertClip(path.join(repoFixtureDir(), 'clip-tiny'), out.clip, { dtype: 'float32' });
  await convertArcface(path.join(repoFixtureDir(), 'arcface-tiny', 'model.onnx'), out.arcface, {
    dtype: 'float32',
  });
  return out;
}

export async function loadFixturePipeline(
  models: ConvertedFixtures,
  extra: PipelineOptions = {},
): Promise<Pipeline> {
  return Pipeline.load({
    model: models.sd,
    clip: models.clip,
    arcface: models.arcface,
    backend: testBackendName(),
    announceBackend: false,
    ...extra,
  });
}

export function removeFixtureModels(models: ConvertedFixtures): void {
  fs.rmSync(models.dir, { recursive: true, force: true });
}

export const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
