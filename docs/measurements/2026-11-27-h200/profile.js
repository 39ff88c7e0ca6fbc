// Per-kernel GPU time of one UNet forward and one input VJP (tf.profile; webgpu timestamp queries).
const tf = require('@tensorflow/tfjs');
const os = require('os'),
  fs = require('fs'),
  path = require('path');
const root = path.resolve(__dirname, '..');
const { startBackend } = require(root + '/dist/lib/backend');
const { scaledSdV15UnetConfig, writeSyntheticUnetGraph } = require(
  root + '/dist/converters/bench/syntheticUnetGraph.js',
);
const { ConvertedGraph } = require(root + '/dist/lib/models/convertedGraph.js');
const [backendName = 'webgpu', scale = '1', latent = '64'] = process.argv.slice(2);
(async () => {
  const b = await startBackend(backendName);
  console.log(b.description);
  const config = scaledSdV15UnetConfig(Number(scale));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p-'));
  const { unetDir } = await writeSyntheticUnetGraph(dir, config);
  const unet = await ConvertedGraph.load(unetDir);
  const L = Number(latent);
  const x = tf.randomNormal([1, L, L, 4]);
  const ctx = tf.randomNormal([1, 77, config.cross_attention_dim]);
  const eps = (x) =>
    tf.tidy(
      () => unet.execute({ sample: x, timestep: tf.tensor1d([500]), encoder_hidden_states: ctx }, ['out'])[0],
    );
  const ones = tf.onesLike(x);
  const ops = { forward: () => eps(x), vjp: () => tf.grad((v) => eps(v))(x, ones) };
  for (const [name, run] of Object.entries(ops)) {
    for (let i = 0; i < 2; i++) {
      const r = run();
      await r.data();
      r.dispose();
    }
    let t = performance.now();
    {
      const r = run();
      await r.data();
      r.dispose();
    }
    const wall = performance.now() - t;
    let out;
    const info = await tf.profile(async () => {
      out = run();
      await out.data();
      return [];
    });
    out.dispose();
    const byName = new Map(),
      byShape = new Map();
    let total = 0;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      total += ms;
      const a = byName.get(k.name) || { ms: 0, count: 0 };
      a.ms += ms;
      a.count++;
      byName.set(k.name, a);
      const key = k.name + ' ' + JSON.stringify(k.inputShapes);
      const s = byShape.get(key) || { ms: 0, count: 0 };
      s.ms += ms;
      s.count++;
      byShape.set(key, s);
    }
    console.log(
      `\n== ${name}: wall ${wall.toFixed(1)} ms, ${info.kernels.length} kernels, kernel sum ${total.toFixed(1)} ms, peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    for (const [k, v] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 22))
      console.log(`${k.padEnd(28)} ${v.ms.toFixed(1).padStart(9)} ms ${String(v.count).padStart(5)}x`);
    console.log('-- top kernel+shapes');
    for (const [k, v] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
      console.log(`${v.ms.toFixed(1).padStart(9)} ms ${String(v.count).padStart(4)}x  ${k}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
