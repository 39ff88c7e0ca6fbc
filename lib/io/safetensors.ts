import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { readFully } from './readFully';
import { DTYPE_BYTES, TensorDtype, decodeFloat32, decodeInt32, isFloatDtype } from './tensorDtype';

export type SafetensorsDtype = TensorDtype;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

const BYTES = DTYPE_BYTES;

/**
 * A safetensors file opened for lazy reads: the header is parsed once; each tensor is read from disk on demand,
 * so a multi-GB checkpoint is never held in memory at once. Close it when done.
 */
export class SafetensorsFile {
  readonly entries: Map<string, SafetensorsEntry>;
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    header: Record<string, unknown>,
    dataStart: number,
    fileSize: number,
  ) {
    this.fd = fd;
    this.dataStart = dataStart;
    const metadata = header.__metadata__;
    if (
      metadata !== undefined &&
      (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    )
      throw new Error(`${path}: __metadata__ is not an object of strings`);
    this.metadata = (metadata as Record<string, string>) ?? {};
    this.entries = new Map();
    const spans: { name: string; begin: number; end: number }[] = [];
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
      if (typeof info !== 'object' || info === null)
        throw new Error(`${path}: tensor '${name}' is not described by an object`);
      const { dtype, shape, data_offsets: offsets } = info;
      if (typeof dtype !== 'string' || !(dtype in BYTES))
        throw new Error(`${path}: tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
      const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      if (!Array.isArray(shape) || !shape.every(isCount))
        throw new Error(`${path}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every(isCount) ||
        offsets[0] > offsets[1]
      )
        throw new Error(`${path}: tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
      const [begin, end] = offsets as [number, number];
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      const bytes = BYTES[dtype as SafetensorsDtype];
      if (end - begin !== count * bytes) {
        throw new Error(`${path}: tensor '${name}' has ${end - begin} bytes, expected ${count * bytes}`);
      }
      if (dataStart + end > fileSize) {
        throw new Error(`${path}: truncated file (tensor '${name}' ends past the end of the file)`);
      }
      spans.push({ name, begin, end });
      this.entries.set(name, {
        name,
        dtype: dtype as SafetensorsDtype,
        shape: shape as number[],
        begin,
        end,
      });
    }
    spans.sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < spans.length; i++)
      if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin)
        throw new Error(`${path}: tensors '${spans[i - 1].name}' and '${spans[i].name}' overlap`);
  }

  static open(path: string): SafetensorsFile {
    if (!fs.existsSync(path)) throw new Error(`${path}: safetensors file not found`);
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw new Error(`${path}: truncated safetensors file (${size} bytes)`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen <= 0 || 8 + headerLen > size) {
        throw new Error(
          `${path}: not a safetensors file or truncated (header length ${headerLen}, file ${size})`,
        );
      }
      const headerBuf = Buffer.alloc(headerLen);
      fs.readSync(fd, headerBuf, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8'));
      } catch {
        throw new Error(`${path}: not a safetensors file (header is not JSON)`);
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header))
        throw new Error(`${path}: not a safetensors file (header is not a JSON object)`);
      return new SafetensorsFile(path, fd, header, 8 + headerLen, size);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named '${name}'`);
    return e;
  }

  private readBytes(e: SafetensorsEntry): Buffer {
    if (this.fd === null) throw new Error(`${this.path}: file already closed`);
    return readFully(
      this.fd,
      this.dataStart + e.begin,
      e.end - e.begin,
      `${this.path}: truncated file while reading '${e.name}'`,
    );
  }

  /** Reads a floating-point tensor as float32 (F64/F32/F16/BF16). */
  readFloat32(name: string): Float32Array {
    const e = this.entry(name);
    return decodeFloat32(this.readBytes(e), e.dtype, `${this.path}: tensor '${name}'`);
  }

  /** Reads an integer tensor as int32 (I64 values must fit). */
  readInt32(name: string): Int32Array {
    const e = this.entry(name);
    return decodeInt32(this.readBytes(e), e.dtype, `${this.path}: tensor '${name}'`);
  }

  /** Reads a tensor into tfjs (float32 or int32); the caller owns it. */
  readTensor(name: string): tf.Tensor {
    const e = this.entry(name);
    return isFloatDtype(e.dtype)
      ? tf.tensor(this.readFloat32(name), e.shape, 'float32')
      : tf.tensor(this.readInt32(name), e.shape, 'int32');
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
