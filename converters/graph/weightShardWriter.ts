import * as fs from 'fs';
import * as path from 'path';
import { float32ToFloat16 } from '../../lib/io/halfFloat';

export type StoredDtype = 'float32' | 'float16' | 'int32';

/** A tfjs weights-manifest entry; float16 storage is tfjs's float16 quantization of a float32 weight. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'float16' };
}

/**
 * Streams weights into shard files of about `shardBytes` each, in the order they are added (the order of the
 * manifest). Only the current shard is held in memory.
 */
export class WeightShardWriter {
  readonly entries: WeightEntry[] = [];
  readonly paths: string[] = [];
  private buffer: Buffer;
  private used = 0;
  private totalBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly shardBytes = 4 * 2 ** 20,
    /** Shard file names are `<filePrefix>-shard<k>.bin`. */
    private readonly filePrefix = 'group1',
  ) {
    this.buffer = Buffer.alloc(shardBytes);
  }

  get bytesWritten(): number {
    return this.totalBytes;
  }

  add(name: string, data: Float32Array | Int32Array, shape: number[], dtype: StoredDtype): void {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new Error(`weight '${name}': ${data.length} values for shape [${shape}]`);
    this.entries.push(
      dtype === 'float16'
        ? { name, shape, dtype: 'float32', quantization: { dtype: 'float16' } }
        : { name, shape, dtype },
    );
    const bytesPer = dtype === 'float16' ? 2 : 4;
    for (let offset = 0; offset < data.length;) {
      const room = Math.floor((this.shardBytes - this.used) / bytesPer);
      if (room === 0) {
        this.flush();
        continue;
      }
      const n = Math.min(room, data.length - offset);
      this.encode(data, offset, n, dtype);
      offset += n;
    }
  }

  private encode(data: Float32Array | Int32Array, offset: number, n: number, dtype: StoredDtype): void {
    const b = this.buffer;
    let p = this.used;
    if (dtype === 'float16') {
      for (let i = 0; i < n; i++, p += 2) b.writeUInt16LE(float32ToFloat16(data[offset + i]), p);
    } else if (dtype === 'int32') {
      for (let i = 0; i < n; i++, p += 4) b.writeInt32LE(data[offset + i], p);
    } else {
      const view = new Float32Array(data.buffer, data.byteOffset + offset * 4, n);
      Buffer.from(view.buffer, view.byteOffset, n * 4).copy(b, p);
      p += n * 4;
    }
    this.used = p;
  }

  private flush(): void {
    if (this.used === 0) return;
    const file = `${this.filePrefix}-shard${this.paths.length + 1}.bin`;
    fs.writeFileSync(path.join(this.dir, file), this.buffer.subarray(0, this.used));
    this.paths.push(file);
    this.totalBytes += this.used;
    this.used = 0;
  }

  /** Writes the last shard; returns the tfjs weightsManifest. */
  finish(): { paths: string[]; weights: WeightEntry[] }[] {
    this.flush();
    return [{ paths: [...this.paths], weights: [...this.entries] }];
  }
}
