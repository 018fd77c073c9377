// The native kernels (src/kernels/native.ts): a Node-API addon over the same heap as the other backends.
// The matrix products go to the system's BLAS (cblas_sgemm: OpenBLAS on Linux, Accelerate on macOS); the
// element-wise kernels are plain C loops that the compiler vectorizes for the machine it builds on
// (scripts/build-native.mjs, -O3 -march=native). Semantics are exactly those documented in
// src/kernels/kernels.ts, and the tests cross-check every function against the plain-TypeScript reference.
//
// The heap is handed over once (bind) and its data pointer kept in an external value that every call
// takes first; the TypeScript side keeps the Float32Array alive beside it. Offsets are counted in floats.
// Context-aware (NAPI_MODULE_INIT), so worker threads load it too and run it over the same shared memory.
#define NAPI_VERSION 8
#include <node_api.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __APPLE__
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

// ---------------------------------------------------------------------------------------------------
// Arguments. Every kernel takes (heap, ...numbers/booleans/Int32Arrays); a wrong type is a bug in
// native.ts, reported as a thrown error rather than a crash.

#define MAX_ARGS 13

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  float *heap;
  bool failed;
} Args;

static void fail(Args *a, const char *message) {
  if (!a->failed) napi_throw_type_error(a->env, NULL, message);
  a->failed = true;
}

static bool args(napi_env env, napi_callback_info info, size_t expected, Args *a) {
  a->env = env;
  a->argc = MAX_ARGS;
  a->failed = false;
  a->heap = NULL;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok || a->argc < expected) {
    fail(a, "charnn native: too few arguments");
    return false;
  }
  void *data = NULL;
  if (napi_get_value_external(env, a->argv[0], &data) != napi_ok) fail(a, "charnn native: the first argument is not a bound heap");
  a->heap = data;
  return !a->failed;
}

static int64_t num(Args *a, size_t i) {
  int64_t v = 0;
  if (napi_get_value_int64(a->env, a->argv[i], &v) != napi_ok) fail(a, "charnn native: expected a number");
  return v;
}

static double real(Args *a, size_t i) {
  double v = 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) fail(a, "charnn native: expected a number");
  return v;
}

static bool flag(Args *a, size_t i) {
  bool v = false;
  if (napi_get_value_bool(a->env, a->argv[i], &v) != napi_ok) fail(a, "charnn native: expected a boolean");
  return v;
}

/** A float pointer into the heap from the offset in argument i. */
static float *at(Args *a, size_t i) {
  return a->heap + num(a, i);
}

/** The Int32Array in argument i from the element given by argument i + 1. */
static const int32_t *indices(Args *a, size_t i) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    fail(a, "charnn native: expected an Int32Array");
    return NULL;
  }
  return (const int32_t *)data + num(a, i + 1);
}

// ---------------------------------------------------------------------------------------------------
// Math, written so that the loops below vectorize: no branches but selects, and bit casts through unions.

typedef union { float f; int32_t i; } Bits;

/**
 * e^x within 2 ulp (Cephes expf, as in assembly/kernels.ts): x = n·ln2 + r, e^r by a polynomial, 2^n in
 * the exponent bits. Clamped to [−88, 89] so that it saturates to 0 and ∞ exactly; a NaN stays NaN.
 */
static inline float exp_f(float x) {
  x = x > 89.0f ? 89.0f : x;
  x = x < -88.0f ? -88.0f : x;
  // Adding 1.5·2²³ rounds x·log2(e) to the integer n and leaves n in the low mantissa bits.
  Bits shifted = {.f = x * 1.44269504089f + 12582912.0f};
  const float n = shifted.f - 12582912.0f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * r) * r + r + 1.0f;
  Bits twoToN = {.i = (int32_t)((uint32_t)(shifted.i + 127) << 23)};
  return p * twoToN.f;
}

static inline float sigmoid_f(float x) {
  return 1.0f / (1.0f + exp_f(-x));
}

/** tanh: an odd polynomial for |x| < 0.625 (Cephes tanhf), 1 − 2/(e^{2|x|} + 1) beyond, |x| clamped to 10. */
static inline float tanh_f(float x) {
  const float z = x * x;
  float p = -5.70498872745e-3f * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = (p * z) * x + x;
  const float ax = fabsf(x);
  const float large = 1.0f - 2.0f / (exp_f(2.0f * (ax > 10.0f ? 10.0f : ax)) + 1.0f);
  // Written so that a NaN takes the polynomial, which keeps it NaN.
  return ax >= 0.625f ? copysignf(large, x) : small;
}

// ---------------------------------------------------------------------------------------------------
// Kernels. Each N-API function reads its arguments, then runs a plain C loop.

// The cell loops read and write many rows: too many pairs for the compiler to check for overlap before
// vectorizing. Within one j they may share memory (gradients written in place), but no iteration touches
// another's elements, so they are marked as such.
#if defined(__clang__)
#define INDEPENDENT _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define INDEPENDENT _Pragma("GCC ivdep")
#else
#define INDEPENDENT
#endif

#define KERNEL(name) static napi_value name(napi_env env, napi_callback_info info)
#define ARGS(count) \
  Args a; \
  if (!args(env, info, count, &a)) return NULL

// gemm(heap, transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate): C (+)= op(A)·op(B), row-major.
KERNEL(gemm) {
  ARGS(13);
  const bool transA = flag(&a, 1), transB = flag(&a, 2);
  const int M = (int)num(&a, 3), N = (int)num(&a, 4), K = (int)num(&a, 5);
  const float *A = at(&a, 6), *B = at(&a, 8);
  float *C = at(&a, 10);
  const int lda = (int)num(&a, 7), ldb = (int)num(&a, 9), ldc = (int)num(&a, 11);
  const bool accumulate = flag(&a, 12);
  if (a.failed || M <= 0 || N <= 0) return NULL;
  if (!accumulate && (K <= 0 || M == 1)) for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
  // An empty product: BLAS may reject the leading dimensions of an empty A or B.
  if (K <= 0) return NULL;
  if (M == 1 && !transB) {
    // One row (sampling): a matrix-vector product, x·B = Bᵀ·x, onto the cleared or kept row.
    cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.0f, B, ldb, A, transA ? lda : 1, 1.0f, C, 1);
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
              1.0f, A, lda, B, ldb, accumulate || M == 1 ? 1.0f : 0.0f, C, ldc);
  return NULL;
}

// fillRows(heap, rows, n, bias, out)
KERNEL(fillRows) {
  ARGS(5);
  const int rows = (int)num(&a, 1), n = (int)num(&a, 2);
  const float *bias = at(&a, 3);
  float *out = at(&a, 4);
  if (a.failed) return NULL;
  for (int r = 0; r < rows; r++) memcpy(out + (size_t)r * n, bias, sizeof(float) * n);
  return NULL;
}

static inline void add_row(float *restrict dst, const float *restrict src, int n) {
  for (int j = 0; j < n; j++) dst[j] += src[j];
}

// gatherRows(heap, rows, n, index, indexStart, table, out, accumulate)
KERNEL(gatherRows) {
  ARGS(8);
  const int rows = (int)num(&a, 1), n = (int)num(&a, 2);
  const int32_t *index = indices(&a, 3);
  const float *table = at(&a, 5);
  float *out = at(&a, 6);
  const bool accumulate = flag(&a, 7);
  if (a.failed) return NULL;
  for (int r = 0; r < rows; r++) {
    const float *src = table + (size_t)index[r] * n;
    float *dst = out + (size_t)r * n;
    if (accumulate) add_row(dst, src, n);
    else memcpy(dst, src, sizeof(float) * n);
  }
  return NULL;
}

// scatterAddRows(heap, rows, n, index, indexStart, src, table)
KERNEL(scatterAddRows) {
  ARGS(7);
  const int rows = (int)num(&a, 1), n = (int)num(&a, 2);
  const int32_t *index = indices(&a, 3);
  const float *src = at(&a, 5);
  float *table = at(&a, 6);
  if (a.failed) return NULL;
  for (int r = 0; r < rows; r++) add_row(table + (size_t)index[r] * n, src + (size_t)r * n, n);
  return NULL;
}

// addColumnSums(heap, rows, n, src, sum)
KERNEL(addColumnSums) {
  ARGS(5);
  const int rows = (int)num(&a, 1), n = (int)num(&a, 2);
  const float *src = at(&a, 3);
  float *sum = at(&a, 4);
  if (a.failed) return NULL;
  for (int r = 0; r < rows; r++) add_row(sum, src + (size_t)r * n, n);
  return NULL;
}

// lstmForward(heap, B, H, gates, cPrev, c, tanhC, h): gates [B,4H] = [i | f | o | g], squashed in place.
KERNEL(lstmForward) {
  ARGS(8);
  const int B = (int)num(&a, 1), H = (int)num(&a, 2);
  float *gates = at(&a, 3), *c = at(&a, 5), *tanhC = at(&a, 6), *h = at(&a, 7);
  const float *cPrev = at(&a, 4);
  if (a.failed) return NULL;
  for (int b = 0; b < B; b++) {
    float *restrict ig = gates + (size_t)b * 4 * H, *restrict fg = ig + H, *restrict og = fg + H, *restrict cand = og + H;
    const size_t row = (size_t)b * H;
    INDEPENDENT
    for (int j = 0; j < H; j++) {
      const float i = sigmoid_f(ig[j]), f = sigmoid_f(fg[j]), o = sigmoid_f(og[j]), g = tanh_f(cand[j]);
      ig[j] = i, fg[j] = f, og[j] = o, cand[j] = g;
      const float cell = f * cPrev[row + j] + i * g;
      const float t = tanh_f(cell);
      c[row + j] = cell;
      tanhC[row + j] = t;
      h[row + j] = o * t;
    }
  }
  return NULL;
}

// lstmBackward(heap, B, H, gates, cPrev, tanhC, dh, dc, dGates)
KERNEL(lstmBackward) {
  ARGS(9);
  const int B = (int)num(&a, 1), H = (int)num(&a, 2);
  const float *gates = at(&a, 3), *cPrev = at(&a, 4), *tanhC = at(&a, 5), *dh = at(&a, 6);
  float *dc = at(&a, 7), *dGates = at(&a, 8);
  if (a.failed) return NULL;
  for (int b = 0; b < B; b++) {
    const float *ig = gates + (size_t)b * 4 * H, *fg = ig + H, *og = fg + H, *cand = og + H;
    float *restrict di = dGates + (size_t)b * 4 * H, *restrict df = di + H, *restrict dO = df + H, *restrict dg = dO + H;
    const size_t row = (size_t)b * H;
    INDEPENDENT
    for (int j = 0; j < H; j++) {
      const float i = ig[j], f = fg[j], o = og[j], g = cand[j], t = tanhC[row + j], d = dh[row + j];
      // The gradient into c through both paths: from the next step, and through h = o·tanh(c).
      const float dcTotal = dc[row + j] + d * o * (1.0f - t * t);
      di[j] = dcTotal * g * i * (1.0f - i);
      df[j] = dcTotal * cPrev[row + j] * f * (1.0f - f);
      dO[j] = d * t * o * (1.0f - o);
      dg[j] = dcTotal * i * (1.0f - g * g);
      dc[row + j] = dcTotal * f;
    }
  }
  return NULL;
}

// gruForward(heap, B, H, gx, gh, hPrev, h): gx [B,3H] becomes [r | z | n]; gh is kept.
KERNEL(gruForward) {
  ARGS(7);
  const int B = (int)num(&a, 1), H = (int)num(&a, 2);
  float *gx = at(&a, 3), *h = at(&a, 6);
  const float *gh = at(&a, 4), *hPrev = at(&a, 5);
  if (a.failed) return NULL;
  for (int b = 0; b < B; b++) {
    float *restrict xr = gx + (size_t)b * 3 * H, *restrict xz = xr + H, *restrict xn = xz + H;
    const float *hr = gh + (size_t)b * 3 * H, *hz = hr + H, *hn = hz + H;
    const size_t row = (size_t)b * H;
    INDEPENDENT
    for (int j = 0; j < H; j++) {
      const float r = sigmoid_f(xr[j] + hr[j]);
      const float z = sigmoid_f(xz[j] + hz[j]);
      const float n = tanh_f(xn[j] + r * hn[j]);
      xr[j] = r, xz[j] = z, xn[j] = n;
      h[row + j] = (1.0f - z) * n + z * hPrev[row + j];
    }
  }
  return NULL;
}

// gruBackward(heap, B, H, gx, gh, hPrev, dh, dhPrev, dgx, dgh)
KERNEL(gruBackward) {
  ARGS(10);
  const int B = (int)num(&a, 1), H = (int)num(&a, 2);
  const float *gx = at(&a, 3), *gh = at(&a, 4), *hPrev = at(&a, 5), *dh = at(&a, 6);
  float *dhPrev = at(&a, 7), *dgx = at(&a, 8), *dgh = at(&a, 9);
  if (a.failed) return NULL;
  for (int b = 0; b < B; b++) {
    const size_t gate = (size_t)b * 3 * H, row = (size_t)b * H;
    const float *xr = gx + gate, *xz = xr + H, *xn = xz + H, *hn = gh + gate + 2 * H;
    float *restrict dxr = dgx + gate, *restrict dxz = dxr + H, *restrict dxn = dxz + H;
    float *restrict dhr = dgh + gate, *restrict dhz = dhr + H, *restrict dhn = dhz + H;
    INDEPENDENT
    for (int j = 0; j < H; j++) {
      const float r = xr[j], z = xz[j], n = xn[j], d = dh[row + j];
      const float dnPre = d * (1.0f - z) * (1.0f - n * n);
      const float dzPre = d * (hPrev[row + j] - n) * z * (1.0f - z);
      const float drPre = dnPre * hn[j] * r * (1.0f - r);
      dxr[j] = drPre, dxz[j] = dzPre, dxn[j] = dnPre;
      dhr[j] = drPre, dhz[j] = dzPre, dhn[j] = dnPre * r;
      dhPrev[row + j] += d * z;
    }
  }
  return NULL;
}

// tanhForward(heap, n, h)
KERNEL(tanhForward) {
  ARGS(3);
  const int64_t n = num(&a, 1);
  float *h = at(&a, 2);
  if (a.failed) return NULL;
  for (int64_t i = 0; i < n; i++) h[i] = tanh_f(h[i]);
  return NULL;
}

// tanhBackward(heap, n, h, dh, dPre)
KERNEL(tanhBackward) {
  ARGS(5);
  const int64_t n = num(&a, 1);
  const float *h = at(&a, 2), *dh = at(&a, 3);
  float *dPre = at(&a, 4);
  if (a.failed) return NULL;
  for (int64_t i = 0; i < n; i++) dPre[i] = dh[i] * (1.0f - h[i] * h[i]);
  return NULL;
}

// multiply(heap, n, x, mask)
KERNEL(multiply) {
  ARGS(4);
  const int64_t n = num(&a, 1);
  float *x = at(&a, 2);
  const float *mask = at(&a, 3);
  if (a.failed) return NULL;
  for (int64_t i = 0; i < n; i++) x[i] *= mask[i];
  return NULL;
}

static inline void scale_row(float *row, int V, float scale) {
  for (int j = 0; j < V; j++) row[j] *= scale;
}

// softmaxCrossEntropy(heap, N, V, logits, targets, targetStart) → Σ −log p(target) in nats (double).
KERNEL(softmaxCrossEntropy) {
  ARGS(6);
  const int N = (int)num(&a, 1), V = (int)num(&a, 2);
  float *logits = at(&a, 3);
  const int32_t *targets = indices(&a, 4);
  if (a.failed) return NULL;
  double loss = 0;
  for (int r = 0; r < N; r++) {
    float *row = logits + (size_t)r * V;
    const float targetLogit = row[targets[r]];
    float max = -INFINITY;
    for (int j = 0; j < V; j++) max = row[j] > max ? row[j] : max;
    for (int j = 0; j < V; j++) row[j] = exp_f(row[j] - max);
    // Summed in double, as the reference does.
    double sum = 0;
    for (int j = 0; j < V; j++) sum += row[j];
    scale_row(row, V, (float)(1.0 / sum));
    // −log p from the logits (log-sum-exp), not from the float32 probability, so it stays finite.
    loss += log(sum) + (double)max - (double)targetLogit;
  }
  napi_value result;
  napi_create_double(env, loss, &result);
  return result;
}

// softmaxCrossEntropyBackward(heap, N, V, probs, targets, targetStart, scale)
KERNEL(softmaxCrossEntropyBackward) {
  ARGS(7);
  const int N = (int)num(&a, 1), V = (int)num(&a, 2);
  float *probs = at(&a, 3);
  const int32_t *targets = indices(&a, 4);
  const float scale = (float)real(&a, 6);
  if (a.failed) return NULL;
  for (int r = 0; r < N; r++) {
    float *row = probs + (size_t)r * V;
    scale_row(row, V, scale);
    row[targets[r]] -= scale;
  }
  return NULL;
}

// ---------------------------------------------------------------------------------------------------
// The heap and the BLAS.

// bind(heap: Float32Array) → an external holding its data pointer (SharedArrayBuffer or ArrayBuffer).
static napi_value bind(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "charnn native: bind expects a Float32Array");
    return NULL;
  }
  if (data == NULL && length > 0) {
    napi_throw_error(env, NULL, "charnn native: the heap's memory cannot be reached");
    return NULL;
  }
  napi_value external;
  napi_create_external(env, data, NULL, NULL, &external);
  return external;
}

// setBlasThreads(n): how many threads the BLAS may use for one product (a no-op where it cannot be set).
static napi_value setBlasThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  int32_t n = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "charnn native: setBlasThreads expects a number");
    return NULL;
  }
#ifndef __APPLE__
  openblas_set_num_threads(n);
#endif
  return NULL;
}

// blasInfo() → the BLAS in a few words: "OpenBLAS 0.3.21, Zen kernels, 1 thread" (its version, the kernels it
// chose for this processor, its threads), or "Accelerate".
static napi_value blasInfo(napi_env env, napi_callback_info info) {
  (void)info;
  char line[256];
#ifdef __APPLE__
  snprintf(line, sizeof line, "Accelerate");
#else
  // The build configuration starts "OpenBLAS <version> ": keep those two words.
  const char *config = openblas_get_config();
  int len = 0, spaces = 0;
  while (config[len] && !(config[len] == ' ' && ++spaces == 2)) len++;
  const int threads = openblas_get_num_threads();
  snprintf(line, sizeof line, "%.*s, %s kernels, %d thread%s", len, config, openblas_get_corename(), threads, threads == 1 ? "" : "s");
#endif
  napi_value result;
  napi_create_string_utf8(env, line, NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
#define EXPORT(name) {#name, NULL, name, NULL, NULL, NULL, napi_enumerable, NULL}
      EXPORT(bind), EXPORT(setBlasThreads), EXPORT(blasInfo),
      EXPORT(gemm), EXPORT(fillRows), EXPORT(gatherRows), EXPORT(scatterAddRows), EXPORT(addColumnSums),
      EXPORT(lstmForward), EXPORT(lstmBackward), EXPORT(gruForward), EXPORT(gruBackward),
      EXPORT(tanhForward), EXPORT(tanhBackward), EXPORT(multiply),
      EXPORT(softmaxCrossEntropy), EXPORT(softmaxCrossEntropyBackward),
#undef EXPORT
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
