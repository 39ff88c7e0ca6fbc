/**
 * GroupNorm (+ SiLU) over channels-last data (NHWC, or tokens) in plain loops: the forward and the input gradient of the fused `SagGroupNorm`
 * op on the cpu and wasm backends. Sums are accumulated in float64.
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

/** Mean and 1/sqrt(var + eps) per (image, group), two passes (no cancellation from sum of squares). */
function groupStatistics(x: Float32Array, geo: GroupNormGeometry, epsilon: number) {
  const { batch, pixels, channels, groups } = geo;
  const perGroup = channels / groups;
  const count = pixels * perGroup;
  const mean = new Float64Array(batch * groups);
  const rstd = new Float64Array(batch * groups);
  const sums = new Float64Array(groups);
  for (let n = 0; n < batch; n++) {
    const image = n * pixels * channels;
    sums.fill(0);
    for (let p = 0; p < pixels; p++) {
      const row = image + p * channels;
      for (let c = 0; c < channels; c++) sums[(c / perGroup) | 0] += x[row + c];
    }
    for (let g = 0; g < groups; g++) mean[n * groups + g] = sums[g] / count;
    sums.fill(0);
    for (let p = 0; p < pixels; p++) {
      const row = image + p * channels;
      for (let c = 0; c < channels; c++) {
        const g = (c / perGroup) | 0;
        const d = x[row + c] - mean[n * groups + g];
        sums[g] += d * d;
      }
    }
    for (let g = 0; g < groups; g++) rstd[n * groups + g] = 1 / Math.sqrt(sums[g] / count + epsilon);
  }
  return { mean, rstd, count };
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
  const { batch, pixels, channels, groups } = geo;
  const perGroup = channels / groups;
  const { mean, rstd } = groupStatistics(x, geo, params.epsilon);
  // Per channel of one image: y = x * scale[c] + shift[c].
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const g = n * groups + ((c / perGroup) | 0);
      scale[c] = gamma[c] * rstd[g];
      shift[c] = beta[c] - mean[g] * scale[c];
    }
    const image = n * pixels * channels;
    for (let p = 0; p < pixels; p++) {
      const row = image + p * channels;
      for (let c = 0; c < channels; c++) {
        const z = x[row + c] * scale[c] + shift[c];
        out[row + c] = params.silu ? z / (1 + Math.exp(-z)) : z;
      }
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
  const perGroup = channels / groups;
  const { mean, rstd, count } = groupStatistics(x, geo, params.epsilon);
  const sumG = new Float64Array(groups);
  const sumGXhat = new Float64Array(groups);
  for (let n = 0; n < batch; n++) {
    const image = n * pixels * channels;
    sumG.fill(0);
    sumGXhat.fill(0);
    // First pass: g (kept in `out`) and its two group sums.
    for (let p = 0; p < pixels; p++) {
      const row = image + p * channels;
      for (let c = 0; c < channels; c++) {
        const group = (c / perGroup) | 0;
        const s = n * groups + group;
        const xhat = (x[row + c] - mean[s]) * rstd[s];
        let dz = dy[row + c];
        if (params.silu) {
          const z = gamma[c] * xhat + beta[c];
          const sig = 1 / (1 + Math.exp(-z));
          dz *= sig * (1 + z * (1 - sig));
        }
        const g = dz * gamma[c];
        out[row + c] = g;
        sumG[group] += g;
        sumGXhat[group] += g * xhat;
      }
    }
    for (let p = 0; p < pixels; p++) {
      const row = image + p * channels;
      for (let c = 0; c < channels; c++) {
        const group = (c / perGroup) | 0;
        const s = n * groups + group;
        const xhat = (x[row + c] - mean[s]) * rstd[s];
        out[row + c] = rstd[s] * (out[row + c] - sumG[group] / count - (xhat * sumGXhat[group]) / count);
      }
    }
  }
}
