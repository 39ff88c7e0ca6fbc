import { urlModelFiles } from '../lib/io/urlModelFiles';
import { ImageClassifier } from '../lib/models/imageClassifier';
import { PixelDiffusionModel } from '../lib/models/pixelDiffusionModel';
import { Generator } from '../lib/pipeline/generation';
import { namedOptionImages } from '../lib/pipeline/optionImages';
import * as tf from '@tensorflow/tfjs';

/** The embedded models as the page loads them, from the server's weights/ (relative to the page). */
export interface PageModels {
  generator: Generator;
  /** The independent digit classifier that judges the results (never guides). */
  evaluator: ImageClassifier;
  /** Style images by name, as tensors [1, H, W, 3] in [0, 1]. */
  styles: Record<string, tf.Tensor4D>;
}

export const STYLE_IMAGES = ['digit-style-0.png', 'digit-style-4.png', 'digit-style-8.png'];

async function imageTensor(url: string): Promise<tf.Tensor4D> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  // PNG bytes as decoded, without colour management: the CLI (pngjs) reads the same numbers.
  return tf.tidy(() => tf.div(tf.browser.fromPixels(bitmap, 3).toFloat(), 255).expandDims(0) as tf.Tensor4D);
}

export async function loadPageModels(backendName: string, weightsUrl = 'weights'): Promise<PageModels> {
  const files = urlModelFiles(weightsUrl);
  const [pixel, classifier, evaluator] = await Promise.all([
    PixelDiffusionModel.fromFiles(files.at('digit-unet')),
    ImageClassifier.fromFiles(files.at('digit-classifier')),
    ImageClassifier.fromFiles(files.at('digit-evaluator')),
  ]);
  const styles: Record<string, tf.Tensor4D> = {};
  for (const name of STYLE_IMAGES) styles[name] = await imageTensor(`${weightsUrl}/examples/${name}`);
  const generator = Generator.forPixelModel(pixel, classifier, {
    backendName,
    readImage: namedOptionImages(styles),
  });
  return { generator, evaluator, styles };
}
