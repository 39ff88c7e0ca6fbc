// max |a - b| over the pixels of two PNGs (0..255), and whether the bytes are identical
const fs = require('fs');
const { PNG } = require('pngjs');
const [a, b] = process.argv.slice(2).map((f) => fs.readFileSync(f));
const pa = PNG.sync.read(a),
  pb = PNG.sync.read(b);
let max = 0,
  sum = 0;
for (let i = 0; i < pa.data.length; i++) {
  const d = Math.abs(pa.data[i] - pb.data[i]);
  max = Math.max(max, d);
  sum += d;
}
console.log(
  JSON.stringify({
    a: process.argv[2],
    b: process.argv[3],
    identicalBytes: a.equals(b),
    maxAbsDiff: max,
    meanAbsDiff: sum / pa.data.length,
  }),
);
