import * as tf from '@tensorflow/tfjs';
import { ClipModel } from '../models/clipModel';
import { AestheticHead, aestheticScores } from './aestheticHead';
import { clipImageEmbedding, clipScores, clipTextEmbedding } from './clipScoreLoss';
import { ImageLoss, makeImageLoss } from './imageLoss';

export interface AestheticTerms {
  /** LAION aesthetic head on `clip`'s image embeddings. */
  head?: { clip: ClipModel; head: AestheticHead; weight: number };
  /** PickScore: a CLIP (H/14 fine-tune) image-text score against the prompt. */
  pickScore?: { clip: ClipModel; weight: number };
  /** HPSv2: likewise. */
  hps?: { clip: ClipModel; weight: number };
}

/**
 * Aesthetic guidance: -(w_pick * PickScore + w_hps * HPSv2 + w_aes * aesthetic), each over the batch; any subset.
 * Defaults from docs/ALGORITHM.md section 5: 10, 2, 0.5. Image-text scores use `prompt`.
 */
export function createAestheticLoss(terms: AestheticTerms, prompt: string): ImageLoss {
  const held: tf.Tensor[] = [];
  const parts: ((image: tf.Tensor4D) => tf.Tensor)[] = [];
  if (terms.head) {
    const { clip, head, weight } = terms.head;
    parts.push((image) => tf.mul(tf.sum(aestheticScores(head, clipImageEmbedding(clip, image))), weight));
  }
  for (const term of [terms.pickScore, terms.hps]) {
    if (!term) continue;
    const text = clipTextEmbedding(term.clip, prompt);
    held.push(text);
    parts.push((image) => tf.mul(tf.sum(clipScores(term.clip, image, text)), term.weight / 100));
  }
  if (parts.length === 0) throw new Error('aesthetic guidance needs --aesthetic-head, --pickscore or --hps');
  return makeImageLoss(
    'aesthetic',
    (image) => tf.neg(tf.addN(parts.map((p) => p(image)))) as tf.Scalar,
    held,
  );
}
