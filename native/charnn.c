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
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#ifdef __APPLE__
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#ifdef CHARNN_DIVSUFSORT
#include <divsufsort.h>
#endif

// ---------------------------------------------------------------------------------------------------
// Arguments. Every kernel takes (heap, ...numbers/booleans/Int32Arrays); a wrong type is a bug in
// native.ts, reported as a thrown error rather than a crash.

#define MAX_ARGS 14

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

// ---------------------------------------------------------------------------------------------------
// Row-exact products. C (+)= A·B without transposes, each element summed over k in order with the same
// operations (c + a·b, fused where the machine can) whatever M is and wherever the element falls in
// a tile, so a row's result does not depend on the other rows: a sample stepped among others gives the
// text it gives alone (SampleBatch). BLAS does not promise that (OpenBLAS sums a one-row product
// differently from the same row among others), so one-step products come here. Tiles of 6 rows × 16
// columns keep C in registers while a packed panel of B's rows streams by; a last partial column block is
// computed in a zero-padded copy by the same code.

typedef float v8f __attribute__((vector_size(32)));
#define TILE_COLS 16
#define TILE_ROWS 6
/** Blocks of 16 columns of B copied into panels in one pass over its rows. */
#define PANELS 4

// Here a·b + c may fuse (one rounding) where the machine has FMA: the same expression everywhere below, so
// every element is computed alike, fused or not.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

static inline v8f load8(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

// One tile: `rows` (1..TILE_ROWS, a constant where it is inlined) rows of A against 16 columns of B (ldb apart).
static inline __attribute__((always_inline)) void tile(int rows, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, bool accumulate) {
  v8f lo[TILE_ROWS], hi[TILE_ROWS];
  for (int r = 0; r < rows; r++) {
    lo[r] = accumulate ? load8(C + (size_t)r * ldc) : (v8f){0};
    hi[r] = accumulate ? load8(C + (size_t)r * ldc + 8) : (v8f){0};
  }
  for (int k = 0; k < K; k++) {
    const v8f b0 = load8(B + (size_t)k * ldb), b1 = load8(B + (size_t)k * ldb + 8);
    for (int r = 0; r < rows; r++) {
      const float x = A[(size_t)r * lda + k];
      const v8f a = {x, x, x, x, x, x, x, x};
      lo[r] = lo[r] + a * b0;
      hi[r] = hi[r] + a * b1;
    }
  }
  for (int r = 0; r < rows; r++) {
    store8(C + (size_t)r * ldc, lo[r]);
    store8(C + (size_t)r * ldc + 8, hi[r]);
  }
}

// Columns [0, 16) of rows [0, M) of C: tiles of TILE_ROWS rows, then one tile of the rows left.
static void column_block(int M, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, bool accumulate) {
  int i = 0;
  for (; i + TILE_ROWS <= M; i += TILE_ROWS) tile(TILE_ROWS, K, A + (size_t)i * lda, lda, B, ldb, C + (size_t)i * ldc, ldc, accumulate);
  A += (size_t)i * lda;
  C += (size_t)i * ldc;
  switch (M - i) {  // each a tile of constant height, so that its accumulators stay in registers
    case 1: tile(1, K, A, lda, B, ldb, C, ldc, accumulate); break;
    case 2: tile(2, K, A, lda, B, ldb, C, ldc, accumulate); break;
    case 3: tile(3, K, A, lda, B, ldb, C, ldc, accumulate); break;
    case 4: tile(4, K, A, lda, B, ldb, C, ldc, accumulate); break;
    case 5: tile(5, K, A, lda, B, ldb, C, ldc, accumulate); break;
    default: break;
  }
}

// One row: C[0, :] (+)= Σ_k A[0, k]·B[k, :], a pass over B's rows in order, every element with the very
// operations of a tile (sampling one stream reads B once, front to back, as a matrix-vector product does).
static void row_product(int N, int K, const float *A, const float *B, int ldb, float *C, bool accumulate) {
  if (!accumulate) memset(C, 0, sizeof(float) * N);
  int k = 0;
  for (; k + 4 <= K; k += 4) {  // four of B's rows per pass over C: the same sums in the same order
    const float x0 = A[k], x1 = A[k + 1], x2 = A[k + 2], x3 = A[k + 3];
    const float *b0 = B + (size_t)k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    for (int j = 0; j < N; j++) {
      float c = C[j];
      c = c + x0 * b0[j];
      c = c + x1 * b1[j];
      c = c + x2 * b2[j];
      c = c + x3 * b3[j];
      C[j] = c;
    }
  }
  for (; k < K; k++) {
    const float x = A[k];
    const float *b = B + (size_t)k * ldb;
    for (int j = 0; j < N; j++) C[j] = C[j] + x * b[j];
  }
}

// Returns false when the panels cannot be allocated (the caller then uses the BLAS).
static bool gemm_rows(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, bool accumulate) {
  if (M == 1) {
    row_product(N, K, A, B, ldb, C, accumulate);
    return true;
  }
  const int full = N / TILE_COLS, cols = N % TILE_COLS;
  const bool inPlace = M <= 2 * TILE_ROWS;
  if (inPlace) {
    // One or two tiles of rows read each row of B once or twice: copying B would cost more than it saves
    // (1.2–1.5× slower on 2–8 rows × 1024 × 256), so its full blocks of columns are read in place.
    for (int p = 0; p < full; p++) column_block(M, K, A, lda, B + p * TILE_COLS, ldb, C + p * TILE_COLS, ldc, accumulate);
  }
  // Otherwise blocks of 16 columns of B are copied into contiguous panels first, PANELS at a time (zero-padded
  // past N): read in place, B's rows lie ldb apart, often a multiple of 4 KB, and evict each other from the
  // first-level cache before the next tile of rows reads them again; copied several blocks a row, the
  // reads are longer runs of contiguous memory.
  float *panels = malloc((size_t)(inPlace ? 1 : PANELS) * K * TILE_COLS * sizeof(float)), *c = malloc((size_t)M * TILE_COLS * sizeof(float));
  if (panels == NULL || c == NULL) {
    free(panels);
    free(c);
    return false;
  }
  for (int p0 = inPlace ? full : 0; p0 < full; p0 += PANELS) {
    const int count = full - p0 < PANELS ? full - p0 : PANELS;
    for (int k = 0; k < K; k++) {
      const float *from = B + (size_t)k * ldb + p0 * TILE_COLS;
      for (int p = 0; p < count; p++) {
        float *to = panels + ((size_t)p * K + k) * TILE_COLS;
        store8(to, load8(from + p * TILE_COLS));
        store8(to + 8, load8(from + p * TILE_COLS + 8));
      }
    }
    for (int p = 0; p < count; p++) column_block(M, K, A, lda, panels + (size_t)p * K * TILE_COLS, TILE_COLS, C + (p0 + p) * TILE_COLS, ldc, accumulate);
  }
  if (cols > 0) {
    // The last, narrower block: a zero-padded panel, computed in a padded copy of its columns of C.
    const int j = full * TILE_COLS;
    for (int k = 0; k < K; k++) for (int q = 0; q < TILE_COLS; q++) panels[(size_t)k * TILE_COLS + q] = q < cols ? B[(size_t)k * ldb + j + q] : 0.0f;
    if (accumulate) for (int i = 0; i < M; i++) memcpy(c + (size_t)i * TILE_COLS, C + (size_t)i * ldc + j, sizeof(float) * cols);
    column_block(M, K, A, lda, panels, TILE_COLS, c, TILE_COLS, accumulate);
    for (int i = 0; i < M; i++) memcpy(C + (size_t)i * ldc + j, c + (size_t)i * TILE_COLS, sizeof(float) * cols);
  }
  free(panels);
  free(c);
  return true;
}

#pragma GCC pop_options

#define KERNEL(name) static napi_value name(napi_env env, napi_callback_info info)
#define ARGS(count) \
  Args a; \
  if (!args(env, info, count, &a)) return NULL

// gemm(heap, transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, exactRows): C (+)= op(A)·op(B),
// row-major; with exactRows, a product without transposes is computed row-exact (gemm_rows), else by the BLAS.
KERNEL(gemm) {
  ARGS(14);
  const bool transA = flag(&a, 1), transB = flag(&a, 2);
  const int M = (int)num(&a, 3), N = (int)num(&a, 4), K = (int)num(&a, 5);
  const float *A = at(&a, 6), *B = at(&a, 8);
  float *C = at(&a, 10);
  const int lda = (int)num(&a, 7), ldb = (int)num(&a, 9), ldc = (int)num(&a, 11);
  const bool accumulate = flag(&a, 12), exactRows = flag(&a, 13);
  if (a.failed || M <= 0 || N <= 0) return NULL;
  if (K <= 0) {
    // An empty product (BLAS may reject the leading dimensions of an empty A or B): C is 0, or kept.
    if (!accumulate) for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
    return NULL;
  }
  if (exactRows && !transA && !transB && gemm_rows(M, N, K, A, lda, B, ldb, C, ldc, accumulate)) return NULL;
  if (M == 1 && !transB) {
    // One row: a matrix-vector product, x·B = Bᵀ·x, onto the cleared or kept row.
    if (!accumulate) memset(C, 0, sizeof(float) * N);
    cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.0f, B, ldb, A, transA ? lda : 1, 1.0f, C, 1);
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
              1.0f, A, lda, B, ldb, accumulate ? 1.0f : 0.0f, C, ldc);
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

#ifdef CHARNN_DIVSUFSORT
// suffixArray(text: Uint8Array, sa: Int32Array) → the suffix array of text into sa (of text's length), by
// libdivsufsort (src/data/suffix-array.ts calls it for texts of byte tokens; built only where the build
// script found the library, so the entry's presence says it is there). The order is plain byte order with a
// suffix that is a prefix of another first: no sentinel, so the byte 0 is a symbol like any other.
static napi_value suffixArray(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type textType, saType;
  size_t n = 0, saLength = 0;
  void *text = NULL, *sa = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_typedarray_info(env, argv[0], &textType, &n, &text, NULL, NULL) != napi_ok || textType != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[1], &saType, &saLength, &sa, NULL, NULL) != napi_ok || saType != napi_int32_array ||
      saLength != n || n > INT32_MAX) {
    napi_throw_type_error(env, NULL, "charnn native: suffixArray expects a Uint8Array and an Int32Array of its length (< 2^31)");
    return NULL;
  }
  if (n > 0 && divsufsort(text, sa, (saidx_t)n) != 0) napi_throw_error(env, NULL, "charnn native: divsufsort failed (out of memory)");
  return NULL;
}
#endif

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
#ifdef CHARNN_DIVSUFSORT
  napi_value sorter;
  napi_create_function(env, "suffixArray", NAPI_AUTO_LENGTH, suffixArray, NULL, &sorter);
  napi_set_named_property(env, exports, "suffixArray", sorter);
#endif
  return exports;
}
