/**
 * Rewrites the VJP graphs of the shipped embedded models in place (after a change to the backward rules), without
 * retraining or re-exporting: `npx tsx weights/train/rewriteVjpGraphs.ts`.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendVjpGraph, removeVjpGraph } from '../../converters/graph/vjp/appendVjpGraph';
import { startBackend } from '../../lib/backend';
import { pixelUnetProbe } from '../../converters/pixel/writeEmbeddedModels';

const WEIGHTS = path.join(__dirname, '..');

async function main(): Promise<void> {
  await startBackend('wasm', { announce: false });
  const unet = path.join(WEIGHTS, 'digit-unet', 'unet');
  removeVjpGraph(unet);
  await appendVjpGraph(unet, {
    wrt: 'sample',
    outputs: ['out'],
    probes: () => [2, 3].map((b) => pixelUnetProbe(1, b)),
  });
  for (const name of ['digit-classifier', 'digit-evaluator']) {
    const dir = path.join(WEIGHTS, name, 'classifier');
    removeVjpGraph(dir);
    await appendVjpGraph(dir, {
      wrt: 'image',
      outputs: ['logits', 'features'],
      probes: () => [2, 3].map((b) => ({ image: tf.randomNormal([b, 32, 32, 1]) })),
    });
  }
  process.stderr.write('rewrote the VJP graphs of digit-unet, digit-classifier, digit-evaluator\n');
}

void main();
