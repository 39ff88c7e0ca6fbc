import * as tf from '@tensorflow/tfjs';
import { formatLoss } from '../../lib/io/formatLoss';
import { captionLines, imageGrid } from '../../lib/io/imageGrid';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

test.each([
  [21922, '2.19e4'],
  [1.9e-5, '1.90e-5'],
  [0.5, '0.500'],
  [482.7, '483'],
  [-31.24, '-31.2'],
  [0, '0.00'],
])('formatLoss(%p) = %s', (value, text) => {
  expect(formatLoss(value)).toBe(text);
});

test('a caption that does not fit is split into words, never cut', () => {
  expect(captionLines('sag 0.500', 64, 1)).toEqual(['sag 0.500']);
  expect(captionLines('freedom 2.19e4', 32, 1)).toEqual(['freedom', '2.19e4']);
});

test('grid cells widen for a caption word wider than the image', async () => {
  const image = tf.zeros([8, 8, 1]) as tf.Tensor3D;
  const grid = await imageGrid(
    [
      { image, caption: 'freedom 2.19e4' },
      { image, caption: 'none 0.500' },
    ],
    2,
  );
  // 'freedom' is 7 glyphs of 4 pixels: each cell is 28 wide, plus 2-pixel borders.
  expect(grid.shape[1]).toBe(2 * (28 + 2) + 2);
  tf.dispose([image, grid]);
});
