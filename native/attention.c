/*
 * sag's fused multi-head attention on tokens [B, T, heads * head_dim] in the wasm heap, the same computation as
 * lib/kernels/attentionMath.ts: per (image, head) and per chunk of query rows, the scores S = scale Q K^T as one
 * sgemm (head h is a column block of the token matrix: a leading dimension of heads * head_dim, no transposes), a
 * softmax over each row, then the products with V. The [Tq, Tk] probabilities exist one chunk at a time and never
 * outlive the call: the gradient recomputes them.
 */
#include <math.h>
#include <stdlib.h>

#include "sag_native.h"

/* Query rows per chunk: their scores fill at most 1 MiB (at least one row). */
#define SCORE_CHUNK_FLOATS (1u << 18)

/*
 * Reductions over a row in LANES partial results, which the compiler keeps in one vector register (a single running
 * sum or max is a dependency chain it may not reorder without -ffast-math).
 */
#define LANES 16

VECTORISED static float row_max(const float *restrict row, int64_t keys) {
  float partial[LANES];
  for (int l = 0; l < LANES; l++) partial[l] = -INFINITY;
  int64_t j = 0;
  for (; j + LANES <= keys; j += LANES)
    for (int l = 0; l < LANES; l++) partial[l] = row[j + l] > partial[l] ? row[j + l] : partial[l];
  float max = -INFINITY;
  for (; j < keys; j++) max = row[j] > max ? row[j] : max;
  for (int l = 0; l < LANES; l++) max = partial[l] > max ? partial[l] : max;
  return max;
}

/* sum_j a[j] b[j] (b = NULL: sum_j a[j]). */
VECTORISED static float row_dot(const float *restrict a, const float *restrict b, int64_t keys) {
  float partial[LANES] = {0};
  int64_t j = 0;
  if (b)
    for (; j + LANES <= keys; j += LANES)
      for (int l = 0; l < LANES; l++) partial[l] += a[j + l] * b[j + l];
  else
    for (; j + LANES <= keys; j += LANES)
      for (int l = 0; l < LANES; l++) partial[l] += a[j + l];
  float sum = 0;
  for (; j < keys; j++) sum += b ? a[j] * b[j] : a[j];
  for (int l = 0; l < LANES; l++) sum += partial[l];
  return sum;
}

VECTORISED static void exp_shifted(float *restrict row, int64_t keys, float shift) {
  for (int64_t j = 0; j < keys; j++) row[j] = expf(row[j] - shift);
}

VECTORISED static void scale_row(float *restrict row, int64_t keys, float factor) {
  for (int64_t j = 0; j < keys; j++) row[j] *= factor;
}

/* Each row of s [rows, keys] replaced by its softmax. */
static void softmax_rows(float *restrict s, int64_t rows, int64_t keys) {
  for (int64_t i = 0; i < rows; i++) {
    float *row = s + i * keys;
    exp_shifted(row, keys, row_max(row, keys));
    scale_row(row, keys, 1.0f / row_dot(row, NULL, keys));
  }
}

/* P (dP - weighted) elementwise, into dp. */
VECTORISED static void softmax_gradient_row(const float *restrict p, float *restrict dp, int64_t keys,
                                            float weighted) {
  for (int64_t j = 0; j < keys; j++) dp[j] = p[j] * (dp[j] - weighted);
}

/* dP [rows, keys] replaced by dS = P (dP - rowsum(dP P)). */
static void softmax_gradient_rows(const float *restrict p, float *restrict dp, int64_t rows, int64_t keys) {
  for (int64_t i = 0; i < rows; i++)
    softmax_gradient_row(p + i * keys, dp + i * keys, keys, row_dot(p + i * keys, dp + i * keys, keys));
}

/* One (image, head): its matrices are column blocks of width head_dim with row stride `width`. */
struct head {
  const float *q, *k, *v, *dy;
  float *out, *dk, *dv;
  int64_t queries, keys, head_dim, width;
  float scale;
};

static void head_forward(const struct head *h, float *scores, int64_t chunk) {
  int w = (int)h->width, keys = (int)h->keys, d = (int)h->head_dim;
  for (int64_t r0 = 0; r0 < h->queries; r0 += chunk) {
    int rows = (int)(h->queries - r0 < chunk ? h->queries - r0 : chunk);
    sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, keys, d, h->scale, h->q + r0 * w, w, h->k, w, 0.0f, scores, keys);
    softmax_rows(scores, rows, keys);
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, d, keys, 1.0f, scores, keys, h->v, w, 0.0f, h->out + r0 * w, w);
  }
}

/* dq into h->out (when not NULL); dk and dv (when not NULL) summed over the chunks. */
static void head_gradient(const struct head *h, float *p, float *ds, int64_t chunk) {
  int w = (int)h->width, keys = (int)h->keys, d = (int)h->head_dim;
  for (int64_t r0 = 0; r0 < h->queries; r0 += chunk) {
    int rows = (int)(h->queries - r0 < chunk ? h->queries - r0 : chunk);
    float beta = r0 == 0 ? 0.0f : 1.0f;
    const float *q = h->q + r0 * w, *dy = h->dy + r0 * w;
    sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, keys, d, h->scale, q, w, h->k, w, 0.0f, p, keys);
    softmax_rows(p, rows, keys);
    if (h->dv) sgemm(ROW_MAJOR, TRANS, NO_TRANS, keys, d, rows, 1.0f, p, keys, dy, w, beta, h->dv, w);
    if (!h->out && !h->dk) continue;
    sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, keys, d, 1.0f, dy, w, h->v, w, 0.0f, ds, keys);
    softmax_gradient_rows(p, ds, rows, keys);
    if (h->out)
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, d, keys, h->scale, ds, keys, h->k, w, 0.0f, h->out + r0 * w, w);
    if (h->dk) sgemm(ROW_MAJOR, TRANS, NO_TRANS, keys, d, rows, h->scale, ds, keys, q, w, beta, h->dk, w);
  }
}

/*
 * attention(heap, q, k, v, dy, out, dk, dv, batch, queries, keys, heads, headDim, scale): with dy = 0, out = the
 * forward softmax(scale q k^T) v per head; otherwise out = dL/dq, dk = dL/dk, dv = dL/dv for the cotangent dy, each
 * skipped where its offset is 0.
 */
napi_value attention(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  char *heap;
  size_t heap_bytes;
  int64_t a[12];
  double scale;
  if (!sgemm) return throw_error(env, "sag_blas: no BLAS library loaded");
  if (!read_call(env, info, 14, argv, &heap, &heap_bytes, 12, a)) return NULL;
  if (napi_get_value_double(env, argv[13], &scale) != napi_ok || !isfinite(scale))
    return throw_error(env, "sag_blas: the attention scale must be a finite number");
  int64_t q = a[0], k = a[1], v = a[2], dy = a[3], out = a[4], dk = a[5], dv = a[6];
  int64_t batch = a[7], queries = a[8], keys = a[9], heads = a[10], head_dim = a[11];
  int gradient = dy != 0;
  int64_t width = heads * head_dim, query_floats = batch * queries * width, key_floats = batch * keys * width;
  if (!inside(env, heap_bytes, q, query_floats) || !inside(env, heap_bytes, k, key_floats) ||
      !inside(env, heap_bytes, v, key_floats) || (gradient && !inside(env, heap_bytes, dy, query_floats)) ||
      (out && !inside(env, heap_bytes, out, query_floats)) || (dk && !inside(env, heap_bytes, dk, key_floats)) ||
      (dv && !inside(env, heap_bytes, dv, key_floats)))
    return NULL;
  if (query_floats == 0 || head_dim == 0) return NULL;
  if (keys == 0) return throw_error(env, "sag_blas: attention over zero keys");
  int64_t chunk = SCORE_CHUNK_FLOATS / keys > 0 ? SCORE_CHUNK_FLOATS / keys : 1;
  if (chunk > queries) chunk = queries;
  float *buffer = malloc((size_t)(chunk * keys) * (gradient ? 2 : 1) * sizeof(float));
  if (!buffer) return throw_error(env, "sag_blas: out of memory");
#define AT(offset, tokens) ((offset) ? (float *)(heap + (offset)) + (b * (tokens)) * width + h * head_dim : NULL)
  for (int64_t b = 0; b < batch; b++)
    for (int64_t h = 0; h < heads; h++) {
      struct head one = {AT(q, queries), AT(k, keys), AT(v, keys),      AT(dy, queries),
                         AT(out, queries), AT(dk, keys), AT(dv, keys), queries,
                         keys,             head_dim,     width,        (float)scale};
      if (gradient)
        head_gradient(&one, buffer, buffer + chunk * keys, chunk);
      else
        head_forward(&one, buffer, chunk);
    }
#undef AT
  free(buffer);
  return NULL;
}
