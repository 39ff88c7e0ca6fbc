/**
 * Averages the weights of UNet checkpoints that were trained from the same starting point (one run per CPU
 * core, different seeds): the uniform "model soup" of their EMA weights. The step count written is the sum of
 * the runs' new steps on top of the shared start, i.e. the number of batches that went into the average.
 *
 *   npx tsx weights/train/averageCheckpoints.ts --out weights/train/avg/digit-unet-ema.safetensors \
 *     weights/train/r1s5/digit-unet-ema.safetensors weights/train/r1s6/digit-unet-ema.safetensors
 *     [--init-steps 3671]   (the shared start's steps, for checkpoints written without `initSteps` metadata)
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { SafetensorsFile } from '../../lib/io/safetensors';

export function averageCheckpoints(inputs: string[], out: string, initSteps?: number): void {
  if (inputs.length < 2) throw new Error('averageCheckpoints: give at least two checkpoints');
  const files = inputs.map((f) => SafetensorsFile.open(f));
  try {
    const names = files[0].names();
    for (const [i, f] of files.entries()) {
      const other = f.names();
      if (other.length !== names.length || names.some((n) => !f.has(n)))
        throw new Error(`averageCheckpoints: ${inputs[i]} has different tensors than ${inputs[0]}`);
    }
    const start = initSteps ?? Number(files[0].metadata.initSteps ?? 0);
    const newSteps = files.map((f) => Number(f.metadata.steps) - start);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeSafetensors(
      `${out}.tmp`,
      names.map((n) => [n, files[0].entry(n).shape]),
      (name, _shape, size) => {
        const sum = new Float32Array(size);
        for (const f of files) {
          const v = f.readFloat32(name);
          for (let k = 0; k < size; k++) sum[k] += v[k] / files.length;
        }
        return sum;
      },
      {
        ...files[0].metadata,
        steps: String(start + newSteps.reduce((a, b) => a + b, 0)),
        initSteps: String(start),
        averageOf: inputs.map((f) => path.basename(path.dirname(f))).join(','),
      },
    );
    fs.renameSync(`${out}.tmp`, out);
  } finally {
    for (const f of files) f.close();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const o = args.indexOf('--out');
  if (o < 0) {
    process.stderr.write('usage: averageCheckpoints.ts --out <file> <checkpoint> <checkpoint> ...\n');
    process.exit(2);
  }
  const out = args[o + 1];
  const s = args.indexOf('--init-steps');
  const initSteps = s >= 0 ? Number(args[s + 1]) : undefined;
  const inputs = args.filter((_, i) => i !== o && i !== o + 1 && (s < 0 || (i !== s && i !== s + 1)));
  averageCheckpoints(inputs, out, initSteps);
  process.stdout.write(`wrote ${out} (average of ${inputs.length})\n`);
}
