import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile } from '../io/safetensors';

/** A linear aesthetic head score = w . e + b on CLIP image embeddings (LAION's linear predictor). */
export interface AestheticHead {
  weight: Float32Array;
  bias: number;
  /** Whether the head expects L2-normalised embeddings (LAION's predictor does). */
  normalized: boolean;
}

/**
 * Reads a linear head from safetensors (a [1, D] or [D] weight and optional bias; names `weight`/`bias`,
 * optionally prefixed, e.g. `layers.0.weight`) or JSON `{ "weight": [...], "bias": b }`.
 */
export function readAestheticHead(file: string): AestheticHead {
  if (!fs.existsSync(file)) throw new Error(`${file}: aesthetic head not found`);
  if (file.endsWith('.json')) {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      weight?: number[] | number[][];
      bias?: number | number[];
    };
    const weight = (raw.weight ?? []).flat() as number[];
    if (weight.length === 0) throw new Error(`${file}: expected {"weight": [...], "bias": b}`);
    const bias = Array.isArray(raw.bias) ? raw.bias[0] : (raw.bias ?? 0);
    return { weight: Float32Array.from(weight), bias, normalized: true };
  }
  const st = SafetensorsFile.open(file);
  try {
    const names = st.names();
    const weights = names.filter((n) => n.endsWith('weight'));
    if (weights.length !== 1) {
      throw new Error(
        `${file}: expected a single linear layer (one '*weight' tensor), found ${weights.length}: only linear heads are supported`,
      );
    }
    const weightName = weights[0];
    const shape = st.entry(weightName).shape;
    if (!(shape.length === 1 || (shape.length === 2 && shape[0] === 1)))
      throw new Error(`${file}: '${weightName}' has shape [${shape}], expected [1, D]`);
    const biasName = weightName.replace(/weight$/, 'bias');
    return {
      weight: st.readFloat32(weightName),
      bias: st.has(biasName) ? st.readFloat32(biasName)[0] : 0,
      normalized: true,
    };
  } finally {
    st.close();
  }
}

/** Scores [B] of embeddings [B, D]. */
export function aestheticScores(head: AestheticHead, embeddings: tf.Tensor2D): tf.Tensor1D {
  if (embeddings.shape[1] !== head.weight.length) {
    throw new Error(
      `aesthetic head expects ${head.weight.length}-d CLIP embeddings, the CLIP model gives ${embeddings.shape[1]}`,
    );
  }
  return tf.tidy(
    () => tf.add(tf.sum(tf.mul(embeddings, tf.tensor1d(head.weight)), 1), head.bias) as tf.Tensor1D,
  );
}
