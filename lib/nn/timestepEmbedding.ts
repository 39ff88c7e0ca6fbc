/**
 * Sinusoidal timestep embedding as diffusers computes it (flip_sin_to_cos, downscale_freq_shift): fractional
 * timesteps allowed. Returns [cos..., sin...] (flipSinToCos) or [sin..., cos...].
 */
export function sinusoidalEmbedding(
  timestep: number,
  dim: number,
  options: { flipSinToCos?: boolean; freqShift?: number; maxPeriod?: number } = {},
): Float32Array {
  const { flipSinToCos = true, freqShift = 0, maxPeriod = 10000 } = options;
  const half = Math.floor(dim / 2);
  const out = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const freq = Math.exp((-Math.log(maxPeriod) * i) / (half - freqShift));
    const arg = timestep * freq;
    out[flipSinToCos ? i : half + i] = Math.cos(arg);
    out[flipSinToCos ? half + i : i] = Math.sin(arg);
  }
  return out;
}
