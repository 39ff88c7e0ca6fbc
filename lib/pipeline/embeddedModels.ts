import * as path from 'path';
import { packageRoot } from '../packageRoot';

/** The models shipped in weights/ (trained by the scripts in weights/train). */
export function embeddedModelDir(name: 'digit-unet' | 'digit-classifier' | 'digit-evaluator'): string {
  return path.join(packageRoot(), 'weights', name);
}
