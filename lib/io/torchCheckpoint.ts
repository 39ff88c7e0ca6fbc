import * as fs from 'fs';
import * as yauzl from 'yauzl';
import { NameRegistry, Parser } from 'pickleparser';
import { readFully } from './readFully';
import { DTYPE_BYTES, TensorDtype, decodeFloat32, decodeInt32 } from './tensorDtype';
import { checkZipFileBounds } from './zipBounds';

/** torch's storage classes as they appear in a pickle, and the element type each holds. */
const STORAGE_DTYPES: Record<string, TensorDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

class StorageClass {
  constructor(readonly dtype: TensorDtype) {}
}

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TensorDtype,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

/** An OrderedDict whose pickled state (e.g. a state dict's `_metadata`) is dropped. */
class PickledOrderedDict extends Map<unknown, unknown> {
  __setstate__(): void {}
}

export interface TorchTensorEntry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  strides: number[];
  /** Element offset into the storage. */
  offset: number;
  /** Absolute byte position of the storage in the file. */
  storageStart: number;
  storageBytes: number;
}

interface ZipEntryInfo {
  dataStart: number;
  size: number;
}

async function readZipEntries(file: string): Promise<Map<string, ZipEntryInfo>> {
  checkZipFileBounds(file);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  try {
    const entries = new Map<string, ZipEntryInfo>();
    for await (const entry of zip.eachEntry()) {
      if (entry.compressionMethod !== 0)
        throw new Error(`zip entry '${entry.fileName}' is compressed; torch.save writes stored entries only`);
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      entries.set(entry.fileName, { dataStart: fileDataStart, size: entry.uncompressedSize });
    }
    return entries;
  } finally {
    zip.close();
  }
}

function unpickleCheckpoint(pickle: Buffer): unknown {
  const names = new NameRegistry();
  names.register('collections', 'OrderedDict', () => new PickledOrderedDict());
  names.register(
    'torch._utils',
    '_rebuild_tensor_v2',
    (storage: StorageRef, offset: number, shape: number[], strides: number[]) =>
      new TensorRef(storage, offset, shape, strides),
  );
  names.register('torch._utils', '_rebuild_parameter', (tensor: TensorRef) => tensor);
  names.register('torch._utils', '_rebuild_parameter_with_state', (tensor: TensorRef) => tensor);
  for (const [storageName, dtype] of Object.entries(STORAGE_DTYPES))
    names.register('torch', storageName, function storageClass() {
      return new StorageClass(dtype);
    });
  const classOf = new Map<unknown, TensorDtype>();
  for (const [storageName, dtype] of Object.entries(STORAGE_DTYPES))
    classOf.set(names.resolve('torch', storageName), dtype);
  const parser = new Parser({
    nameResolver: names,
    unpicklingTypeOfDictionary: 'Map',
    persistentResolver: {
      resolve(pid: unknown) {
        const id = pid as unknown[];
        if (!Array.isArray(id) || id[0] !== 'storage')
          throw new Error(`unsupported persistent id ${JSON.stringify(id?.[0])}`);
        const dtype = classOf.get(id[1]);
        if (!dtype) throw new Error('tensor storage of an unsupported type (quantized or complex?)');
        return new StorageRef(String(id[2]), dtype);
      },
    },
  });
  return parser.parse(pickle);
}

/** The tensors of an unpickled checkpoint: the object itself, or its `state_dict` / `model` / `module` entry. */
function findStateDict(root: unknown): Map<string, TensorRef> {
  const asMap = (value: unknown): Map<unknown, unknown> | null => (value instanceof Map ? value : null);
  let map = asMap(root);
  for (const key of ['state_dict', 'model', 'module', 'model_state_dict']) {
    const inner = asMap(map?.get(key));
    if (inner && [...inner.values()].some((v) => v instanceof TensorRef)) map = inner;
  }
  const tensors = new Map<string, TensorRef>();
  for (const [key, value] of map ?? []) if (value instanceof TensorRef) tensors.set(String(key), value);
  return tensors;
}

/**
 * A PyTorch checkpoint written by `torch.save` (the zip format of torch >= 1.6: `pytorch_model.bin`,
 * `diffusion_pytorch_model.bin`, `.pt`, `.pth`, `.ckpt`), opened for lazy reads like a safetensors file. The
 * pickle is read by a parser that builds only plain data and tensor references: no Python code runs, and
 * unknown classes (a trainer's state next to the weights) become inert placeholders. Views (offsets,
 * non-contiguous strides, shared storages) are gathered exactly. Close it when done.
 */
export class TorchCheckpointFile {
  readonly entries: Map<string, TorchTensorEntry>;
  readonly metadata: Record<string, string> = {};
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    entries: Map<string, TorchTensorEntry>,
  ) {
    this.fd = fd;
    this.entries = entries;
  }

  static async open(file: string): Promise<TorchCheckpointFile> {
    if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
    if (startsWithPickle(file))
      throw new Error(
        `${file}: legacy torch serialization (torch < 1.6); re-save it with a current torch.save or as safetensors`,
      );
    let zipEntries: Map<string, ZipEntryInfo>;
    try {
      zipEntries = await readZipEntries(file);
    } catch (e) {
      throw new Error(`${file}: not a readable torch.save zip archive (${(e as Error).message})`);
    }
    const pickleName = [...zipEntries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pickleName)
      throw new Error(`${file}: zip archive without a '<name>/data.pkl': not a torch checkpoint`);
    const prefix = pickleName.slice(0, -'data.pkl'.length);
    const fd = fs.openSync(file, 'r');
    try {
      const info = zipEntries.get(pickleName) as ZipEntryInfo;
      let root: unknown;
      try {
        root = unpickleCheckpoint(
          readFully(fd, info.dataStart, info.size, 'truncated file while reading data.pkl'),
        );
      } catch (e) {
        throw new Error(`${file}: cannot read the checkpoint's pickle: ${(e as Error).message}`);
      }
      const tensors = findStateDict(root);
      if (tensors.size === 0)
        throw new Error(
          `${file}: no tensors found; save a state dict (torch.save(model.state_dict(), ...)), not a whole module`,
        );
      const entries = new Map<string, TorchTensorEntry>();
      for (const [name, t] of tensors) {
        const storage = zipEntries.get(`${prefix}data/${t.storage.key}`);
        if (!storage) throw new Error(`${file}: tensor '${name}' refers to missing storage ${t.storage.key}`);
        const entry: TorchTensorEntry = {
          name,
          dtype: t.storage.dtype,
          shape: t.shape.map(Number),
          strides: t.strides.map(Number),
          offset: Number(t.offset),
          storageStart: storage.dataStart,
          storageBytes: storage.size,
        };
        const [first, last] = elementSpan(entry);
        const empty = entry.shape.some((d) => d === 0);
        if (!empty && (first < 0 || (last + 1) * DTYPE_BYTES[entry.dtype] > storage.size))
          throw new Error(`${file}: tensor '${name}' reaches outside its storage (truncated file?)`);
        entries.set(name, entry);
      }
      return new TorchCheckpointFile(file, fd, entries);
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

  entry(name: string): TorchTensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named '${name}'`);
    return e;
  }

  /** The tensor's elements in row-major order, as raw little-endian bytes. */
  private readBytes(e: TorchTensorEntry): Buffer {
    if (this.fd === null) throw new Error(`${this.path}: file already closed`);
    const itemBytes = DTYPE_BYTES[e.dtype];
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (count === 0) return Buffer.alloc(0);
    const [first, last] = elementSpan(e);
    const span = readFully(
      this.fd,
      e.storageStart + first * itemBytes,
      (last - first + 1) * itemBytes,
      `truncated file while reading '${e.name}' in ${this.path}`,
    );
    if (isContiguous(e.shape, e.strides)) return span;
    const out = Buffer.alloc(count * itemBytes);
    const index = new Array(e.shape.length).fill(0);
    for (let k = 0; k < count; k++) {
      let element = e.offset - first;
      for (let d = 0; d < index.length; d++) element += index[d] * e.strides[d];
      span.copy(out, k * itemBytes, element * itemBytes, (element + 1) * itemBytes);
      for (let d = index.length - 1; d >= 0; d--) {
        if (++index[d] < e.shape[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }

  readFloat32(name: string): Float32Array {
    const e = this.entry(name);
    return decodeFloat32(this.readBytes(e), e.dtype, `${this.path}: tensor '${name}'`);
  }

  readInt32(name: string): Int32Array {
    const e = this.entry(name);
    return decodeInt32(this.readBytes(e), e.dtype, `${this.path}: tensor '${name}'`);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function startsWithPickle(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x80 && head[1] <= 5;
  } finally {
    fs.closeSync(fd);
  }
}

/** First and last storage element a view touches (an empty view touches its offset only). */
function elementSpan(e: { shape: number[]; strides: number[]; offset: number }): [number, number] {
  let low = e.offset;
  let high = e.offset;
  if (e.shape.some((d) => d === 0)) return [low, high];
  for (let d = 0; d < e.shape.length; d++) {
    const reach = (e.shape[d] - 1) * e.strides[d];
    if (reach < 0) low += reach;
    else high += reach;
  }
  return [low, high];
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}
