import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConvertedGraph } from './convertedGraph';
import { ArcfaceManifest } from './sagManifest';
import { readSagManifest } from './sagManifestFile';

/** A converted ArcFace directory (`sag convert arcface`): aligned faces in [-1, 1], NHWC -> embeddings. */
export class ArcfaceModel {
  private constructor(
    readonly dir: string,
    readonly manifest: ArcfaceManifest,
    readonly graph: ConvertedGraph,
  ) {}

  static async load(dir: string): Promise<ArcfaceModel> {
    const manifest = readSagManifest(dir, 'sag-arcface');
    return new ArcfaceModel(dir, manifest, await ConvertedGraph.load(path.join(dir, 'arcface')));
  }

  get inputSize(): [number, number] {
    return this.manifest.inputSize;
  }

  /** faces [B, H, W, 3] in [-1, 1] -> embeddings [B, E] (not normalised). Caller owns the result. */
  embed(faces: tf.Tensor): tf.Tensor {
    return this.graph.executeDifferentiable({ [this.manifest.input]: faces }, [this.manifest.output])[0];
  }

  dispose(): void {
    this.graph.dispose();
  }
}
