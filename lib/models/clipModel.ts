import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ClipTokenizer } from './clipTokenizer';
import { ConvertedGraph } from './convertedGraph';
import { ClipManifest } from './sagManifest';
import { readSagManifest } from './sagManifestFile';

export interface ClipImageOutputs {
  /** L2-normalised projected image embeddings [B, P]. */
  imageEmbeds: tf.Tensor;
  /** Requested vision hidden states [B, tokens, D], by index. */
  hiddenStates: Map<number, tf.Tensor>;
}

/** A converted CLIP directory (`sag convert clip`). Inputs to `image` are pixel values already normalised. */
export class ClipModel {
  private constructor(
    readonly dir: string,
    readonly manifest: ClipManifest,
    readonly vision: ConvertedGraph,
    readonly textTower: ConvertedGraph,
    readonly tokenizer: ClipTokenizer | null,
  ) {}

  static async load(dir: string): Promise<ClipModel> {
    const manifest = readSagManifest(dir, 'sag-clip');
    const vision = await ConvertedGraph.load(path.join(dir, 'clip_vision'));
    const text = await ConvertedGraph.load(path.join(dir, 'clip_text'));
    const tokDir = path.join(dir, 'tokenizer');
    const tokenizer = fs.existsSync(path.join(tokDir, 'vocab.json'))
      ? ClipTokenizer.fromDirectory(tokDir)
      : null;
    return new ClipModel(dir, manifest, vision, text, tokenizer);
  }

  get imageSize(): number {
    return this.manifest.imageSize;
  }
  get imageMean(): number[] {
    return this.manifest.imageMean;
  }
  get imageStd(): number[] {
    return this.manifest.imageStd;
  }
  get logitScale(): number {
    return this.manifest.logitScale;
  }
  get availableHiddenStates(): number[] {
    return this.manifest.hiddenStates;
  }

  /** Normalised pixel values [B, S, S, 3] -> embeddings and the requested hidden states (caller owns all). */
  image(pixels: tf.Tensor, hiddenStates: number[] = []): ClipImageOutputs {
    for (const h of hiddenStates) {
      if (!this.availableHiddenStates.includes(h))
        throw new Error(
          `${this.dir}: hidden state ${h} was not converted (have ${this.availableHiddenStates.join(', ')})`,
        );
    }
    const outputs = this.vision.executeDifferentiable({ pixel_values: pixels }, [
      'image_embeds',
      ...hiddenStates.map((h) => `hidden_state_${h}`),
    ]);
    return {
      imageEmbeds: outputs[0],
      hiddenStates: new Map(hiddenStates.map((h, i) => [h, outputs[i + 1]])),
    };
  }

  /** Token ids [B, T] -> L2-normalised projected text embeddings [B, P], pooled at each row's end token. */
  text(ids: tf.Tensor): tf.Tensor {
    const eosId = this.manifest.eosTokenId;
    return tf.tidy(() => {
      // transformers pools at the first eos_token_id (position 0 if absent), or at argmax(ids) for legacy
      // configs (eos_token_id = 2). Computed on the device (no read-back); not with tf.argMax, whose choice among
      // ties differs between backends (webgpu does not return the first).
      const ids32 = tf.cast(ids, 'int32');
      const target = eosId === 2 ? tf.max(ids32, 1, true) : tf.scalar(eosId, 'int32');
      const index = firstIndexWhere(tf.equal(ids32, target));
      const mask = tf.cast(tf.oneHot(index, ids.shape[1] as number), 'float32');
      return this.textTower.execute({ input_ids: ids, eos_mask: mask }, ['text_embeds'])[0];
    });
  }

  dispose(): void {
    this.vision.dispose();
    this.textTower.dispose();
  }
}

/** Per row of a [B, T] boolean tensor, the first column where it is true, or 0 if none (int32 [B]). */
function firstIndexWhere(condition: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const length = condition.shape[1] as number;
    const columns = tf.broadcastTo(tf.range(0, length, 1, 'int32'), condition.shape);
    const first = tf.min(tf.where(condition, columns, tf.fill(condition.shape, length, 'int32')), 1);
    return tf.where(tf.equal(first, length), tf.zerosLike(first), first) as tf.Tensor1D;
  });
}
