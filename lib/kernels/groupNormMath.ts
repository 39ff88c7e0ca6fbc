/**
 * GroupNorm (+ SiLU) over channels-last data (NHWC, or tokens) in plain loops: the forward and the input gradient
 * of the fused `SagGroupNorm` op on the cpu and wasm backends. Sums are accumulated in float64. Loops run over
 * pixels, then groups, then the group's channels, so that the group of a channel is never computed.
 */

export interface GroupNormGeometry {
  batch: number;
  /** Pixels per image (H * W). */
  pixels: number;
  channels: number;
  groups: number;
}

export interface GroupNormParams {
  epsilon: number;
  silu: boolean;
}

/** 2^k for k in [-127, 128], at index k + 127. */
const POWERS_OF_TWO = Float64Array.from({ length: 256 }, (_, i) => 2 ** (i - 127));

/**
 * e^v within 1e-8 relative for |v| <= 87 (clamped beyond: enough for a sigmoid): 2^k e^r with |r| <= ln2/2 and
 * e^r by its Taylor polynomial of degree 7. Math.exp and Math.round cost ~10 ns each on the machines measured
 * here, 2-3x this.
 */
function fastExp(v: number): number {
  const clamped = v > 87 ? 87 : v < -87 ? -87 : v;
  const k = ((clamped * Math.LOG2E + 128.5) | 0) - 128;
  const r = clamped - k * Math.LN2;
  const p =
    1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
  return p * POWERS_OF_TWO[k + 127];
}

/** Per-channel buffers reused across the images of one call. */
interface ChannelBuffers {
  /** The mean and rstd of each channel's group. */
  mean: Float64Array;
  rstd: Float64Array;
  /** Per-channel sums, combined into group sums. */
  sumA: Float64Array;
  sumB: Float64Array;
}

function channelBuffers(channels: number): ChannelBuffers {
  return {
    mean: new Float64Array(channels),
    rstd: new Float64Array(channels),
    sumA: new Float64Array(channels),
    sumB: new Float64Array(channels),
  };
}

/** The sum over each group of per-channel sums, written back to every channel of the group, divided by count. */
function groupMeans(perChannel: Float64Array, groups: number, count: number): void {
  const perGroup = perChannel.length / groups;
  for (let g = 0, c = 0; g < groups; g++, c += perGroup) {
    let sum = 0;
    for (let j = 0; j < perGroup; j++) sum += perChannel[c + j];
    for (let j = 0; j < perGroup; j++) perChannel[c + j] = sum / count;
  }
}

/**
 * Mean and 1/sqrt(var + eps) of each group of image n, per channel (two passes: no cancellation from a sum of
 * squares). Sums run per channel along the pixels (contiguous) and are combined per group after.
 */
function groupStatistics(
  x: Float32Array,
  geo: GroupNormGeometry,
  n: number,
  epsilon: number,
  b: ChannelBuffers,
): void {
  const { pixels, channels, groups } = geo;
  const count = pixels * (channels / groups);
  const start = n * pixels * channels;
  const end = start + pixels * channels;
  const { mean, rstd } = b;
  mean.fill(0);
  for (let i = start; i < end;) for (let c = 0; c < channels; c++, i++) mean[c] += x[i];
  groupMeans(mean, groups, count);
  rstd.fill(0);
  for (let i = start; i < end;) {
    for (let c = 0; c < channels; c++, i++) {
      const d = x[i] - mean[c];
      rstd[c] += d * d;
    }
  }
  groupMeans(rstd, groups, count);
  for (let c = 0; c < channels; c++) rstd[c] = 1 / Math.sqrt(rstd[c] + epsilon);
}

/** y = act(gamma * (x - mean) * rstd + beta), written into `out`. */
export function groupNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  geo: GroupNormGeometry,
  params: GroupNormParams,
  out: Float32Array,
): void {
  const { batch, pixels, channels } = geo;
  const b = channelBuffers(channels);
  // Per channel of one image: z = x * scale[c] + shift[c].
  const scale = b.sumA;
  const shift = b.sumB;
  for (let n = 0; n < batch; n++) {
    groupStatistics(x, geo, n, params.epsilon, b);
    for (let c = 0; c < channels; c++) {
      scale[c] = gamma[c] * b.rstd[c];
      shift[c] = beta[c] - b.mean[c] * scale[c];
    }
    const start = n * pixels * channels;
    const end = start + pixels * channels;
    if (params.silu) {
      for (let i = start; i < end;) {
        for (let c = 0; c < channels; c++, i++) {
          const z = x[i] * scale[c] + shift[c];
          out[i] = z / (1 + fastExp(-z));
        }
      }
    } else {
      for (let i = start; i < end;)
        for (let c = 0; c < channels; c++, i++) out[i] = x[i] * scale[c] + shift[c];
    }
  }
}

/**
 * dL/dx of the forward above for a cotangent dy, written into `out`: with xhat = (x - mean) rstd and
 * g = dL/dxhat = gamma * act'(z) * dy, dx = rstd (g - mean(g) - xhat mean(g xhat)), means over the group.
 */
export function groupNormInputGradient(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  dy: Float32Array,
  geo: GroupNormGeometry,
  params: GroupNormParams,
  out: Float32Array,
): void {
  const { batch, pixels, channels, groups } = geo;
  const count = pixels * (channels / groups);
  const b = channelBuffers(channels);
  const { mean, rstd, sumA: meanG, sumB: meanGXhat } = b;
  for (let n = 0; n < batch; n++) {
    groupStatistics(x, geo, n, params.epsilon, b);
    meanG.fill(0);
    meanGXhat.fill(0);
    const start = n * pixels * channels;
    const end = start + pixels * channels;
    // First pass: g = dL/dxhat (kept in `out`) and its two group sums.
    if (params.silu) {
      for (let i = start; i < end;) {
        for (let c = 0; c < channels; c++, i++) {
          const xhat = (x[i] - mean[c]) * rstd[c];
          const z = gamma[c] * xhat + beta[c];
          const sig = 1 / (1 + fastExp(-z));
          const gx = dy[i] * sig * (1 + z * (1 - sig)) * gamma[c];
          out[i] = gx;
          meanG[c] += gx;
          meanGXhat[c] += gx * xhat;
        }
      }
    } else {
      for (let i = start; i < end;) {
        for (let c = 0; c < channels; c++, i++) {
          const xhat = (x[i] - mean[c]) * rstd[c];
          const gx = dy[i] * gamma[c];
          out[i] = gx;
          meanG[c] += gx;
          meanGXhat[c] += gx * xhat;
        }
      }
    }
    groupMeans(meanG, groups, count);
    groupMeans(meanGXhat, groups, count);
    for (let i = start; i < end;) {
      for (let c = 0; c < channels; c++, i++)
        out[i] = rstd[c] * (out[i] - meanG[c] - (x[i] - mean[c]) * rstd[c] * meanGXhat[c]);
    }
  }
}
