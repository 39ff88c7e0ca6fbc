import * as fs from 'fs';
import { seededRandom } from '../../lib/seededRandom';

/**
 * Writes a float32 safetensors file tensor by tensor: the header first, then each tensor's data as `fill`
 * produces it, so only one tensor is in memory at a time.
 */
export function writeSafetensors(
  path: string,
  entries: [string, number[]][],
  fill: (name: string, shape: number[], size: number) => Float32Array,
  metadata: Record<string, string> = { format: 'pt' },
): number {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, shape] of entries) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = fs.openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (const [name, shape] of entries) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = fill(name, shape, size);
      if (data.length !== size)
        throw new Error(`writeSafetensors: '${name}' got ${data.length} values, expected ${size}`);
      fs.writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
  return 8 + Buffer.byteLength(json) + offset;
}

/** Deterministic pseudo-random weights, uniform in [-scale, scale]. */
export function seededUniform(seed: number, size: number, scale: number): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}
