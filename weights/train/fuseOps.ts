/**
 * Rewrites a converted pixel-space UNet (default: the shipped digit UNet, weights/digit-unet/unet) in place with
 * sag's fused ops, without its training checkpoint: `npx tsx weights/train/fuseOps.ts [unet dir]`. Primitive
 * GroupNorms (+SiLU) become SagGroupNorm nodes and primitive attentions SagAttention nodes, as the converters now
 * write them; the VJP graph is written again. Checks that the output and the VJP equal the old ones (relative 1e-5:
 * the fused kernels sum in another order) before the files change.
 *
 * The shipped digit UNet was rewritten with it: its GroupNorms in session 8 (with sag's native kernels its SAG
 * gradient at batch 16 took 1156 against 1805 ms primitive; on wasm without them, at 2 XNNPACK threads, the primitive
 * form was faster: 1.74 s against 2.25 s, the JavaScript kernels run on one thread), its attentions in session 9.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fuseAttention } from '../../converters/graph/fuseAttention';
import { fuseGroupNorms } from '../../converters/graph/fuseGroupNorms';
import { appendVjpGraph, removeVjpGraph } from '../../converters/graph/vjp/appendVjpGraph';
import { pixelUnetProbe } from '../../converters/pixel/writeEmbeddedModels';
import { startBackend } from '../../lib/backend';
import { readValues } from '../../lib/backend/readTensor';
import { ConvertedGraph } from '../../lib/models/convertedGraph';

const UNET = process.argv[2] ?? path.join(__dirname, '..', 'digit-unet', 'unet');

async function outputAndVjp(dir: string): Promise<Float32Array[]> {
  const graph = await ConvertedGraph.load(dir);
  const sample = tf.randomNormal([3, 32, 32, 1], 0, 1, 'float32', 7);
  const timestep = tf.tensor1d([420]);
  const cotangent = tf.randomNormal([3, 32, 32, 1], 0, 1, 'float32', 8);
  const [out] = graph.execute({ sample, timestep }, ['out']);
  const vjp = graph.vjp({ sample, timestep }, cotangent);
  const values = [Float32Array.from(await readValues(out)), Float32Array.from(await readValues(vjp))];
  tf.dispose([sample, timestep, cotangent, out, vjp]);
  graph.dispose();
  return values;
}

function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function main(): Promise<void> {
  await startBackend('wasm', { announce: false });
  const before = await outputAndVjp(UNET);
  // Rewritten in a copy first: the shipped files change only when the result checks out.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-fuse-'));
  try {
    fs.cpSync(UNET, work, { recursive: true });
    removeVjpGraph(work);
    const groupNorms = await fuseGroupNorms(work);
    const attentions = await fuseAttention(work);
    if (groupNorms + attentions === 0)
      throw new Error(`${UNET}: no primitive GroupNorm or attention found (already fused?)`);
    await appendVjpGraph(work, {
      wrt: 'sample',
      outputs: ['out'],
      probes: () => [2, 3].map((b) => pixelUnetProbe(1, b)),
    });
    const after = await outputAndVjp(work);
    const errors = after.map((values, i) => relativeL2(values, before[i]));
    if (errors.some((e) => !(e < 1e-5)))
      throw new Error(`the fused graph differs: output ${errors[0]}, VJP ${errors[1]} (relative)`);
    for (const name of fs.readdirSync(UNET)) fs.rmSync(path.join(UNET, name));
    fs.cpSync(work, UNET, { recursive: true });
    process.stderr.write(
      `${UNET}: ${groupNorms} GroupNorms and ${attentions} attentions fused; output and VJP within ${Math.max(...errors).toExponential(1)} of the old ones\n`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
