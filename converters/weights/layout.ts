/** PyTorch conv weight [O, I, kh, kw] -> TensorFlow [kh, kw, I, O]. */
export function convWeightToHwio(
  data: Float32Array,
  shape: number[],
): { data: Float32Array; shape: number[] } {
  const [o, i, kh, kw] = shape;
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
  return { data: out, shape: [kh, kw, i, o] };
}
