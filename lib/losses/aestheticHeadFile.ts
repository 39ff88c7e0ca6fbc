import * as fs from 'fs';
import { openTensorFile } from '../io/tensorFile';

import { AestheticHead } from './aestheticHead';

/**
 * Reads an aesthetic head: JSON `{ "weight": [...], "bias": b }`, or a checkpoint (safetensors or a torch.save
 * `.pth`, e.g. LAION's `sac+logos+ava1-l14-linearMSE.pth`) holding one linear layer
 * (`weight` [1, D] or [D], optional `bias`, names optionally prefixed) or a chain of linear layers in name order
 * (`layers.0.weight`, `layers.2.weight`, ... as in LAION's MLP predictor), which is composed into one linear map.
 */
export async function readAestheticHead(file: string): Promise<AestheticHead> {
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
  const st = await openTensorFile(file);
  try {
    const weightNames = st
      .names()
      .filter((n) => n.endsWith('weight'))
      .sort(naturalOrder);
    if (weightNames.length === 0)
      throw new Error(`${file}: expected linear layers ('*weight' tensors), found none`);
    const layers = weightNames.map((name) => {
      const shape = st.entry(name).shape;
      const [outputs, inputs] = shape.length === 1 ? [1, shape[0]] : shape;
      if (shape.length > 2) throw new Error(`${file}: '${name}' has shape [${shape}], expected [out, in]`);
      const biasName = name.replace(/weight$/, 'bias');
      return {
        name,
        outputs,
        inputs,
        weight: st.readFloat32(name),
        bias: st.has(biasName) ? st.readFloat32(biasName) : new Float32Array(outputs),
      };
    });
    for (let k = 1; k < layers.length; k++) {
      if (layers[k].inputs !== layers[k - 1].outputs)
        throw new Error(
          `${file}: '${layers[k].name}' takes ${layers[k].inputs} inputs but '${layers[k - 1].name}' gives ${layers[k - 1].outputs}`,
        );
    }
    const last = layers[layers.length - 1];
    if (last.outputs !== 1)
      throw new Error(
        `${file}: the last layer '${last.name}' has ${last.outputs} outputs, expected 1 (a score)`,
      );
    return composeLinearChain(layers);
  } finally {
    st.close();
  }
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

interface LinearLayer {
  outputs: number;
  inputs: number;
  /** Row-major [outputs, inputs] (PyTorch's layout). */
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * One linear map equal to the chain of linear layers, composed in float64 from the score end: LAION's MLP
 * predictor has no activations between its layers (its ReLUs are commented out, dropout is identity at
 * inference), so it is exactly affine.
 */
function composeLinearChain(layers: LinearLayer[]): AestheticHead {
  // row = d score / d (output of layer k), starting with the last layer's single row.
  let row = Float64Array.from(layers[layers.length - 1].weight);
  let bias = layers[layers.length - 1].bias[0];
  for (let k = layers.length - 2; k >= 0; k--) {
    const { inputs, outputs, weight, bias: b } = layers[k];
    const next = new Float64Array(inputs);
    for (let o = 0; o < outputs; o++) {
      bias += row[o] * b[o];
      for (let i = 0; i < inputs; i++) next[i] += row[o] * weight[o * inputs + i];
    }
    row = next;
  }
  return { weight: Float32Array.from(row), bias, normalized: true };
}
