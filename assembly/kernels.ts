// WebAssembly SIMD kernels (AssemblyScript), the fast twin of src/kernels/js.ts. Every pointer is a byte
// address in the imported memory; the TypeScript side turns heap offsets into addresses. Semantics are
// exactly those documented in src/kernels/kernels.ts, and the tests cross-check every function against
// the plain-TypeScript reference.
//
// Built by `npm run build:wasm` with --runtime stub (nothing here allocates) and -O3s: the shrink level
// selects the table-free Math.log, so the module has no data segments and a worker thread instantiating
// it over the shared memory writes nothing there. Built twice: plain SIMD (build/kernels.wasm), and with
// --enable relaxed-simd (build/kernels-relaxed.wasm), where the GEMMs' multiply-adds are fused (gemmMadd);
// the element-wise kernels are the same in both.

/** Where free memory starts, after this module's own static data: the heap is placed above it. */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------------
// GEMM, C[M×N] (+)= op(A)·op(B) with row-major C. A·B and Aᵀ·B: gemmRowB, SIMD along rows of B and C.
// A·Bᵀ: gemmNT, SIMD along K. Aᵀ·Bᵀ: gemmRowB over blocks of B transposed by packBlockTransposed.
// The caller (src/kernels/wasm.ts) cuts B into cache blocks and packs them.

/**
 * C (+)= A·B where the element A(i, k) is at a + i·aRow + k·aCol (in floats): aRow = lda, aCol = 1 for
 * A as stored, aRow = 1, aCol = lda for Aᵀ. B(k, j) is at b + k·ldb + j (B as stored).
 * Register tile: 4 rows × 8 columns = eight f32x4 accumulators, what V8 keeps in registers on x64 beside
 * B's two vectors and A's four splats (it loads all of them before the multiply-adds, so six rows, or two
 * k a turn, spill). The tile's four rows of A are first copied to aPack (4·K floats), k by k, so that the
 * loop reads them at fixed offsets from one pointer rather than computing four addresses: 1.01–1.03× on
 * the relaxed build's A·B, 1.1–1.4× on Aᵀ·B, whose A is read across rows. The plain build reads A as
 * stored (Aᵀ aside), which measured 4% faster there than the copy.
 */
export function gemmRowB(
  M: i32, N: i32, K: i32,
  a: usize, aRow: i32, aCol: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool,
  aPack: usize,
): void {
  const aRowB = <usize>aRow << 2, aColB = <usize>aCol << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  const pack = ASC_FEATURE_RELAXED_SIMD || aRow == 1;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = a + <usize>i * aRowB;
    const c0 = c + <usize>i * ldcB;
    if (pack) packRows4(K, a0, aRowB, aColB, aPack);
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      const bp = b + (<usize>j << 2), cp = c0 + (<usize>j << 2);
      if (pack) tile4x8(K, aPack, 4, 16, bp, ldbB, cp, ldcB, accumulate, true);
      else tile4x8(K, a0, aRowB, aColB, bp, ldbB, cp, ldcB, accumulate, false);
    }
    for (let r = 0; r < 4; r++) rowTail(j, N, K, a0 + <usize>r * aRowB, aColB, b, ldbB, c0 + <usize>r * ldcB, accumulate);
  }
  for (; i < M; i++) rowTail(0, N, K, a + <usize>i * aRowB, aColB, b, ldbB, c + <usize>i * ldcB, accumulate);
}

/** A(r, k) for r < 4, k < K (A(r, k) at a0 + r·aRowB + k·aColB, in bytes) to pack + 16·k + 4·r. */
function packRows4(K: i32, a0: usize, aRowB: usize, aColB: usize, pack: usize): void {
  if (aRowB == 4) {
    // Aᵀ: the four values of a k are next to each other.
    for (let k = 0; k < K; k++) v128.store(pack + (<usize>k << 4), v128.load(a0 + <usize>k * aColB));
    return;
  }
  for (let k = 0; k < K; k++) {
    const from = a0 + <usize>k * aColB, to = pack + (<usize>k << 4);
    store<f32>(to, load<f32>(from));
    store<f32>(to, load<f32>(from + aRowB), 4);
    store<f32>(to, load<f32>(from + 2 * aRowB), 8);
    store<f32>(to, load<f32>(from + 3 * aRowB), 12);
  }
}

/**
 * One register tile, 4 rows × 8 columns of C; A(r, k) at ap + r·aRowB + k·aColB (bytes), or, `packed` (a
 * constant where it is inlined), in packed rows at ap + 4·r + 16·k, read with the offsets in the loads.
 */
// @ts-ignore: decorator
@inline function tile4x8(K: i32, ap: usize, aRowB: usize, aColB: usize, bp: usize, ldbB: usize, cp: usize, ldcB: usize, accumulate: bool, packed: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(ap);
    const x1 = packed ? v128.load32_splat(ap, 4) : v128.load32_splat(ap + aRowB);
    const x2 = packed ? v128.load32_splat(ap, 8) : v128.load32_splat(ap + 2 * aRowB);
    const x3 = packed ? v128.load32_splat(ap, 12) : v128.load32_splat(ap + 3 * aRowB);
    c00 = gemmMadd(x0, b0, c00); c01 = gemmMadd(x0, b1, c01);
    c10 = gemmMadd(x1, b0, c10); c11 = gemmMadd(x1, b1, c11);
    c20 = gemmMadd(x2, b0, c20); c21 = gemmMadd(x2, b1, c21);
    c30 = gemmMadd(x3, b0, c30); c31 = gemmMadd(x3, b1, c31);
    ap += packed ? 16 : aColB;
    bp += ldbB;
  }
  store8(cp, c00, c01, accumulate);
  store8(cp + ldcB, c10, c11, accumulate);
  store8(cp + 2 * ldcB, c20, c21, accumulate);
  store8(cp + 3 * ldcB, c30, c31, accumulate);
}

/**
 * acc + x·y in four lanes, the GEMM's only arithmetic: one fused multiply-add in the module built with
 * relaxed SIMD (build/kernels-relaxed.wasm), a multiply then an add in the plain one.
 */
// @ts-ignore: decorator
@inline function gemmMadd(x: v128, y: v128, acc: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(x, y, acc) : f32x4.add(acc, f32x4.mul(x, y));
}

// @ts-ignore: decorator
@inline function store8(cp: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, v128.load(cp));
    hi = f32x4.add(hi, v128.load(cp, 16));
  }
  v128.store(cp, lo);
  v128.store(cp, hi, 16);
}

/**
 * One row of C from column j0 on: the rows left over below a multiple of four, and all of a matrix-vector
 * product (sampling has one row). Sixteen columns at a time in four independent sums, so that the adds
 * do not wait on each other, then four, then one.
 */
function rowTail(j0: i32, N: i32, K: i32, ap0: usize, aColB: usize, b: usize, ldbB: usize, cp0: usize, accumulate: bool): void {
  let j = j0;
  for (; j + 16 <= N; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let ap = ap0;
    let bp = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(ap);
      s0 = gemmMadd(x, v128.load(bp), s0);
      s1 = gemmMadd(x, v128.load(bp, 16), s1);
      s2 = gemmMadd(x, v128.load(bp, 32), s2);
      s3 = gemmMadd(x, v128.load(bp, 48), s3);
      ap += aColB;
      bp += ldbB;
    }
    const cp = cp0 + (<usize>j << 2);
    store8(cp, s0, s1, accumulate);
    store8(cp + 32, s2, s3, accumulate);
  }
  for (; j + 4 <= N; j += 4) {
    let acc = f32x4.splat(0);
    let ap = ap0;
    let bp = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      acc = gemmMadd(v128.load32_splat(ap), v128.load(bp), acc);
      ap += aColB;
      bp += ldbB;
    }
    const cp = cp0 + (<usize>j << 2);
    if (accumulate) acc = f32x4.add(acc, v128.load(cp));
    v128.store(cp, acc);
  }
  for (; j < N; j++) {
    // In lanes, so that the multiply-add is the one every other column of C gets.
    let sum = f32x4.splat(0);
    let ap = ap0;
    let bp = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      sum = gemmMadd(v128.load32_splat(ap), v128.load32_splat(bp), sum);
      ap += aColB;
      bp += ldbB;
    }
    const cp = cp0 + (<usize>j << 2);
    if (accumulate) sum = f32x4.add(sum, v128.load32_splat(cp));
    v128.store32_lane(cp, sum, 0);
  }
}

/**
 * C (+)= A·Bᵀ with A [M×K] and B [N×K] as stored: every C(i, j) is a dot product of two contiguous rows,
 * so SIMD runs along K. Register tile: 2 rows of A × 4 rows of B, eight accumulators summed at the end.
 * Its multiply-adds are gemmMadd's, fused in the relaxed build like gemmRowB's.
 */
export function gemmNT(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool,
): void {
  const ldaB = <usize>lda << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  const K4 = K & ~3;
  let i = 0;
  for (; i + 2 <= M; i += 2) {
    const a0 = a + <usize>i * ldaB, a1 = a0 + ldaB;
    const c0 = c + <usize>i * ldcB, c1 = c0 + ldcB;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = b + <usize>j * ldbB, b1 = b0 + ldbB, b2 = b1 + ldbB, b3 = b2 + ldbB;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const x0 = v128.load(a0 + o), x1 = v128.load(a1 + o);
        const y0 = v128.load(b0 + o), y1 = v128.load(b1 + o), y2 = v128.load(b2 + o), y3 = v128.load(b3 + o);
        s00 = gemmMadd(x0, y0, s00); s01 = gemmMadd(x0, y1, s01);
        s02 = gemmMadd(x0, y2, s02); s03 = gemmMadd(x0, y3, s03);
        s10 = gemmMadd(x1, y0, s10); s11 = gemmMadd(x1, y1, s11);
        s12 = gemmMadd(x1, y2, s12); s13 = gemmMadd(x1, y3, s13);
      }
      let r0 = hsum4(s00, s01, s02, s03);
      let r1 = hsum4(s10, s11, s12, s13);
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        const x0 = load<f32>(a0 + o), x1 = load<f32>(a1 + o);
        const y = f32x4(load<f32>(b0 + o), load<f32>(b1 + o), load<f32>(b2 + o), load<f32>(b3 + o));
        r0 = gemmMadd(f32x4.splat(x0), y, r0);
        r1 = gemmMadd(f32x4.splat(x1), y, r1);
      }
      const p0 = c0 + (<usize>j << 2), p1 = c1 + (<usize>j << 2);
      if (accumulate) {
        r0 = f32x4.add(r0, v128.load(p0));
        r1 = f32x4.add(r1, v128.load(p1));
      }
      v128.store(p0, r0);
      v128.store(p1, r1);
    }
    for (; j < N; j++) {
      const bj = b + <usize>j * ldbB;
      storeDot(c0 + (<usize>j << 2), dot(a0, bj, K), accumulate);
      storeDot(c1 + (<usize>j << 2), dot(a1, bj, K), accumulate);
    }
  }
  for (; i < M; i++) {
    const ai = a + <usize>i * ldaB, ci = c + <usize>i * ldcB;
    for (let j = 0; j < N; j++) storeDot(ci + (<usize>j << 2), dot(ai, b + <usize>j * ldbB, K), accumulate);
  }
}

/** The four horizontal sums of s0…s3 as one vector. */
// @ts-ignore: decorator
@inline function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  // Transpose-and-add: pairs first, then halves.
  const t0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

function dot(x: usize, y: usize, K: i32): f32 {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= K; k += 4) acc = gemmMadd(v128.load(x + (<usize>k << 2)), v128.load(y + (<usize>k << 2)), acc);
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; k < K; k++) sum += load<f32>(x + (<usize>k << 2)) * load<f32>(y + (<usize>k << 2));
  return sum;
}

// @ts-ignore: decorator
@inline function storeDot(p: usize, v: f32, accumulate: bool): void {
  store<f32>(p, accumulate ? load<f32>(p) + v : v);
}

/** Copies a kb × nb block of B (row stride ldb floats) to dst with row stride ldDst floats. */
export function packBlock(kb: i32, nb: i32, src: usize, ldb: i32, dst: usize, ldDst: i32): void {
  const srcRow = <usize>ldb << 2, dstRow = <usize>ldDst << 2;
  for (let k = 0; k < kb; k++) addRow(dst + <usize>k * dstRow, src + <usize>k * srcRow, nb, false);
}

/**
 * Copies the transpose of an nb × kb block (row stride ldb floats) to a kb × nb block with row stride
 * ldDst: a block of Bᵀ laid out as gemmRowB reads B. Only Aᵀ·Bᵀ uses it, so it is kept simple.
 */
export function packBlockTransposed(kb: i32, nb: i32, src: usize, ldb: i32, dst: usize, ldDst: i32): void {
  const srcRow = <usize>ldb << 2, dstRow = <usize>ldDst << 2;
  for (let j = 0; j < nb; j++) {
    const s = src + <usize>j * srcRow, d = dst + (<usize>j << 2);
    for (let k = 0; k < kb; k++) store<f32>(d + <usize>k * dstRow, load<f32>(s + (<usize>k << 2)));
  }
}

// ---------------------------------------------------------------------------------------------------
// Row operations.

/** dst[0..n) (+)= src[0..n), four at a time. */
function addRow(dst: usize, src: usize, n: i32, accumulate: bool): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    let v = v128.load(src + o);
    if (accumulate) v = f32x4.add(v, v128.load(dst + o));
    v128.store(dst + o, v);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, accumulate ? load<f32>(dst + o) + load<f32>(src + o) : load<f32>(src + o));
  }
}

export function fillRows(rows: i32, n: i32, bias: usize, out: usize): void {
  const rowB = <usize>n << 2;
  for (let r = 0; r < rows; r++) addRow(out + <usize>r * rowB, bias, n, false);
}

/** index points at `rows` i32 token indices (copied into this memory by the caller). */
export function gatherRows(rows: i32, n: i32, index: usize, table: usize, out: usize, accumulate: bool): void {
  const rowB = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(index + (<usize>r << 2));
    addRow(out + <usize>r * rowB, table + <usize>t * rowB, n, accumulate);
  }
}

export function scatterAddRows(rows: i32, n: i32, index: usize, src: usize, table: usize): void {
  const rowB = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(index + (<usize>r << 2));
    addRow(table + <usize>t * rowB, src + <usize>r * rowB, n, true);
  }
}

export function addColumnSums(rows: i32, n: i32, src: usize, sum: usize): void {
  const rowB = <usize>n << 2;
  for (let r = 0; r < rows; r++) addRow(sum, src + <usize>r * rowB, n, true);
}

// ---------------------------------------------------------------------------------------------------
// Elementwise kernels. Each is written once over four lanes and run with `wide` for groups of four
// floats, then without it on lane 0 alone for the last n mod 4; after inlining `wide` is a constant, so
// the branches in ld and st vanish.

// @ts-ignore: decorator
@inline function ld(p: usize, wide: bool): v128 {
  return wide ? v128.load(p) : v128.load32_splat(p);
}

// @ts-ignore: decorator
@inline function st(p: usize, v: v128, wide: bool): void {
  if (wide) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}

/** The address of float i from base. */
// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/** a·b + c, one rounding more than a fused multiply-add (relaxed SIMD needs a flag in Node 20). */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * e^x in four lanes, within 2 ulp (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a polynomial,
 * 2^n written into the exponent bits. Clamping x to [−88, 89] keeps n in [−127, 128], whose exponent
 * bits read as 0 and ∞: e^x is 0 below −87.7 (float32 results there would be subnormal) and ∞ above 88.4
 * (float32 overflows at 88.7), so sigmoid and softmax saturate exactly. A NaN stays NaN.
 */
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  // pmin/pmax return their first operand when it is NaN, and are one instruction each on x86.
  x = f32x4.pmax(f32x4.pmin(x, splat(89)), splat(-88));
  // Adding 1.5·2²³ rounds x·log2(e) to the integer n and leaves n in the low mantissa bits of `shifted`.
  const shifted = madd(x, splat(1.44269504089), splat(12582912));
  const n = f32x4.sub(shifted, splat(12582912));
  // ln2 in two parts, the first with few mantissa bits so that n·0.693359375 is exact.
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, splat(0.693359375))), f32x4.mul(n, splat(-2.12194440e-4)));
  let p = madd(splat(1.9875691500e-4), r, splat(1.3981999507e-3));
  p = madd(p, r, splat(8.3334519073e-3));
  p = madd(p, r, splat(4.1665795894e-2));
  p = madd(p, r, splat(1.6666665459e-1));
  p = madd(p, r, splat(5.0000001201e-1));
  p = f32x4.add(madd(f32x4.mul(p, r), r, r), splat(1));
  // 2^n = (n + 127) << 23; the shift drops the bits of 1.5·2²³ above n.
  const twoToN = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(p, twoToN);
}

// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  return f32x4.div(splat(1), f32x4.add(splat(1), exp4(f32x4.neg(x))));
}

/**
 * tanh in four lanes, within a few ulp: an odd polynomial for |x| < 0.625 (Cephes tanhf), where
 * 1 − 2/(e^{2|x|} + 1) would lose digits to cancellation, and that formula beyond, with |x| clamped to 10
 * where tanh is 1 in float32.
 */
// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = madd(splat(-5.70498872745e-3), z, splat(2.06390887954e-2));
  p = madd(p, z, splat(-5.37397155531e-2));
  p = madd(p, z, splat(1.33314422036e-1));
  p = madd(p, z, splat(-3.33332819422e-1));
  const small = madd(f32x4.mul(p, z), x, x);
  const ax = f32x4.abs(x);
  const e = exp4(f32x4.mul(f32x4.pmin(ax, splat(10)), splat(2)));
  const large = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1))));
  const signedLarge = v128.or(large, v128.and(x, splat(-0.0))); // the sign bit of x
  return v128.bitselect(small, signedLarge, f32x4.lt(ax, splat(0.625)));
}

/** Row b of the LSTM cell, four columns j (or one): pointers are already advanced to row and column. */
// @ts-ignore: decorator
@inline function lstmForwardLanes(g: usize, HB: usize, cPrev: usize, c: usize, tanhC: usize, h: usize, wide: bool): void {
  const ig = sigmoid4(ld(g, wide)), fg = sigmoid4(ld(g + HB, wide)), og = sigmoid4(ld(g + 2 * HB, wide));
  const cand = tanh4(ld(g + 3 * HB, wide));
  st(g, ig, wide); st(g + HB, fg, wide); st(g + 2 * HB, og, wide); st(g + 3 * HB, cand, wide);
  const cell = madd(fg, ld(cPrev, wide), f32x4.mul(ig, cand));
  const t = tanh4(cell);
  st(c, cell, wide);
  st(tanhC, t, wide);
  st(h, f32x4.mul(og, t), wide);
}

export function lstmForward(B: i32, H: i32, gates: usize, cPrev: usize, c: usize, tanhC: usize, h: usize): void {
  const HB = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const g = gates + <usize>b * 4 * HB, row = <usize>b * HB;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2, ro = row + o;
      lstmForwardLanes(g + o, HB, cPrev + ro, c + ro, tanhC + ro, h + ro, true);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2, ro = row + o;
      lstmForwardLanes(g + o, HB, cPrev + ro, c + ro, tanhC + ro, h + ro, false);
    }
  }
}

// @ts-ignore: decorator
@inline function lstmBackwardLanes(g: usize, HB: usize, cPrev: usize, tanhC: usize, dh: usize, dc: usize, dg: usize, wide: bool): void {
  const ig = ld(g, wide), fg = ld(g + HB, wide), og = ld(g + 2 * HB, wide), cand = ld(g + 3 * HB, wide);
  const t = ld(tanhC, wide), dhj = ld(dh, wide);
  // dc + dh·o·(1 − tanh²c): the gradient into c through both paths.
  const dcTotal = madd(f32x4.mul(dhj, og), f32x4.sub(splat(1), f32x4.mul(t, t)), ld(dc, wide));
  st(dg, f32x4.mul(f32x4.mul(dcTotal, cand), f32x4.mul(ig, f32x4.sub(splat(1), ig))), wide);
  st(dg + HB, f32x4.mul(f32x4.mul(dcTotal, ld(cPrev, wide)), f32x4.mul(fg, f32x4.sub(splat(1), fg))), wide);
  st(dg + 2 * HB, f32x4.mul(f32x4.mul(dhj, t), f32x4.mul(og, f32x4.sub(splat(1), og))), wide);
  st(dg + 3 * HB, f32x4.mul(f32x4.mul(dcTotal, ig), f32x4.sub(splat(1), f32x4.mul(cand, cand))), wide);
  st(dc, f32x4.mul(dcTotal, fg), wide);
}

export function lstmBackward(B: i32, H: i32, gates: usize, cPrev: usize, tanhC: usize, dh: usize, dc: usize, dGates: usize): void {
  const HB = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const g = gates + <usize>b * 4 * HB, dg = dGates + <usize>b * 4 * HB, row = <usize>b * HB;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2, ro = row + o;
      lstmBackwardLanes(g + o, HB, cPrev + ro, tanhC + ro, dh + ro, dc + ro, dg + o, true);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2, ro = row + o;
      lstmBackwardLanes(g + o, HB, cPrev + ro, tanhC + ro, dh + ro, dc + ro, dg + o, false);
    }
  }
}

// @ts-ignore: decorator
@inline function gruForwardLanes(gi: usize, hi: usize, HB: usize, hPrev: usize, h: usize, wide: bool): void {
  const r = sigmoid4(f32x4.add(ld(gi, wide), ld(hi, wide)));
  const z = sigmoid4(f32x4.add(ld(gi + HB, wide), ld(hi + HB, wide)));
  const n = tanh4(madd(r, ld(hi + 2 * HB, wide), ld(gi + 2 * HB, wide)));
  st(gi, r, wide); st(gi + HB, z, wide); st(gi + 2 * HB, n, wide);
  // (1 − z)·n + z·hPrev
  st(h, madd(z, f32x4.sub(ld(hPrev, wide), n), n), wide);
}

export function gruForward(B: i32, H: i32, gx: usize, gh: usize, hPrev: usize, h: usize): void {
  const HB = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const gi = gx + <usize>b * 3 * HB, hi = gh + <usize>b * 3 * HB, row = <usize>b * HB;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      gruForwardLanes(gi + o, hi + o, HB, hPrev + row + o, h + row + o, true);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2;
      gruForwardLanes(gi + o, hi + o, HB, hPrev + row + o, h + row + o, false);
    }
  }
}

// @ts-ignore: decorator
@inline function gruBackwardLanes(gi: usize, hi: usize, dgi: usize, dhi: usize, HB: usize, hPrev: usize, dh: usize, dhPrev: usize, wide: bool): void {
  const r = ld(gi, wide), z = ld(gi + HB, wide), n = ld(gi + 2 * HB, wide);
  const d = ld(dh, wide);
  const dnPre = f32x4.mul(f32x4.mul(d, f32x4.sub(splat(1), z)), f32x4.sub(splat(1), f32x4.mul(n, n)));
  const dzPre = f32x4.mul(f32x4.mul(d, f32x4.sub(ld(hPrev, wide), n)), f32x4.mul(z, f32x4.sub(splat(1), z)));
  const drPre = f32x4.mul(f32x4.mul(dnPre, ld(hi + 2 * HB, wide)), f32x4.mul(r, f32x4.sub(splat(1), r)));
  st(dgi, drPre, wide); st(dgi + HB, dzPre, wide); st(dgi + 2 * HB, dnPre, wide);
  st(dhi, drPre, wide); st(dhi + HB, dzPre, wide); st(dhi + 2 * HB, f32x4.mul(dnPre, r), wide);
  st(dhPrev, madd(d, z, ld(dhPrev, wide)), wide);
}

export function gruBackward(B: i32, H: i32, gx: usize, gh: usize, hPrev: usize, dh: usize, dhPrev: usize, dgx: usize, dgh: usize): void {
  const HB = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const gateRow = <usize>b * 3 * HB, row = <usize>b * HB;
    const gi = gx + gateRow, hi = gh + gateRow, dgi = dgx + gateRow, dhi = dgh + gateRow;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2, ro = row + o;
      gruBackwardLanes(gi + o, hi + o, dgi + o, dhi + o, HB, hPrev + ro, dh + ro, dhPrev + ro, true);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2, ro = row + o;
      gruBackwardLanes(gi + o, hi + o, dgi + o, dhi + o, HB, hPrev + ro, dh + ro, dhPrev + ro, false);
    }
  }
}

export function tanhForward(n: i32, h: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(at(h, i), tanh4(ld(at(h, i), true)), true);
  for (; i < n; i++) st(at(h, i), tanh4(ld(at(h, i), false)), false);
}

// @ts-ignore: decorator
@inline function tanhBackwardLanes(h: usize, dh: usize, dPre: usize, wide: bool): void {
  const v = ld(h, wide);
  st(dPre, f32x4.mul(ld(dh, wide), f32x4.sub(splat(1), f32x4.mul(v, v))), wide);
}

export function tanhBackward(n: i32, h: usize, dh: usize, dPre: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) tanhBackwardLanes(at(h, i), at(dh, i), at(dPre, i), true);
  for (; i < n; i++) tanhBackwardLanes(at(h, i), at(dh, i), at(dPre, i), false);
}

export function multiply(n: i32, x: usize, mask: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(at(x, i), f32x4.mul(ld(at(x, i), true), ld(at(mask, i), true)), true);
  for (; i < n; i++) st(at(x, i), f32x4.mul(ld(at(x, i), false), ld(at(mask, i), false)), false);
}

// ---------------------------------------------------------------------------------------------------
// Softmax cross-entropy, one row of V logits at a time.

function rowMax(row: usize, V: i32): f32 {
  let m = splat(-Infinity);
  let j = 0;
  for (; j + 4 <= V; j += 4) m = f32x4.max(m, v128.load(at(row, j)));
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; j < V; j++) max = Mathf.max(max, load<f32>(at(row, j)));
  return max;
}

/** row[j] = e^(row[j] − max); returns Σ_j row[j], summed in f64 as the reference does. */
function expShiftedRow(row: usize, V: i32, max: f32): f64 {
  const m = splat(max);
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= V; j += 4) {
    const e = exp4(f32x4.sub(v128.load(at(row, j)), m));
    v128.store(at(row, j), e);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(e));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
  }
  const both = f64x2.add(lo, hi);
  let sum = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
  for (; j < V; j++) {
    const e = exp4(f32x4.sub(ld(at(row, j), false), m));
    st(at(row, j), e, false);
    sum += <f64>f32x4.extract_lane(e, 0);
  }
  return sum;
}

function scaleRow(row: usize, V: i32, scale: f32): void {
  const s = splat(scale);
  let j = 0;
  for (; j + 4 <= V; j += 4) v128.store(at(row, j), f32x4.mul(v128.load(at(row, j)), s));
  for (; j < V; j++) store<f32>(at(row, j), load<f32>(at(row, j)) * scale);
}

/** Rows of logits become probabilities; returns the summed −log p(target) in f64. */
export function softmaxCrossEntropy(N: i32, V: i32, logits: usize, targets: usize): f64 {
  let loss: f64 = 0;
  const rowB = <usize>V << 2;
  for (let r = 0; r < N; r++) {
    const row = logits + <usize>r * rowB;
    const targetLogit = load<f32>(at(row, load<i32>(at(targets, r))));
    const max = rowMax(row, V);
    const sum = expShiftedRow(row, V, max);
    scaleRow(row, V, <f32>(1 / sum));
    // −log p from the logits (log-sum-exp), not from the float32 probability, so it stays finite.
    loss += Math.log(sum) + <f64>max - <f64>targetLogit;
  }
  return loss;
}

export function softmaxCrossEntropyBackward(N: i32, V: i32, probs: usize, targets: usize, scale: f32): void {
  const rowB = <usize>V << 2;
  for (let r = 0; r < N; r++) {
    const row = probs + <usize>r * rowB;
    scaleRow(row, V, scale);
    const t = at(row, load<i32>(at(targets, r)));
    store<f32>(t, load<f32>(t) - scale);
  }
}
