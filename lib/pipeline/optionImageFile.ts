import * as tf from '@tensorflow/tfjs';
import { imageFileToTensor } from '../io/imageFile';
import { InvalidOptionError } from '../options/invalidOption';
import { ImageOptionName, OptionImageReader } from './optionImages';

/** An image file an option names, as [1, H, W, 3]; a file that cannot be read is an error of that option. */
export const readOptionImageFile: OptionImageReader = (
  option: ImageOptionName,
  file: string,
  size?: [number, number],
): tf.Tensor4D => {
  try {
    return imageFileToTensor(file, 3, size);
  } catch (e) {
    throw new InvalidOptionError(option, (e as Error).message);
  }
};
