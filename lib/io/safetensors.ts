import * as fs from 'fs';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { bfloat16ToFloat32, float16ToFloat32 } from './halfFloat';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

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
    this.metadata = (header.__metadata__ as Record<string, string>) ?? {};
    this.entries = new Map();
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const info = raw as { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] };
      if (!(info.dtype in BYTES))
        throw new Error(`${path}: tensor '${name}' has unsupported dtype ${info.dtype}`);
      const [begin, end] = info.data_offsets;
      const count = info.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * BYTES[info.dtype]) {
        throw new Error(
          `${path}: tensor '${name}' has ${end - begin} bytes, expected ${count * BYTES[info.dtype]}`,
        );
      }
      if (dataStart + end > fileSize) {
        throw new Error(`${path}: truncated file (tensor '${name}' ends past the end of the file)`);
      }
      this.entries.set(name, { name, dtype: info.dtype, shape: info.shape, begin, end });
    }
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
    const buf = Buffer.alloc(e.end - e.begin);
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, this.dataStart + e.begin + done);
      if (n <= 0) throw new Error(`${this.path}: truncated file while reading '${e.name}'`);
      done += n;
    }
    return buf;
  }

  /** Reads a floating-point tensor as float32 (F64/F32/F16/BF16). */
  readFloat32(name: string): Float32Array {
    const e = this.entry(name);
    const buf = this.readBytes(e);
    const n = buf.length / BYTES[e.dtype];
    const out = new Float32Array(e.dtype === 'F32' && LITTLE_ENDIAN ? 0 : n);
    switch (e.dtype) {
      case 'F32':
        if (LITTLE_ENDIAN) return new Float32Array(buf.buffer, buf.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
        break;
      case 'F64':
        for (let i = 0; i < n; i++) out[i] = buf.readDoubleLE(i * 8);
        break;
      case 'F16':
        for (let i = 0; i < n; i++) out[i] = float16ToFloat32(buf.readUInt16LE(i * 2));
        break;
      case 'BF16':
        for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat32(buf.readUInt16LE(i * 2));
        break;
      default:
        throw new Error(`${this.path}: tensor '${name}' is ${e.dtype}, expected a floating-point dtype`);
    }
    return out;
  }

  /** Reads an integer tensor as int32 (I64 values must fit). */
  readInt32(name: string): Int32Array {
    const e = this.entry(name);
    const buf = this.readBytes(e);
    const n = buf.length / BYTES[e.dtype];
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      switch (e.dtype) {
        case 'I32':
          out[i] = buf.readInt32LE(i * 4);
          break;
        case 'I64':
          out[i] = Number(buf.readBigInt64LE(i * 8));
          break;
        case 'I16':
          out[i] = buf.readInt16LE(i * 2);
          break;
        case 'I8':
          out[i] = buf.readInt8(i);
          break;
        case 'U8':
        case 'BOOL':
          out[i] = buf.readUInt8(i);
          break;
        default:
          throw new Error(`${this.path}: tensor '${name}' is ${e.dtype}, expected an integer dtype`);
      }
    }
    return out;
  }

  /** Reads a tensor into tfjs (float32 or int32); the caller owns it. */
  readTensor(name: string): tf.Tensor {
    const e = this.entry(name);
    const isFloat = e.dtype === 'F32' || e.dtype === 'F64' || e.dtype === 'F16' || e.dtype === 'BF16';
    return isFloat
      ? tf.tensor(this.readFloat32(name), e.shape, 'float32')
      : tf.tensor(this.readInt32(name), e.shape, 'int32');
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
