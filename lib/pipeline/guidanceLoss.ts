import * as tf from '@tensorflow/tfjs';
import type { AestheticHead } from '../losses/aestheticHead';
import { createAestheticLoss } from '../losses/aestheticLoss';
import { createClassifierLoss, createClassifierStyleLoss } from '../losses/classifierLoss';
import { createClipScoreLoss } from '../losses/clipScoreLoss';
import { createFaceIdLoss } from '../losses/faceIdLoss';
import { ImageLoss, weightedSum } from '../losses/imageLoss';
import { createObjectLoss } from '../losses/objectLoss';
import { createStyleLoss } from '../losses/styleLoss';
import { ArcfaceModel } from '../models/arcfaceModel';
import { ClipModel } from '../models/clipModel';
import { ImageClassifier } from '../models/imageClassifier';
import { GenerateOptions } from '../options/generateOptions';
import { InvalidOptionError } from '../options/invalidOption';
import { LossKind, classIndexOf } from '../options/lossOptions';
import { OptionImageReader } from './optionImages';

/** The networks the losses are built on; null where the pipeline was loaded without one. */
export interface LossModels {
  clip: ClipModel | null;
  arcface: ArcfaceModel | null;
  classifier: ImageClassifier | null;
  aestheticHead: AestheticHead | null;
  pickscore: ClipModel | null;
  hps: ClipModel | null;
}

/**
 * The weighted sum of the losses in `o.guidance`, or null when unguided. The caller disposes it. Options are
 * already validated (resolveGenerateOptions); what is checked here is that the needed models were loaded.
 */
export function buildGuidanceLoss(
  models: LossModels,
  o: GenerateOptions,
  readImage: OptionImageReader,
): ImageLoss | null {
  if (o.guidance.length === 0) return null;
  return weightedSum(
    o.guidance.map((kind) => ({
      loss: lossOfKind(models, kind, o, readImage),
      weight: o.lossWeights[kind] ?? 1,
    })),
  );
}

function lossOfKind(
  models: LossModels,
  kind: LossKind,
  o: GenerateOptions,
  optionImage: OptionImageReader,
): ImageLoss {
  const need = <T>(model: T | null, what: string): T => {
    if (!model) throw new Error(`guidance ${kind} needs ${what}`);
    return model;
  };
  switch (kind) {
    case 'style': {
      const image = optionImage('style', o.style as string);
      try {
        if (models.clip) return createStyleLoss(models.clip, image, o.styleLayer);
        return createClassifierStyleLoss(
          need(models.classifier, 'a CLIP model (--clip <dir>), or a classifier for pixel models'),
          image,
        );
      } finally {
        image.dispose();
      }
    }
    case 'clip':
      return createClipScoreLoss(
        need(models.clip, 'a CLIP model (--clip <dir>)'),
        String(o.target ?? o.prompt),
      );
    case 'object': {
      const refs = o.ref.map((file) => optionImage('ref', file));
      try {
        return createObjectLoss(need(models.clip, 'a CLIP model (--clip <dir>)'), refs);
      } finally {
        tf.dispose(refs);
      }
    }
    case 'face': {
      const face = optionImage('ref', o.ref[0]);
      try {
        return createFaceIdLoss(need(models.arcface, 'an ArcFace model (--arcface <dir>)'), face);
      } finally {
        face.dispose();
      }
    }
    case 'aesthetic':
      return createAestheticLoss(
        {
          head: models.aestheticHead
            ? {
                clip: need(models.clip, 'the CLIP model of the aesthetic head (--clip <dir>)'),
                head: models.aestheticHead,
                weight: 0.5,
              }
            : undefined,
          pickScore: models.pickscore ? { clip: models.pickscore, weight: 10 } : undefined,
          hps: models.hps ? { clip: models.hps, weight: 2 } : undefined,
        },
        o.prompt,
      );
    case 'class': {
      const target = classIndexOf(o.target);
      if (target === null) throw new InvalidOptionError('target', 'guidance class needs a class index');
      return createClassifierLoss(
        need(models.classifier, 'an image classifier (--classifier <dir>)'),
        target,
      );
    }
  }
}
