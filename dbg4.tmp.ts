import * as tf from '@tensorflow/tfjs';
import { startBackend } from './lib/backend';
import { ConvertedGraph } from './lib/models/convertedGraph';
import { RecordedGraphRuns, setGraphExecutor } from './lib/recorded';

async function main() {
  await startBackend('webgpu', { announce: false });
  const g = await ConvertedGraph.load('/tmp/clip-conv/clip_text');
  const names = g.nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name);
  const ids = tf.tensor2d(Array.from({ length: 2 * 77 }, (_, i) => (i % 77 < 5 ? 10 + i % 7 : 0)), [2, 77], 'int32');
  const mask = tf.oneHot(tf.tensor1d([4, 4], 'int32'), 77).toFloat();
  const feeds = { input_ids: ids, eos_mask: mask };
  setGraphExecutor('tfjs');
  const ref = g.model.execute(feeds, names) as tf.Tensor[];
  const runs = new RecordedGraphRuns();
  setGraphExecutor('recorded');
  const got = runs.execute(feeds, names, (f) => g.model.execute(f, names) as tf.Tensor[]);
  for (let i = 0; i < names.length; i++) {
    const a = await ref[i].data(); const b = await got[i].data();
    let d = 0; for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j] - b[j]) || (Number.isNaN(b[j]) !== Number.isNaN(a[j]) ? 1e9 : 0));
    if (d > 1e-5) { console.log('first differing', i, names[i], g.nodes.find((n) => n.name === names[i])?.op, ref[i].shape, got[i].shape, d, [...a.keys()].filter((j) => a[j] !== b[j]).slice(0, 10), Array.from(a).reduce((s,v)=>s+v,0), Array.from(b).reduce((s,v)=>s+v,0)); break; }
  }
  console.log('done');
}
main();
