/*
 * sag's native kernels for the wasm backend: matrix products on a CBLAS sgemm (OpenBLAS, MKL, BLIS or Accelerate,
 * opened with dlopen at run time, so nothing is linked at build time) and the fused GroupNorm, run on tensors that
 * live in tfjs-backend-wasm's heap.
 * Every function takes the heap as a typed array and byte offsets into it, and checks that what it reads and
 * writes lies inside the heap.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sag_native.h"

sgemm_fn sgemm = NULL;
static set_threads_fn set_threads = NULL;

/*
 * im2col is done in chunks of output rows whose patch matrix stays in cache (1 MiB) between being written and being
 * multiplied (measured on a [16, 32, 32, 48] 3x3 convolution: 6.1 ms in 1 MiB chunks, 8.9 ms in one 28 MiB
 * matrix), but of at least 1024 rows: sgemm packs the whole filter again for every chunk.
 */
#define PATCH_CHUNK_FLOATS (1u << 18)
#define PATCH_CHUNK_MIN_ROWS 1024

napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

int read_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != expected) {
    throw_error(env, "sag_blas: wrong number of arguments");
    return 0;
  }
  return 1;
}

int read_heap(napi_env env, napi_value value, char **data, size_t *bytes) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value buffer;
  void *start;
  if (napi_get_typedarray_info(env, value, &type, &length, &start, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    throw_error(env, "sag_blas: the heap must be a Uint8Array");
    return 0;
  }
  *data = (char *)start;
  *bytes = length;
  return 1;
}

/* Whole numbers from JavaScript (offsets can pass 2^31 in a 4 GiB heap, so doubles). */
int read_sizes(napi_env env, const napi_value *argv, size_t count, int64_t *out) {
  for (size_t i = 0; i < count; i++) {
    double value;
    if (napi_get_value_double(env, argv[i], &value) != napi_ok || value < 0 || value != (double)(int64_t)value) {
      throw_error(env, "sag_blas: expected whole, non-negative numbers");
      return 0;
    }
    out[i] = (int64_t)value;
  }
  return 1;
}

/* A call's arguments: the heap, then `count` whole numbers; false (with a JavaScript exception) when malformed. */
int read_call(napi_env env, napi_callback_info info, size_t argc, napi_value *argv, char **heap,
                     size_t *heap_bytes, size_t count, int64_t *sizes) {
  return read_args(env, info, argc, argv) && read_heap(env, argv[0], heap, heap_bytes) &&
         read_sizes(env, argv + 1, count, sizes);
}

int inside(napi_env env, size_t heap_bytes, int64_t offset, int64_t floats) {
  if (offset % 4 != 0 || (uint64_t)offset + (uint64_t)floats * 4 > heap_bytes) {
    throw_error(env, "sag_blas: a tensor lies outside the wasm heap or is misaligned");
    return 0;
  }
  return 1;
}

static napi_value load(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, 1, argv)) return NULL;
  char path[4096];
  size_t length;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok)
    return throw_error(env, "sag_blas: the library path must be a string");
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) return throw_error(env, dlerror());
  sgemm_fn found = (sgemm_fn)dlsym(library, "cblas_sgemm");
  if (!found) {
    dlclose(library);
    return throw_error(env, "the library has no cblas_sgemm");
  }
  sgemm = found;
  set_threads = (set_threads_fn)dlsym(library, "openblas_set_num_threads");
  if (!set_threads) set_threads = (set_threads_fn)dlsym(library, "MKL_Set_Num_Threads");
  if (!set_threads) set_threads = (set_threads_fn)dlsym(library, "bli_thread_set_num_threads");
  get_config_fn config = (get_config_fn)dlsym(library, "openblas_get_config");
  napi_value result;
  napi_create_string_utf8(env, config ? config() : "", NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value set_thread_count(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t threads;
  if (!read_args(env, info, 1, argv) || !read_sizes(env, argv, 1, &threads)) return NULL;
  napi_value result;
  napi_get_boolean(env, set_threads != NULL, &result);
  if (set_threads && threads > 0) set_threads((int)threads);
  return result;
}

/*
 * matMul(heap, a, b, out, batch, m, n, k, transposeA, transposeB, aBatchStride, bBatchStride):
 * out[i] = op(a[i]) @ op(b[i]) for i < batch, out contiguous [batch, m, n]; a stride of 0 broadcasts one matrix.
 * One product per batch entry, also against a shared matrix, so that identical entries give identical results.
 */
static napi_value mat_mul(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  char *heap;
  size_t heap_bytes;
  int64_t v[11];
  if (!sgemm) return throw_error(env, "sag_blas: no BLAS library loaded");
  if (!read_call(env, info, 12, argv, &heap, &heap_bytes, 11, v)) return NULL;
  int64_t a = v[0], b = v[1], out = v[2], batch = v[3], m = v[4], n = v[5], k = v[6];
  int transpose_a = v[7] != 0, transpose_b = v[8] != 0;
  int64_t a_stride = v[9], b_stride = v[10];
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (!inside(env, heap_bytes, a, a_stride * (batch - 1) + m * k) ||
      !inside(env, heap_bytes, b, b_stride * (batch - 1) + k * n) || !inside(env, heap_bytes, out, batch * m * n))
    return NULL;
  const float *pa = (const float *)(heap + a), *pb = (const float *)(heap + b);
  float *po = (float *)(heap + out);
  if (k == 0) {
    memset(po, 0, (size_t)(batch * m * n) * sizeof(float));
    return NULL;
  }
  for (int64_t i = 0; i < batch; i++) {
    sgemm(ROW_MAJOR, transpose_a ? TRANS : NO_TRANS, transpose_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, 1.0f,
          pa + i * a_stride, transpose_a ? (int)m : (int)k, pb + i * b_stride, transpose_b ? (int)k : (int)n, 0.0f,
          po + i * m * n, (int)n);
  }
  return NULL;
}

/*
 * The patch matrix, kept between calls: a fresh malloc of this size is mmap'ed memory whose first touch costs a page
 * fault per 4 KiB (measured: im2col of a [16, 32, 32, 24] input took 10 ms into new memory, 0.8 ms into reused).
 * Calls come from the JavaScript thread only.
 */
static float *patch_buffer(size_t floats) {
  static float *buffer = NULL;
  static size_t capacity = 0;
  if (floats > capacity) {
    free(buffer);
    buffer = malloc(floats * sizeof(float));
    capacity = buffer ? floats : 0;
  }
  return buffer;
}

/*
 * conv2d(heap, x, filter, out, batch, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight,
 * filterWidth, strideHeight, strideWidth, padTop, padLeft, dilationHeight, dilationWidth): NHWC, filter
 * [fh, fw, in, out] (which is the [fh * fw * in, out] matrix of the patch product).
 */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[19];
  char *heap;
  size_t heap_bytes;
  int64_t v[18];
  if (!sgemm) return throw_error(env, "sag_blas: no BLAS library loaded");
  if (!read_call(env, info, 19, argv, &heap, &heap_bytes, 18, v)) return NULL;
  int64_t x = v[0], filter = v[1], out = v[2], batch = v[3], in_h = v[4], in_w = v[5], in_c = v[6];
  int64_t out_h = v[7], out_w = v[8], out_c = v[9], f_h = v[10], f_w = v[11], stride_h = v[12], stride_w = v[13];
  int64_t pad_top = v[14], pad_left = v[15], dil_h = v[16], dil_w = v[17];
  int64_t patch = f_h * f_w * in_c;
  if (!inside(env, heap_bytes, x, batch * in_h * in_w * in_c) || !inside(env, heap_bytes, filter, patch * out_c) ||
      !inside(env, heap_bytes, out, batch * out_h * out_w * out_c))
    return NULL;
  const float *px = (const float *)(heap + x), *pf = (const float *)(heap + filter);
  float *po = (float *)(heap + out);
  /*
   * One image at a time, in chunks that start at the image's first row: identical images in one batch then give
   * identical outputs (a BLAS library may sum a row differently depending on its position in the product).
   */
  int64_t rows = out_h * out_w;
  if (batch == 0 || rows == 0 || out_c == 0) return NULL;
  int pointwise = f_h == 1 && f_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
                  out_h == in_h && out_w == in_w;
  if (pointwise) {
    for (int64_t image = 0; image < batch; image++)
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)rows, (int)out_c, (int)in_c, 1.0f, px + image * rows * in_c,
            (int)in_c, pf, (int)out_c, 0.0f, po + image * rows * out_c, (int)out_c);
    return NULL;
  }
  int64_t chunk = patch > 0 ? PATCH_CHUNK_FLOATS / patch : rows;
  if (chunk < PATCH_CHUNK_MIN_ROWS) chunk = PATCH_CHUNK_MIN_ROWS;
  if (chunk > rows) chunk = rows;
  float *patches = patch_buffer((size_t)(chunk * patch));
  if (!patches) return throw_error(env, "sag_blas: out of memory for the convolution's patches");
  for (int64_t image = 0; image < batch; image++) {
    const float *src_image = px + image * in_h * in_w * in_c;
    float *out_image = po + image * rows * out_c;
    for (int64_t first = 0; first < rows; first += chunk) {
      int64_t count = rows - first < chunk ? rows - first : chunk;
      for (int64_t r = 0; r < count; r++) {
        int64_t oy = (first + r) / out_w, ox = (first + r) % out_w;
        float *dst = patches + r * patch;
        for (int64_t fy = 0; fy < f_h; fy++) {
          int64_t iy = oy * stride_h - pad_top + fy * dil_h;
          for (int64_t fx = 0; fx < f_w; fx++, dst += in_c) {
            int64_t ix = ox * stride_w - pad_left + fx * dil_w;
            if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w)
              memset(dst, 0, (size_t)in_c * sizeof(float));
            else
              memcpy(dst, src_image + (iy * in_w + ix) * in_c, (size_t)in_c * sizeof(float));
          }
        }
      }
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)count, (int)out_c, (int)patch, 1.0f, patches, (int)patch, pf,
            (int)out_c, 0.0f, out_image + first * out_c, (int)out_c);
    }
  }
  return NULL;
}

/* The GroupNorm loops (VECTORISED: see sag_native.h). */

/* Per-channel sums over the pixels of one image: sum[c] += x[p, c] (and of squares of x - mean when mean). */
VECTORISED static void channel_sums(const float *restrict x, int64_t pixels, int64_t channels,
                                    const double *restrict mean, double *restrict sum) {
  for (int64_t c = 0; c < channels; c++) sum[c] = 0;
  for (int64_t p = 0; p < pixels; p++) {
    const float *restrict row = x + p * channels;
    if (mean)
      for (int64_t c = 0; c < channels; c++) {
        double d = row[c] - mean[c];
        sum[c] += d * d;
      }
    else
      for (int64_t c = 0; c < channels; c++) sum[c] += row[c];
  }
}

/* The sum over each group of per-channel sums, written back to every channel of the group, divided by count. */
static void group_means(double *per_channel, int64_t channels, int64_t groups, int64_t count) {
  int64_t per_group = channels / groups;
  for (int64_t g = 0; g < groups; g++) {
    double sum = 0;
    for (int64_t j = 0; j < per_group; j++) sum += per_channel[g * per_group + j];
    for (int64_t j = 0; j < per_group; j++) per_channel[g * per_group + j] = sum / count;
  }
}

/* Mean and 1 / sqrt(var + eps) of each channel's group in one image (double sums, two passes). */
static void group_statistics(const float *x, int64_t pixels, int64_t channels, int64_t groups, double epsilon,
                             double *mean, double *rstd) {
  int64_t count = pixels * (channels / groups);
  channel_sums(x, pixels, channels, NULL, mean);
  group_means(mean, channels, groups, count);
  channel_sums(x, pixels, channels, mean, rstd);
  group_means(rstd, channels, groups, count);
  for (int64_t c = 0; c < channels; c++) rstd[c] = 1.0 / sqrt(rstd[c] + epsilon);
}

/* Per channel: xhat = x * scale + shift is the normalised input, z = gamma xhat + beta. */
struct channel_affine {
  const float *restrict scale, *restrict shift, *restrict gamma, *restrict beta;
};

/* out = act(z) over one image. */
VECTORISED static void group_norm_rows(const float *restrict x, struct channel_affine a, int silu, int64_t pixels,
                                       int64_t channels, float *restrict out) {
  for (int64_t p = 0; p < pixels; p++) {
    const float *restrict xr = x + p * channels;
    float *restrict or_ = out + p * channels;
    if (silu)
      for (int64_t c = 0; c < channels; c++) {
        float z = a.gamma[c] * (xr[c] * a.scale[c] + a.shift[c]) + a.beta[c];
        or_[c] = z / (1.0f + expf(-z));
      }
    else
      for (int64_t c = 0; c < channels; c++) or_[c] = a.gamma[c] * (xr[c] * a.scale[c] + a.shift[c]) + a.beta[c];
  }
}

/* out = g = dL/dxhat = gamma act'(z) dy over one image, and the per-channel sums of g and g xhat. */
VECTORISED static void group_norm_cotangent_rows(const float *restrict x, const float *restrict dy,
                                                 struct channel_affine a, int silu, int64_t pixels, int64_t channels,
                                                 float *restrict out, double *restrict sum_g,
                                                 double *restrict sum_g_xhat) {
  for (int64_t c = 0; c < channels; c++) sum_g[c] = sum_g_xhat[c] = 0;
  for (int64_t p = 0; p < pixels; p++) {
    const float *restrict xr = x + p * channels, *restrict dr = dy + p * channels;
    float *restrict or_ = out + p * channels;
    for (int64_t c = 0; c < channels; c++) {
      float xhat = xr[c] * a.scale[c] + a.shift[c];
      float g = dr[c] * a.gamma[c];
      if (silu) {
        float z = a.gamma[c] * xhat + a.beta[c];
        float sig = 1.0f / (1.0f + expf(-z));
        g *= sig * (1.0f + z * (1.0f - sig));
      }
      or_[c] = g;
      sum_g[c] += g;
      sum_g_xhat[c] += (double)g * xhat;
    }
  }
}

/* dx = rstd (g - mean(g) - xhat mean(g xhat)), g in out, over one image. */
VECTORISED static void group_norm_gradient_rows(const float *restrict x, struct channel_affine a,
                                                const float *restrict mean_g, const float *restrict mean_g_xhat,
                                                int64_t pixels, int64_t channels, float *restrict out) {
  for (int64_t p = 0; p < pixels; p++) {
    const float *restrict xr = x + p * channels;
    float *restrict or_ = out + p * channels;
    for (int64_t c = 0; c < channels; c++) {
      float xhat = xr[c] * a.scale[c] + a.shift[c];
      or_[c] = a.scale[c] * (or_[c] - mean_g[c] - xhat * mean_g_xhat[c]);
    }
  }
}

/*
 * groupNorm(heap, x, gamma, beta, dy, out, batch, pixels, channels, groups, silu, epsilon): channels-last GroupNorm
 * (+ SiLU), the same computation as lib/kernels/groupNormMath.ts. With dy = 0 (no cotangent) out = the forward
 * act(gamma (x - mean) rstd + beta); otherwise out = dL/dx for the cotangent at byte offset dy.
 */
static napi_value group_norm(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  char *heap;
  size_t heap_bytes;
  int64_t v[10];
  double epsilon;
  if (!read_call(env, info, 12, argv, &heap, &heap_bytes, 10, v)) return NULL;
  if (napi_get_value_double(env, argv[11], &epsilon) != napi_ok || !(epsilon >= 0))
    return throw_error(env, "sag_blas: epsilon must be a non-negative number");
  int64_t x = v[0], gamma = v[1], beta = v[2], dy = v[3], out = v[4], batch = v[5], pixels = v[6];
  int64_t channels = v[7], groups = v[8];
  int silu = v[9] != 0, gradient = dy != 0;
  if (groups == 0 || channels % groups != 0) return throw_error(env, "sag_blas: channels must divide into groups");
  int64_t size = batch * pixels * channels;
  if (!inside(env, heap_bytes, x, size) || !inside(env, heap_bytes, gamma, channels) ||
      !inside(env, heap_bytes, beta, channels) || (gradient && !inside(env, heap_bytes, dy, size)) ||
      !inside(env, heap_bytes, out, size))
    return NULL;
  if (size == 0) return NULL;
  const float *px = (const float *)(heap + x), *pdy = gradient ? (const float *)(heap + dy) : NULL;
  float *po = (float *)(heap + out);
  double *buffers = malloc((size_t)channels * 4 * sizeof(double));
  float *floats = malloc((size_t)channels * 4 * sizeof(float));
  if (!buffers || !floats) {
    free(buffers);
    free(floats);
    return throw_error(env, "sag_blas: out of memory");
  }
  double *mean = buffers, *rstd = buffers + channels, *sum_g = buffers + 2 * channels;
  double *sum_g_xhat = buffers + 3 * channels;
  float *scale = floats, *shift = floats + channels, *mean_g = floats + 2 * channels;
  float *mean_g_xhat = floats + 3 * channels;
  struct channel_affine affine = {scale, shift, (const float *)(heap + gamma), (const float *)(heap + beta)};
  int64_t count = pixels * (channels / groups);
  for (int64_t n = 0; n < batch; n++) {
    const float *xi = px + n * pixels * channels;
    float *oi = po + n * pixels * channels;
    group_statistics(xi, pixels, channels, groups, epsilon, mean, rstd);
    for (int64_t c = 0; c < channels; c++) {
      scale[c] = (float)rstd[c];
      shift[c] = (float)(-mean[c] * rstd[c]);
    }
    if (!gradient) {
      group_norm_rows(xi, affine, silu, pixels, channels, oi);
      continue;
    }
    group_norm_cotangent_rows(xi, pdy + n * pixels * channels, affine, silu, pixels, channels, oi, sum_g,
                              sum_g_xhat);
    group_means(sum_g, channels, groups, count);
    group_means(sum_g_xhat, channels, groups, count);
    for (int64_t c = 0; c < channels; c++) {
      mean_g[c] = (float)sum_g[c];
      mean_g_xhat[c] = (float)sum_g_xhat[c];
    }
    group_norm_gradient_rows(xi, affine, mean_g, mean_g_xhat, pixels, channels, oi);
  }
  free(buffers);
  free(floats);
  return NULL;
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {{"load", load}, {"setThreads", set_thread_count}, {"matMul", mat_mul}, {"conv2d", conv2d},
                 {"groupNorm", group_norm}, {"attention", attention}};
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  return exports;
}
