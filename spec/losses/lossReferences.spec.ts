import * as tf from '@tensorflow/tfjs';
import { aestheticScores } from '../../lib/losses/aestheticHead';
import { adaptiveAveragePoolMatrix, arcfaceInput } from '../../lib/losses/faceIdLoss';
import { gramDistance, gramMatrix } from '../../lib/losses/gram';
import { sphericalDistance } from '../../lib/losses/objectLoss';
import { resizeBilinear } from '../../lib/nn/bilinearResize';
import { useTestBackend } from '../helpers/testBackend';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(useTestBackend);

function seeded(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
}

describe('Gram style distance', () => {
  const [b, n, d] = [2, 5, 3];
  const f = seeded(b * n * d, 3);
  const target = seeded(d * d, 5);
  const at = (bb: number, i: number, k: number) => f[(bb * n + i) * d + k];

  function reference(): { value: number; grad: number[] } {
    let value = 0;
    const grad = new Array(f.length).fill(0);
    for (let bb = 0; bb < b; bb++) {
      const diff: number[][] = [];
      let norm2 = 0;
      for (let p = 0; p < d; p++) {
        diff.push([]);
        for (let q = 0; q < d; q++) {
          let g = 0;
          for (let i = 0; i < n; i++) g += at(bb, i, p) * at(bb, i, q);
          diff[p].push(g - target[p * d + q]);
          norm2 += diff[p][q] ** 2;
        }
      }
      const norm = Math.sqrt(norm2);
      value += norm;
      // d||G - T|| / dF[i,k] = (2 / ||G - T||) sum_q F[i,q] (G - T)[k,q]   (G - T symmetric in the F-dependent part)
      for (let i = 0; i < n; i++)
        for (let k = 0; k < d; k++) {
          let s = 0;
          for (let q = 0; q < d; q++) s += at(bb, i, q) * (diff[k][q] + diff[q][k]);
          grad[(bb * n + i) * d + k] = s / norm;
        }
    }
    return { value, grad };
  }

  test('value and gradient equal explicit loops', () => {
    const features = tf.tensor3d(f, [b, n, d]);
    const t = tf.tensor3d(target, [1, d, d]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => gramDistance(gramMatrix(x as tf.Tensor3D), t))(
      features,
    );
    const ref = reference();
    expect(value.dataSync()[0]).toBeCloseTo(ref.value, 5);
    expect(relativeL2(grad, ref.grad)).toBeLessThan(1e-5);
  });
});

describe('spherical distance', () => {
  test('value and gradient equal 2 asin(||u - v|| / 2)^2 by hand (central differences in float64)', () => {
    const normalize = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const u = normalize(seeded(4, 7));
    const v = normalize(seeded(4, 11));
    const byHand = (a: number[]) => {
      const chord = Math.hypot(...a.map((x, i) => x - v[i]));
      return 2 * Math.asin(chord / 2) ** 2;
    };
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
      tf.sum(sphericalDistance(x as tf.Tensor2D, tf.tensor2d([v]))),
    )(tf.tensor2d([u]));
    expect(value.dataSync()[0]).toBeCloseTo(byHand(u), 6);
    const h = 1e-6;
    const numeric = u.map(
      (_, i) =>
        (byHand(u.map((x, j) => x + (i === j ? h : 0))) - byHand(u.map((x, j) => x - (i === j ? h : 0)))) /
        (2 * h),
    );
    expect(relativeL2(grad, numeric)).toBeLessThan(1e-4);
  });
});

describe('face preprocessing', () => {
  test('adaptive average pooling matches explicit windows (PyTorch AdaptiveAvgPool)', () => {
    const m = adaptiveAveragePoolMatrix(188, 112);
    const row = (i: number) => Array.from(m.subarray(i * 188, (i + 1) * 188));
    for (const i of [0, 1, 55, 111]) {
      const start = Math.floor((i * 188) / 112);
      const end = Math.ceil(((i + 1) * 188) / 112);
      row(i).forEach((w, j) => expect(w).toBeCloseTo(j >= start && j < end ? 1 / (end - start) : 0, 7));
    }
  });

  test('resize 256, crop 35:223 x 32:220, pool to 112, scale to [-1, 1]', () => {
    const image = tf.tidy(() => tf.randomUniform([1, 256, 256, 3], 0, 1, 'float32', 4)) as tf.Tensor4D;
    const out = arcfaceInput(image, [112, 112]);
    expect(out.shape).toEqual([1, 112, 112, 3]);
    const data = image.dataSync();
    const m = adaptiveAveragePoolMatrix(188, 112);
    const [oy, ox, c] = [40, 77, 2];
    let expected = 0;
    for (let y = 0; y < 188; y++)
      for (let x = 0; x < 188; x++) {
        const w = m[oy * 188 + y] * m[ox * 188 + x];
        if (w) expected += w * data[((35 + y) * 256 + (32 + x)) * 3 + c];
      }
    expect(out.dataSync()[(oy * 112 + ox) * 3 + c]).toBeCloseTo(expected * 2 - 1, 5);
  });
});

describe('aesthetic head', () => {
  test('score is w . e + b and its gradient is w', () => {
    const head = { weight: Float32Array.from([0.5, -1, 2]), bias: 0.25, normalized: true };
    const e = tf.tensor2d([[1, 2, 3]]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
      tf.sum(aestheticScores(head, x as tf.Tensor2D)),
    )(e);
    expect(value.dataSync()[0]).toBeCloseTo(0.5 - 2 + 6 + 0.25, 6);
    expect([...grad.dataSync()]).toEqual([0.5, -1, 2]);
  });
});

describe('bilinear resize', () => {
  test.each([
    [8, 20],
    [20, 8],
    [32, 224],
  ])('%i -> %i equals tf.image.resizeBilinear (half-pixel centres) and its gradient is exact', (from, to) => {
    const x = tf.randomNormal([2, from, from, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    expect(
      relativeL2(resizeBilinear(x, [to, to]), tf.image.resizeBilinear(x, [to, to], false, true)),
    ).toBeLessThan(1e-5);
    // The map is linear: its gradient against weights w is M^T w, i.e. d/dx_i of sum(w * resize(e_i)).
    const w = tf.randomNormal([2, to, to, 3], 0, 1, 'float32', 2);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(resizeBilinear(v as tf.Tensor4D, [to, to]), w)) as tf.Scalar;
    const g = tf.grad(f)(x).dataSync();
    for (const i of [0, 5, 17, x.size - 1]) {
      const exact = tf.tidy(() => f(tf.oneHot([i], x.size).reshape(x.shape).toFloat()).dataSync()[0]);
      expect(g[i]).toBeCloseTo(exact, 4);
    }
  });
});
