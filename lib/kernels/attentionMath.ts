import { AttentionGeometry } from './attentionOp';

/**
 * SagAttention's loops in JavaScript (the cpu backend's kernels), on flat [B, T, H D] arrays, one (image, head) and
 * one query row at a time: the [Tq, Tk] probabilities are never stored whole. Sums in double precision.
 */

/** Index of element d of head h of token t of image b in a [B, T, H D] array. */
function at(geo: AttentionGeometry, b: number, tokens: number, t: number, h: number): number {
  const width = geo.heads * geo.headDim;
  return (b * tokens + t) * width + h * geo.headDim;
}

/** p[j] = softmax_j(scale q_i . k_j) for query row i of (b, h). */
function probabilityRow(
  q: Float32Array,
  k: Float32Array,
  geo: AttentionGeometry,
  scale: number,
  b: number,
  h: number,
  i: number,
  p: Float64Array,
): void {
  const qi = at(geo, b, geo.queries, i, h);
  let max = -Infinity;
  for (let j = 0; j < geo.keys; j++) {
    const kj = at(geo, b, geo.keys, j, h);
    let dot = 0;
    for (let d = 0; d < geo.headDim; d++) dot += q[qi + d] * k[kj + d];
    p[j] = dot * scale;
    if (p[j] > max) max = p[j];
  }
  let sum = 0;
  for (let j = 0; j < geo.keys; j++) {
    p[j] = Math.exp(p[j] - max);
    sum += p[j];
  }
  for (let j = 0; j < geo.keys; j++) p[j] /= sum;
}

export function attentionForward(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  geo: AttentionGeometry,
  scale: number,
  out: Float32Array,
): void {
  const p = new Float64Array(geo.keys);
  const row = new Float64Array(geo.headDim);
  for (let b = 0; b < geo.batch; b++)
    for (let h = 0; h < geo.heads; h++)
      for (let i = 0; i < geo.queries; i++) {
        probabilityRow(q, k, geo, scale, b, h, i, p);
        row.fill(0);
        for (let j = 0; j < geo.keys; j++) {
          const vj = at(geo, b, geo.keys, j, h);
          for (let d = 0; d < geo.headDim; d++) row[d] += p[j] * v[vj + d];
        }
        const oi = at(geo, b, geo.queries, i, h);
        for (let d = 0; d < geo.headDim; d++) out[oi + d] = row[d];
      }
}

/** dq, dk, dv (each null when not wanted; dk and dv are accumulated, so they start zeroed). */
export interface AttentionGradOutputs {
  dq: Float32Array | null;
  dk: Float32Array | null;
  dv: Float32Array | null;
}

export function attentionGradient(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dy: Float32Array,
  geo: AttentionGeometry,
  scale: number,
  { dq, dk, dv }: AttentionGradOutputs,
): void {
  const p = new Float64Array(geo.keys);
  const ds = new Float64Array(geo.keys);
  for (let b = 0; b < geo.batch; b++)
    for (let h = 0; h < geo.heads; h++)
      for (let i = 0; i < geo.queries; i++) {
        probabilityRow(q, k, geo, scale, b, h, i, p);
        const qi = at(geo, b, geo.queries, i, h);
        // dP_ij = dO_i . v_j; dS_ij = P_ij (dP_ij - sum_j' P_ij' dP_ij').
        let weighted = 0;
        for (let j = 0; j < geo.keys; j++) {
          const vj = at(geo, b, geo.keys, j, h);
          let dot = 0;
          for (let d = 0; d < geo.headDim; d++) dot += dy[qi + d] * v[vj + d];
          ds[j] = dot;
          weighted += dot * p[j];
        }
        for (let j = 0; j < geo.keys; j++) {
          const kj = at(geo, b, geo.keys, j, h);
          const dsj = p[j] * (ds[j] - weighted) * scale;
          for (let d = 0; d < geo.headDim; d++) {
            if (dq) dq[qi + d] += dsj * k[kj + d];
            if (dk) dk[kj + d] += dsj * q[qi + d];
            if (dv) dv[kj + d] += p[j] * dy[qi + d];
          }
        }
      }
}
