import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { ArcfaceModel } from '../../lib/models/arcfaceModel';
import { ClipModel } from '../../lib/models/clipModel';
import { StableDiffusionModels } from '../../lib/models/stableDiffusionModels';
import { fixtureDir } from '../helpers/fixtures';

/**
 * Converts the fixture checkpoints a case refers to (once per test file) into a temporary directory and loads
 * them. A case's `model` is `<dir>/<component>` for Stable Diffusion parts, `<dir>` for CLIP, `<dir>/<file>.onnx`.
 */
export class FixtureModels {
  readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-parity-'));
  private readonly sd = new Map<string, Promise<StableDiffusionModels>>();
  private readonly clip = new Map<string, Promise<ClipModel>>();
  private readonly arcface = new Map<string, Promise<ArcfaceModel>>();

  stableDiffusion(modelPath: string): Promise<StableDiffusionModels> {
    const root = modelPath.split('/')[0];
    let p = this.sd.get(root);
    if (!p) {
      const out = path.join(this.tmp, `${root}-sd`);
      p = convertStableDiffusion(path.join(fixtureDir(), root), out, { dtype: 'float32' }).then(() =>
        StableDiffusionModels.load(out),
      );
      this.sd.set(root, p);
    }
    return p;
  }

  clipModel(modelPath: string): Promise<ClipModel> {
    let p = this.clip.get(modelPath);
    if (!p) {
      const out = path.join(this.tmp, `${modelPath.replace(/\//g, '_')}-clip`);
      p = convertClip(path.join(fixtureDir(), modelPath), out, { dtype: 'float32' }).then(() =>
        ClipModel.load(out),
      );
      this.clip.set(modelPath, p);
    }
    return p;
  }

  arcfaceModel(modelPath: string): Promise<ArcfaceModel> {
    let p = this.arcface.get(modelPath);
    if (!p) {
      const out = path.join(this.tmp, `${modelPath.replace(/\//g, '_')}-arcface`);
      p = convertArcface(path.join(fixtureDir(), modelPath), out, { dtype: 'float32' }).then(() =>
        ArcfaceModel.load(out),
      );
      this.arcface.set(modelPath, p);
    }
    return p;
  }

  async dispose(): Promise<void> {
    for (const p of [...this.sd.values(), ...this.clip.values(), ...this.arcface.values()])
      (await p).dispose();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
