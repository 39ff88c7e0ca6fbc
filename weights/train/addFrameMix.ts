/**
 * Gives the shipped digit UNet (weights/digit-unet/unet) the frame mix input of cross-frame attention, in place,
 * without the training checkpoint: `npx tsx weights/train/addFrameMix.ts`. The forward graph gains the mixing of
 * its self-attentions' keys and values (lib/models/frameMix.ts), as `writePixelDiffusionModel` now writes it; the
 * VJP graph is written again. Checks that with the identity mix the output is bit for bit the old one.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { addFrameMixInput } from '../../converters/graph/addFrameMixInput';
import { appendVjpGraph, removeVjpGraph } from '../../converters/graph/vjp/appendVjpGraph';
import { pixelUnetProbe } from '../../converters/pixel/writeEmbeddedModels';
import { startBackend } from '../../lib/backend';
import { readValues } from '../../lib/backend/readTensor';
import { ConvertedGraph } from '../../lib/models/convertedGraph';

const UNET = path.join(__dirname, '..', 'digit-unet', 'unet');

async function output(): Promise<Float32Array> {
  const graph = await ConvertedGraph.load(UNET);
  const sample = tf.randomNormal([3, 32, 32, 1], 0, 1, 'float32', 7);
  const timestep = tf.tensor1d([420]);
  const [out] = graph.execute({ sample, timestep }, ['out']);
  const values = Float32Array.from(await readValues(out));
  tf.dispose([sample, timestep, out]);
  graph.dispose();
  return values;
}

async function main(): Promise<void> {
  await startBackend('wasm', { announce: false });
  const before = await output();
  removeVjpGraph(UNET);
  const changed = addFrameMixInput(UNET, /attention\//);
  await appendVjpGraph(UNET, {
    wrt: 'sample',
    outputs: ['out'],
    probes: () => [2, 3].map((b) => pixelUnetProbe(1, b)),
  });
  const after = await output();
  const same = before.every((v, i) => v === after[i]);
  if (!same) throw new Error('the identity frame mix changed the output');
  process.stderr.write(
    `weights/digit-unet: ${changed} self-attentions take the frame mix; output unchanged\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
