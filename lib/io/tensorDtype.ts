import * as os from 'os';
import { bfloat16ToFloat32, float16ToFloat32 } from './halfFloat';

/** Element types of checkpoint tensors, in safetensors' names. */
export type TensorDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<TensorDtype, number> = {
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

const LITTLE_ENDIAN = os.endianness() === 'LE';

export function isFloatDtype(dtype: TensorDtype): boolean {
  return dtype === 'F32' || dtype === 'F64' || dtype === 'F16' || dtype === 'BF16';
}

/** Little-endian floating-point bytes -> float32 values; `what` names the tensor in errors. */
export function decodeFloat32(buf: Buffer, dtype: TensorDtype, what: string): Float32Array {
  const n = buf.length / DTYPE_BYTES[dtype];
  if (dtype === 'F32' && LITTLE_ENDIAN && buf.byteOffset % 4 === 0)
    return new Float32Array(buf.buffer, buf.byteOffset, n);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
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
      throw new Error(`${what} is ${dtype}, expected a floating-point dtype`);
  }
  return out;
}

/** Little-endian integer bytes -> int32 values (I64 values must fit); `what` names the tensor in errors. */
export function decodeInt32(buf: Buffer, dtype: TensorDtype, what: string): Int32Array {
  const n = buf.length / DTYPE_BYTES[dtype];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
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
        throw new Error(`${what} is ${dtype}, expected an integer dtype`);
    }
  }
  return out;
}
