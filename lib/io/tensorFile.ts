import * as fs from 'fs';
import { SafetensorsFile } from './safetensors';
import { TensorDtype } from './tensorDtype';
import { TorchCheckpointFile } from './torchCheckpoint';

/** A checkpoint file opened for lazy, per-tensor reads: safetensors or a torch.save archive. */
export interface TensorFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  names(): string[];
  has(name: string): boolean;
  entry(name: string): { shape: number[]; dtype: TensorDtype };
  readFloat32(name: string): Float32Array;
  readInt32(name: string): Int32Array;
  close(): void;
}

/** Opens a safetensors file or a PyTorch checkpoint (zip archive written by torch.save), told apart by content. */
export async function openTensorFile(file: string): Promise<TensorFile> {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4);
  const n = fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const isZip = n === 4 && head.toString('latin1') === 'PK\x03\x04';
  const isPickle = n >= 1 && head[0] === 0x80;
  return isZip || isPickle ? TorchCheckpointFile.open(file) : SafetensorsFile.open(file);
}
