/* What sag's native kernels share: the BLAS entry point opened at run time and the argument helpers. */
#ifndef SAG_NATIVE_H
#define SAG_NATIVE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);

extern sgemm_fn sgemm;

napi_value throw_error(napi_env env, const char *message);
int read_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv);
int read_heap(napi_env env, napi_value value, char **data, size_t *bytes);
int read_sizes(napi_env env, const napi_value *argv, size_t count, int64_t *out);
/* A call's arguments: the heap, then `count` whole numbers; false (with a JavaScript exception) when malformed. */
int read_call(napi_env env, napi_callback_info info, size_t argc, napi_value *argv, char **heap, size_t *heap_bytes,
              size_t count, int64_t *sizes);
/* Whether `floats` floats at byte offset `offset` lie inside the heap (false with a JavaScript exception if not). */
int inside(napi_env env, size_t heap_bytes, int64_t offset, int64_t floats);

napi_value attention(napi_env env, napi_callback_info info);

/*
 * Loops written for the compiler to vectorise. On x86-64 glibc they are also compiled for AVX2 (chosen at load
 * time) and call glibc's vector expf (libmvec): the SiLU's exp was 90 % of the GroupNorm's time as scalar expf
 * (measured: 3.0 ms for 786k elements; 1.2 ms with SSE and 0.5 ms with AVX2 vector calls).
 */
#if defined(__GLIBC__) && defined(__x86_64__) && defined(SAG_LIBMVEC)
__attribute__((simd("notinbranch"))) float expf(float);
#define VECTORISED __attribute__((target_clones("avx2", "default")))
#else
#define VECTORISED
#endif

#endif
