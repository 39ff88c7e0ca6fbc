import * as tf from '@tensorflow/tfjs';
import { directoryModelFiles } from '../io/directoryModelFiles';
import { ModelFiles } from '../io/modelFiles';
import { resizeBilinear } from '../nn/bilinearResize';
import { ConvertedGraph } from './convertedGraph';
import { penultimateNodeName } from './penultimateNode';
import { ClassifierManifest, loadSagManifest } from './sagManifest';

/**
 * An image classifier graph model directory (sag.json format 'sag-classifier'): input images in [0, 1] NHWC of
 * a fixed size; outputs `logits` [B, classes] and a `features` map [B, h, w, c] (for style losses).
 */
export class ImageClassifier {
  private constructor(
    readonly dir: string,
    readonly manifest: ClassifierManifest,
    readonly graph: ConvertedGraph,
  ) {}

  static async load(dir: string): Promise<ImageClassifier> {
    return ImageClassifier.fromFiles(directoryModelFiles(dir));
  }

  /** From a directory or a URL. */
  static async fromFiles(files: ModelFiles): Promise<ImageClassifier> {
    const manifest = await loadSagManifest(files, 'sag-classifier');
    return new ImageClassifier(
      files.location,
      manifest,
      await ConvertedGraph.fromFiles(files.at('classifier')),
    );
  }

  get classes(): number {
    return this.manifest.classes;
  }
  get imageSize(): number {
    return this.manifest.imageSize;
  }
  get channels(): number {
    return this.manifest.channels;
  }

  private fit(image: tf.Tensor4D): tf.Tensor4D {
    let x = image;
    if (x.shape[3] !== this.channels)
      x = this.channels === 1 ? tf.mean(x, 3, true) : tf.tile(x, [1, 1, 1, 3]);
    if (x.shape[1] !== this.imageSize || x.shape[2] !== this.imageSize)
      x = resizeBilinear(x, [this.imageSize, this.imageSize]);
    return x;
  }

  /** Logits [B, classes] for images in [0, 1]. Caller owns the result. */
  logits(image: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(
      () => this.graph.executeDifferentiable({ image: this.fit(image) }, ['logits'])[0] as tf.Tensor2D,
    );
  }

  /** The feature map used by the style loss. Caller owns the result. */
  features(image: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(
      () => this.graph.executeDifferentiable({ image: this.fit(image) }, ['features'])[0] as tf.Tensor4D,
    );
  }

  private embeddingNode: string | null = null;

  /**
   * The activations that feed the classification head, [B, d], for evaluation (Fréchet distance between sample
   * sets). Not differentiable. Caller owns the result.
   */
  embedding(image: tf.Tensor4D): tf.Tensor2D {
    if (this.embeddingNode === null) this.embeddingNode = penultimateNodeName(this.graph.nodes, 'logits');
    const node = this.embeddingNode;
    return tf.tidy(() => {
      const features = this.graph.execute({ image: this.fit(image) }, [node])[0];
      return tf.reshape(features, [features.shape[0], -1]) as tf.Tensor2D;
    });
  }

  /** Class probabilities [B, classes]. */
  probabilities(image: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(image)) as tf.Tensor2D);
  }

  dispose(): void {
    this.graph.dispose();
  }
}
