import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendVjpGraphOrWarn } from '../graph/vjp/appendVjpGraph';
import { ConversionOptions } from '../conversionOptions';
import { GraphBuilder } from '../graph/graphBuilder';
import { checkGraph, formatHistogram } from '../graph/graphCheck';
import { WeightShardWriter } from '../graph/weightShardWriter';
import { writeAtomically } from '../outputDirectory';
import { readOnnxModel } from './onnxModel';
import { OnnxToGraph } from './onnxToGraph';
import { ArcfaceManifest, SAG_MANIFEST_VERSION } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';

/** `sag convert arcface`: an insightface-style ONNX face-recognition model -> arcface/ graph model + sag.json. */
export async function convertArcface(
  onnxPath: string,
  outDir: string,
  options: ConversionOptions,
): Promise<ArcfaceManifest> {
  const model = readOnnxModel(onnxPath);
  OnnxToGraph.assertSupported(model, onnxPath);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      `${onnxPath}: expected one image input and one embedding output, got ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
    );
  }
  const log = options.log ?? (() => undefined);
  return writeAtomically(outDir, options.overwrite ?? false, async (tmp) => {
    const dir = path.join(tmp, 'arcface');
    fs.mkdirSync(dir);
    const writer = new WeightShardWriter(dir);
    const g = new GraphBuilder(writer, options.dtype);
    new OnnxToGraph(g, model, onnxPath).build();
    const { histogram } = checkGraph(g.nodes, 'arcface');
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(g.modelJson()));
    if (options.verbose) log(`arcface: ${g.nodes.length} nodes\n${formatHistogram(histogram)}`);
    const [, c, h, w] = model.inputs[0].dims;
    if (c === null || h === null || w === null)
      throw new Error(
        `${onnxPath}: input '${model.inputs[0].name}' must have a fixed channel count and size, got [${model.inputs[0].dims.map((d) => d ?? '?').join(', ')}]`,
      );
    if (options.vjpGraphs ?? true)
      await appendVjpGraphOrWarn(
        dir,
        'arcface',
        {
          wrt: model.inputs[0].name,
          outputs: [model.outputs[0].name],
          probes: () =>
            [2, 3].map((batch) => ({ [model.inputs[0].name]: tf.randomNormal([batch, h, w, c]) })),
        },
        log,
      );
    const manifest: ArcfaceManifest = {
      format: 'sag-arcface',
      version: SAG_MANIFEST_VERSION,
      source: path.resolve(onnxPath),
      dtype: options.dtype,
      layout: 'NHWC',
      input: model.inputs[0].name,
      output: model.outputs[0].name,
      inputSize: [h, w],
      channels: c,
      embeddingDim: model.outputs[0].dims[1] ?? null,
      inputRange: [-1, 1],
      opset: model.opset,
    };
    writeSagManifest(tmp, manifest);
    return manifest;
  });
}
