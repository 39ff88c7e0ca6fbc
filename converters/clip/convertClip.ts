import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendVjpGraphOrWarn } from '../graph/vjp/appendVjpGraph';
import { ConversionOptions } from '../conversionOptions';
import { writeGraphModel } from '../graph/writeGraphModel';
import { writeAtomically } from '../outputDirectory';
import { TOKENIZER_FILES } from '../sd/convertStableDiffusion';
import { readJsonConfig } from '../sd/diffusersConfig';
import { CheckpointWeights } from '../weights/weightSource';
import { parseClipTextConfig, parseClipVisionConfig } from './clipConfig';
import { clipTextGraph, clipVisionGraph } from './clipGraph';
import { ClipManifest, SAG_MANIFEST_VERSION } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';

export const CLIP_DEFAULT_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_DEFAULT_STD = [0.26862954, 0.26130258, 0.27577711];

export interface ClipConversionOptions extends ConversionOptions {
  /** Vision hidden states to expose as outputs (default: all, 0..layers). */
  hiddenStates?: number[];
}

/** `sag convert clip`: clip_vision/ and clip_text/ graph models, tokenizer files and sag.json. */
export async function convertClip(
  srcDir: string,
  outDir: string,
  options: ClipConversionOptions,
): Promise<ClipManifest> {
  if (!fs.existsSync(srcDir) || !fs.statSync(srcDir).isDirectory())
    throw new Error(`${srcDir}: directory not found`);
  if (fs.existsSync(path.join(srcDir, 'model_index.json')) || fs.existsSync(path.join(srcDir, 'unet'))) {
    throw new Error(
      `${srcDir}: this is a diffusers Stable Diffusion directory, not a CLIP model (use 'sag convert sd')`,
    );
  }
  const raw = readJsonConfig(srcDir, 'transformers CLIPModel');
  const source = path.join(srcDir, 'config.json');
  if (
    raw.model_type !== 'clip' ||
    typeof raw.vision_config !== 'object' ||
    typeof raw.text_config !== 'object'
  ) {
    throw new Error(
      `${source}: not a transformers CLIPModel config (model_type '${String(raw.model_type)}', expected 'clip' with text_config and vision_config)`,
    );
  }
  const vision = parseClipVisionConfig(
    raw.vision_config as Record<string, unknown>,
    `${source} (vision_config)`,
  );
  const text = parseClipTextConfig(raw.text_config as Record<string, unknown>, `${source} (text_config)`);
  const hidden = options.hiddenStates ?? Array.from({ length: vision.layers + 1 }, (_, i) => i);
  for (const h of hidden) {
    if (!Number.isInteger(h) || h < 0 || h > vision.layers)
      throw new Error(`--hidden-states: ${h} is outside 0..${vision.layers}`);
  }
  const log = options.log ?? (() => undefined);
  const graphOptions = { dtype: options.dtype, verbose: options.verbose, log, fusedOps: options.fusedOps };
  const weights = await CheckpointWeights.openDirectory(srcDir, ['model', 'pytorch_model']);
  let mean = CLIP_DEFAULT_MEAN;
  let std = CLIP_DEFAULT_STD;
  const preprocessor = path.join(srcDir, 'preprocessor_config.json');
  if (fs.existsSync(preprocessor)) {
    const p = JSON.parse(fs.readFileSync(preprocessor, 'utf8')) as {
      image_mean?: number[];
      image_std?: number[];
    };
    mean = p.image_mean ?? mean;
    std = p.image_std ?? std;
  }
  try {
    const logitScale = weights.has('logit_scale') ? weights.get('logit_scale').data[0] : Math.log(1 / 0.07);
    return await writeAtomically(outDir, options.overwrite ?? false, async (tmp) => {
      log('converting clip_vision');
      writeGraphModel(path.join(tmp, 'clip_vision'), 'clip_vision', weights, graphOptions, (nn) => {
        const pixels = nn.g.input('pixel_values', 'float32', [
          null,
          vision.imageSize,
          vision.imageSize,
          vision.channels,
        ]);
        const out = clipVisionGraph(nn, 'vision_model.', vision, pixels, 'visual_projection');
        nn.g.output('image_embeds', out.imageEmbeds);
        for (const h of hidden) nn.g.output(`hidden_state_${h}`, out.hiddenStates[h]);
      });
      if (options.vjpGraphs ?? true) {
        log('writing the clip_vision VJP graph');
        await appendVjpGraphOrWarn(
          path.join(tmp, 'clip_vision'),
          'clip_vision',
          {
            wrt: 'pixel_values',
            outputs: ['image_embeds', ...hidden.map((h) => `hidden_state_${h}`)],
            probes: () =>
              [2, 3].map((batch) => ({
                pixel_values: tf.randomNormal([batch, vision.imageSize, vision.imageSize, vision.channels]),
              })),
          },
          log,
        );
      }
      log('converting clip_text');
      writeGraphModel(path.join(tmp, 'clip_text'), 'clip_text', weights, graphOptions, (nn) => {
        const ids = nn.g.input('input_ids', 'int32', [null, text.maxPositions]);
        const eosMask = nn.g.input('eos_mask', 'float32', [null, text.maxPositions]);
        const { textEmbeds } = clipTextGraph(nn, 'text_model.', text, ids, {
          name: 'text_projection',
          eosMask,
        });
        if (!textEmbeds) throw new Error('clip_text: projection missing');
        nn.g.output('text_embeds', textEmbeds);
      });
      fs.mkdirSync(path.join(tmp, 'tokenizer'));
      for (const f of TOKENIZER_FILES) {
        const src = path.join(srcDir, f);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(tmp, 'tokenizer', f));
      }
      if (!fs.existsSync(path.join(tmp, 'tokenizer', 'vocab.json')))
        log(`note: ${srcDir} has no vocab.json/merges.txt: clip_text cannot tokenize prompts`);
      const manifest: ClipManifest = {
        format: 'sag-clip',
        version: SAG_MANIFEST_VERSION,
        source: path.resolve(srcDir),
        dtype: options.dtype,
        layout: 'NHWC',
        imageSize: vision.imageSize,
        imageMean: mean,
        imageStd: std,
        projectionDim: weights.shape('visual_projection.weight')[0],
        logitScale,
        visionLayers: vision.layers,
        hiddenStates: hidden,
        textMaxLength: text.maxPositions,
        eosTokenId: text.eosTokenId,
        components: {
          clip_vision: {
            inputs: { pixel_values: [null, vision.imageSize, vision.imageSize, vision.channels] },
            outputs: ['image_embeds', ...hidden.map((h) => `hidden_state_${h}`)],
          },
          clip_text: {
            inputs: { input_ids: [null, text.maxPositions], eos_mask: [null, text.maxPositions] },
            outputs: ['text_embeds'],
          },
        },
      };
      writeSagManifest(tmp, manifest);
      return manifest;
    });
  } finally {
    weights.close();
  }
}
