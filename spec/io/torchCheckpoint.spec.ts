import * as fs from 'fs';
import * as path from 'path';
import { TorchCheckpointFile } from '../../lib/io/torchCheckpoint';
import { makeTempDir } from '../helpers/tempDir';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');

interface Expected {
  shape: number[];
  dtype: string;
  values: number[];
}
const expected = (
  JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as {
    tensors: Record<string, Expected>;
  }
).tensors;

const DTYPES: Record<string, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
};

function expectSameValues(got: ArrayLike<number>, want: number[]): void {
  expect(got).toHaveLength(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-7 * (1 + Math.abs(want[i])));
}

describe('TorchCheckpointFile (fixtures written by torch.save, torch 1.13)', () => {
  test.each(['state-dict.bin', 'lightning.ckpt'])(
    '%s: every tensor as PyTorch reads it back',
    async (name) => {
      const file = await TorchCheckpointFile.open(path.join(FIXTURES, name));
      try {
        expect(file.names().sort()).toEqual(Object.keys(expected).sort());
        for (const [tensor, want] of Object.entries(expected)) {
          const entry = file.entry(tensor);
          expect([tensor, entry.shape]).toEqual([tensor, want.shape]);
          expect([tensor, entry.dtype]).toEqual([tensor, DTYPES[want.dtype]]);
          const values = want.dtype === 'int64' ? file.readInt32(tensor) : file.readFloat32(tensor);
          expectSameValues(values, want.values);
        }
      } finally {
        file.close();
      }
    },
  );

  test('bad files: one clear error naming the file', async () => {
    await expect(TorchCheckpointFile.open(path.join(FIXTURES, 'legacy.pt'))).rejects.toThrow(
      /legacy\.pt: legacy torch serialization \(torch < 1\.6\)/,
    );
    await expect(TorchCheckpointFile.open(path.join(FIXTURES, 'module.pt'))).rejects.toThrow(
      /module\.pt: no tensors found; save a state dict/,
    );
    const dir = makeTempDir('torch');
    try {
      const truncated = path.join(dir, 'truncated.bin');
      const bytes = fs.readFileSync(path.join(FIXTURES, 'state-dict.bin'));
      fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 200));
      await expect(TorchCheckpointFile.open(truncated)).rejects.toThrow(/truncated\.bin: /);
      const text = path.join(dir, 'notes.bin');
      fs.writeFileSync(text, 'hello');
      await expect(TorchCheckpointFile.open(text)).rejects.toThrow(
        /notes\.bin: not a readable torch\.save zip/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
