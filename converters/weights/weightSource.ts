import * as fs from 'fs';
import * as path from 'path';
import { TensorFile, openTensorFile } from '../../lib/io/tensorFile';

export interface LoadedWeight {
  data: Float32Array;
  shape: number[];
}

/**
 * Named checkpoint tensors read on demand (one at a time), with a record of which were used so that a
 * conversion can tell whether the config and the checkpoint agree.
 */
export class CheckpointWeights {
  private readonly owner = new Map<string, TensorFile>();
  private readonly used = new Set<string>();

  private constructor(
    private readonly files: TensorFile[],
    private readonly prefix = '',
  ) {
    for (const f of this.files) for (const name of f.names()) this.owner.set(name, f);
  }

  /** Tensors of files already open (closed with this). */
  static fromFiles(files: TensorFile[], prefix = ''): CheckpointWeights {
    return new CheckpointWeights(files, prefix);
  }

  /** Opens checkpoint files (safetensors or torch.save archives); their tensors are read on demand. */
  static async open(paths: string[], prefix = ''): Promise<CheckpointWeights> {
    const files: TensorFile[] = [];
    try {
      for (const p of paths) files.push(await openTensorFile(p));
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    return new CheckpointWeights(files, prefix);
  }

  /**
   * Opens the weights of a diffusers/transformers component directory: `<base>.safetensors` or the shards of
   * `<base>.safetensors.index.json`; failing those, the PyTorch `<base>.bin` or the shards of
   * `<base>.bin.index.json`.
   */
  static async openDirectory(dir: string, bases: string[], prefix = ''): Promise<CheckpointWeights> {
    for (const extension of ['.safetensors', '.bin']) {
      for (const base of bases) {
        const single = path.join(dir, `${base}${extension}`);
        if (fs.existsSync(single)) return CheckpointWeights.open([single], prefix);
        const index = path.join(dir, `${base}${extension}.index.json`);
        if (fs.existsSync(index)) {
          const map = JSON.parse(fs.readFileSync(index, 'utf8')).weight_map as Record<string, string>;
          const shards = [...new Set(Object.values(map))].map((f) => path.join(dir, f));
          return CheckpointWeights.open(shards, prefix);
        }
      }
    }
    throw new Error(
      `${dir}: no ${bases.map((b) => `${b}.safetensors`).join(', ')}, ${bases.map((b) => `${b}.bin`).join(', ')} or sharded index found`,
    );
  }

  /** A view of the same files with names prefixed (e.g. 'text_model.'). */
  withPrefix(prefix: string): CheckpointWeights {
    const view = Object.create(CheckpointWeights.prototype) as CheckpointWeights;
    Object.assign(view, this, { prefix: this.prefix + prefix });
    return view;
  }

  has(name: string): boolean {
    return this.owner.has(this.prefix + name);
  }

  shape(name: string): number[] {
    const full = this.prefix + name;
    const f = this.owner.get(full);
    if (!f) throw new Error(`${this.describe()}: missing tensor '${full}'`);
    return f.entry(full).shape;
  }

  get(name: string, expectedShape?: number[]): LoadedWeight {
    const full = this.prefix + name;
    const f = this.owner.get(full);
    if (!f)
      throw new Error(
        `${this.describe()}: missing tensor '${full}' (checkpoint does not match its config.json)`,
      );
    const shape = f.entry(full).shape;
    if (
      expectedShape &&
      (shape.length !== expectedShape.length || shape.some((d, i) => d !== expectedShape[i]))
    ) {
      throw new Error(
        `${f.path}: tensor '${full}' has shape [${shape}], expected [${expectedShape}] from the config`,
      );
    }
    this.used.add(full);
    return { data: f.readFloat32(full), shape };
  }

  /** Tensors under the prefix that no get() asked for. */
  unused(): string[] {
    return [...this.owner.keys()].filter((k) => k.startsWith(this.prefix) && !this.used.has(k));
  }

  describe(): string {
    return this.files.map((f) => f.path).join(', ');
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}
