import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readImageFile } from '../../lib/io/imageFile';
import { parseParameters } from '../../lib/io/generationParameters';
import { readPngTextChecked, withPngText } from '../../lib/io/pngText';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { TorchCheckpointFile } from '../../lib/io/torchCheckpoint';
import { sagManifestFormat } from '../../lib/models/sagManifestFile';
import { makeTempDir } from '../helpers/tempDir';
import { FUZZ_RUNS, FUZZ_SEED, applyMutations, expectCleanOutcome, mutations } from './fuzzFile';

const TORCH = path.join(__dirname, '..', 'fixtures', 'torch');
let dir: string;
beforeAll(() => {
  dir = makeTempDir('fuzz');
  process.stdout.write(
    `fuzz: ${FUZZ_RUNS} cases per reader${FUZZ_SEED !== undefined ? `, seed ${FUZZ_SEED}` : ''}\n`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A small valid safetensors file: two tensors and metadata. */
function safetensorsBytes(): Buffer {
  const header = {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    b: { dtype: 'F16', shape: [4], data_offsets: [24, 32] },
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json), Buffer.alloc(32, 0x3c)]);
}

/** Runs `read` on every mutation of `original` written to a file named `name`. */
async function fuzzFile(name: string, original: Buffer, read: (file: string) => unknown | Promise<unknown>) {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(mutations(original.length), async (list) => {
      const file = path.join(dir, `${n++}-${name}`);
      fs.writeFileSync(file, applyMutations(original, list));
      try {
        await expectCleanOutcome(file, () => read(file));
      } finally {
        fs.rmSync(file, { force: true });
      }
    }),
    { numRuns: FUZZ_RUNS, seed: FUZZ_SEED },
  );
}

describe('file readers under fuzzing: the value or one error naming the file, never a crash or a hang', () => {
  test('safetensors (header and every tensor read)', async () => {
    await fuzzFile('model.safetensors', safetensorsBytes(), (file) => {
      const st = SafetensorsFile.open(file);
      try {
        for (const name of st.entries.keys()) st.readFloat32(name);
      } finally {
        st.close();
      }
    });
  });

  test('safetensors headers with wrong JSON types', async () => {
    const values = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.array(fc.integer()),
      fc.object(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ dtype: values, shape: values, data_offsets: values }, { requiredKeys: [] }),
        fc.oneof(values, fc.constant({})),
        async (entry, metadata) => {
          const json = JSON.stringify({ __metadata__: metadata, t: entry });
          const length = Buffer.alloc(8);
          length.writeBigUInt64LE(BigInt(json.length));
          const file = path.join(dir, 'typed.safetensors');
          fs.writeFileSync(file, Buffer.concat([length, Buffer.from(json), Buffer.alloc(64)]));
          await expectCleanOutcome(file, () => {
            const st = SafetensorsFile.open(file);
            try {
              for (const name of st.entries.keys()) st.readFloat32(name);
            } finally {
              st.close();
            }
          });
        },
      ),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED },
    );
  });

  test('PyTorch zip checkpoints (zip directory, pickle, storages)', async () => {
    const original = fs.readFileSync(path.join(TORCH, 'aesthetic-mlp.pth'));
    await fuzzFile('model.pth', original, async (file) => {
      const ckpt = await TorchCheckpointFile.open(file);
      try {
        for (const name of ckpt.names()) ckpt.readFloat32(name);
      } finally {
        ckpt.close();
      }
    });
  });

  test('PNG and JPEG images', async () => {
    const png = new PNG({ width: 6, height: 4 });
    png.data.fill(200);
    await fuzzFile('image.png', PNG.sync.write(png), (file) => readImageFile(file));
    const jpg = jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 90), width: 8, height: 8 }, 80).data;
    await fuzzFile('image.jpg', Buffer.from(jpg), (file) => readImageFile(file));
  });

  test("a sag PNG's recorded settings (what --from and sag info trust)", async () => {
    const record = {
      command: 'generate',
      sagVersion: '0.1.0',
      backend: 'wasm',
      models: {},
      options: { seed: 3 },
      upscale: 1,
    };
    const original = withPngText(
      PNG.sync.write(new PNG({ width: 2, height: 2 })),
      'parameters',
      `\nsag: ${JSON.stringify(record)}`,
    );
    await fuzzFile('settings.png', original, (file) => {
      const text = readPngTextChecked(fs.readFileSync(file), file).parameters;
      if (text !== undefined) parseParameters(text);
    });
  });

  test("a converted model's sag.json", async () => {
    const original = fs.readFileSync(path.join(__dirname, '..', '..', 'weights', 'digit-unet', 'sag.json'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutations(original.length), async (list) => {
        const model = path.join(dir, `model-${n++}`);
        fs.mkdirSync(model);
        fs.writeFileSync(path.join(model, 'sag.json'), applyMutations(original, list));
        try {
          await expectCleanOutcome(model, () => sagManifestFormat(model));
        } finally {
          fs.rmSync(model, { recursive: true, force: true });
        }
      }),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED },
    );
  });
});
