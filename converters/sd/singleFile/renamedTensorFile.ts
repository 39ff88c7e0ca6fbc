import { TensorFile } from '../../../lib/io/tensorFile';
import { TensorDtype } from '../../../lib/io/tensorDtype';

/** Where a renamed tensor comes from: a tensor of the underlying file, optionally reshaped or cut to some rows. */
export interface TensorSource {
  name: string;
  /** Rows [start, end) of the first dimension (a fused q/k/v projection split into three). */
  rows?: [number, number];
  /** Drop trailing 1-sized dimensions (a 1x1 convolution stored where a linear layer is expected). */
  squeeze?: boolean;
}

/**
 * A checkpoint file seen under other names: each name maps to a tensor of the underlying file, possibly reshaped or
 * cut. Used to read single-file (original LDM layout) checkpoints with the converters written for diffusers names.
 * Closing it does not close the underlying file (several views share one).
 */
export class RenamedTensorFile implements TensorFile {
  constructor(
    private readonly file: TensorFile,
    private readonly map: Map<string, TensorSource>,
    /** Said after the file's path in messages ('' for none). */
    readonly label: string,
  ) {}

  get path(): string {
    return this.label ? `${this.file.path} (${this.label})` : this.file.path;
  }

  get metadata(): Record<string, string> {
    return this.file.metadata;
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  private source(name: string): TensorSource {
    const source = this.map.get(name);
    if (!source) throw new Error(`${this.path}: no tensor '${name}'`);
    return source;
  }

  entry(name: string): { shape: number[]; dtype: TensorDtype } {
    const source = this.source(name);
    const { shape, dtype } = this.file.entry(source.name);
    let out = [...shape];
    if (source.rows) out[0] = source.rows[1] - source.rows[0];
    if (source.squeeze) while (out.length > 2 && out[out.length - 1] === 1) out = out.slice(0, -1);
    return { shape: out, dtype };
  }

  private cut<T extends Float32Array | Int32Array>(source: TensorSource, data: T): T {
    if (!source.rows) return data;
    const rowSize = this.file
      .entry(source.name)
      .shape.slice(1)
      .reduce((a, b) => a * b, 1);
    return data.slice(source.rows[0] * rowSize, source.rows[1] * rowSize) as T;
  }

  readFloat32(name: string): Float32Array {
    const source = this.source(name);
    return this.cut(source, this.file.readFloat32(source.name));
  }

  readInt32(name: string): Int32Array {
    const source = this.source(name);
    return this.cut(source, this.file.readInt32(source.name));
  }

  close(): void {}
}

/** `file` under its own names, as a view whose close() leaves `file` open (its owner closes it). */
export function unclosedView(file: TensorFile): RenamedTensorFile {
  return new RenamedTensorFile(file, new Map(file.names().map((n) => [n, { name: n }])), '');
}
