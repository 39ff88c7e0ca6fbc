import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from '../../converters/graph/graphBuilder';
import { WeightShardWriter } from '../../converters/graph/weightShardWriter';
import { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from '../../converters/onnx/onnxModel';
import { OnnxToGraph } from '../../converters/onnx/onnxToGraph';
import { readValues } from '../../lib/backend/readTensor';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { makeTempDir } from './tempDir';

/** A tensor in ONNX's layout (NCHW for images) with its data as plain numbers. */
export interface NchwArray {
  dims: number[];
  data: number[];
}

export function onnxNode(
  opType: string,
  inputs: string[],
  output: string,
  attributes: Record<string, Omit<OnnxAttribute, 'name'>> = {},
): OnnxNode {
  return {
    name: `${opType}_${output}`,
    opType,
    inputs,
    outputs: [output],
    attributes: new Map(Object.entries(attributes).map(([name, a]) => [name, { name, ...a }])),
  };
}

export function floatTensor(name: string, dims: number[], data: number[]): OnnxTensor {
  return { name, dims, data: Float32Array.from(data), isFloat: true };
}

export function intTensor(name: string, dims: number[], data: number[]): OnnxTensor {
  return { name, dims, data, isFloat: false };
}

/** Deterministic float32 values in [-0.4, 0.4) (a Lehmer generator), so cases are the same on every run. */
export function testValues(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return Math.fround((s / 2147483647 - 0.5) * 0.8);
  });
}

/**
 * Converts a graph of ONNX nodes over one NCHW image input `x` (through OnnxToGraph, written and loaded like a
 * converted model), runs it on `x` and returns output `y` in ONNX's layout. Throws what the converter throws.
 */
export async function runOnnxNodes(
  nodes: OnnxNode[],
  initializers: OnnxTensor[],
  x: NchwArray,
): Promise<NchwArray> {
  const graph: OnnxGraph = {
    nodes,
    initializers: new Map(initializers.map((t) => [t.name, t])),
    inputs: [{ name: 'x', dims: x.dims }],
    outputs: [{ name: 'y', dims: [] }],
    opset: 13,
  };
  const dir = makeTempDir('onnx-op');
  try {
    const g = new GraphBuilder(new WeightShardWriter(dir), 'float32');
    new OnnxToGraph(g, graph, 'case.onnx').build();
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(g.modelJson()));
    const model = await ConvertedGraph.load(dir);
    try {
      const nhwc = tf.tidy(() =>
        tf.transpose(tf.tensor4d(x.data, x.dims as [number, number, number, number]), [0, 2, 3, 1]),
      );
      const [y] = model.execute({ x: nhwc }, ['y']);
      nhwc.dispose();
      const data = Array.from(await readValues(y));
      const dims = y.shape;
      y.dispose();
      return { dims, data };
    } finally {
      model.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Index of [n, c, h, w] in an NCHW array. */
export function at(dims: number[], n: number, c: number, h: number, w: number): number {
  return ((n * dims[1] + c) * dims[2] + h) * dims[3] + w;
}

/** Largest absolute difference, after checking the shapes agree. */
export function maxAbsDifference(got: NchwArray, expected: NchwArray): number {
  expect(got.dims).toEqual(expected.dims);
  return Math.max(...got.data.map((v, i) => Math.abs(v - expected.data[i])));
}
