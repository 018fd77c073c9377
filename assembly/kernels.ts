// WebAssembly SIMD kernels (AssemblyScript), the fast twin of src/kernels/js.ts. Every pointer is a byte
// address in the imported memory; the TypeScript side turns heap offsets into addresses. Semantics are
// exactly those documented in src/kernels/kernels.ts, and the tests cross-check every function against
// the plain-TypeScript reference.

/** Where free memory starts, after this module's own static data: the heap is placed above it. */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------------
// GEMM. C[M×N] (+)= A'·B' with row-major C; SIMD runs along N, four floats per lane group.

/**
 * C (+)= A·B where the element A(i, k) is at a + i·aRow + k·aCol (in floats): aRow = lda, aCol = 1 for
 * A as stored, aRow = 1, aCol = lda for Aᵀ. B(k, j) is at b + k·ldb + j (B as stored).
 * Register tile: 4 rows × 8 columns = eight f32x4 accumulators.
 */
export function gemmRowB(
  M: i32, N: i32, K: i32,
  a: usize, aRow: i32, aCol: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool,
): void {
  const aRowB = <usize>aRow << 2, aColB = <usize>aCol << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = a + <usize>i * aRowB;
    const c0 = c + <usize>i * ldcB;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let ap = a0;
      let bp = b + (<usize>j << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        const x0 = v128.load32_splat(ap);
        const x1 = v128.load32_splat(ap + aRowB);
        const x2 = v128.load32_splat(ap + 2 * aRowB);
        const x3 = v128.load32_splat(ap + 3 * aRowB);
        c00 = f32x4.add(c00, f32x4.mul(x0, b0)); c01 = f32x4.add(c01, f32x4.mul(x0, b1));
        c10 = f32x4.add(c10, f32x4.mul(x1, b0)); c11 = f32x4.add(c11, f32x4.mul(x1, b1));
        c20 = f32x4.add(c20, f32x4.mul(x2, b0)); c21 = f32x4.add(c21, f32x4.mul(x2, b1));
        c30 = f32x4.add(c30, f32x4.mul(x3, b0)); c31 = f32x4.add(c31, f32x4.mul(x3, b1));
        ap += aColB;
        bp += ldbB;
      }
      const cp = c0 + (<usize>j << 2);
      store8(cp, c00, c01, accumulate);
      store8(cp + ldcB, c10, c11, accumulate);
      store8(cp + 2 * ldcB, c20, c21, accumulate);
      store8(cp + 3 * ldcB, c30, c31, accumulate);
    }
    for (let r = 0; r < 4; r++) rowTail(j, N, K, a0 + <usize>r * aRowB, aColB, b, ldbB, c0 + <usize>r * ldcB, accumulate);
  }
  for (; i < M; i++) rowTail(0, N, K, a + <usize>i * aRowB, aColB, b, ldbB, c + <usize>i * ldcB, accumulate);
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

/** One row of C from column j0 on: four columns at a time, then one at a time. */
function rowTail(j0: i32, N: i32, K: i32, ap0: usize, aColB: usize, b: usize, ldbB: usize, cp0: usize, accumulate: bool): void {
  let j = j0;
  for (; j + 4 <= N; j += 4) {
    let acc = f32x4.splat(0);
    let ap = ap0;
    let bp = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(ap), v128.load(bp)));
      ap += aColB;
      bp += ldbB;
    }
    const cp = cp0 + (<usize>j << 2);
    if (accumulate) acc = f32x4.add(acc, v128.load(cp));
    v128.store(cp, acc);
  }
  for (; j < N; j++) {
    let sum: f32 = 0;
    let ap = ap0;
    let bp = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      sum += load<f32>(ap) * load<f32>(bp);
      ap += aColB;
      bp += ldbB;
    }
    const cp = cp0 + (<usize>j << 2);
    store<f32>(cp, accumulate ? load<f32>(cp) + sum : sum);
  }
}

/**
 * C (+)= A·Bᵀ with A [M×K] and B [N×K] as stored: every C(i, j) is a dot product of two contiguous rows,
 * so SIMD runs along K. Register tile: 2 rows of A × 4 rows of B, eight accumulators summed at the end.
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
        s00 = f32x4.add(s00, f32x4.mul(x0, y0)); s01 = f32x4.add(s01, f32x4.mul(x0, y1));
        s02 = f32x4.add(s02, f32x4.mul(x0, y2)); s03 = f32x4.add(s03, f32x4.mul(x0, y3));
        s10 = f32x4.add(s10, f32x4.mul(x1, y0)); s11 = f32x4.add(s11, f32x4.mul(x1, y1));
        s12 = f32x4.add(s12, f32x4.mul(x1, y2)); s13 = f32x4.add(s13, f32x4.mul(x1, y3));
      }
      let r0 = hsum4(s00, s01, s02, s03);
      let r1 = hsum4(s10, s11, s12, s13);
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        const x0 = load<f32>(a0 + o), x1 = load<f32>(a1 + o);
        const y = f32x4(load<f32>(b0 + o), load<f32>(b1 + o), load<f32>(b2 + o), load<f32>(b3 + o));
        r0 = f32x4.add(r0, f32x4.mul(f32x4.splat(x0), y));
        r1 = f32x4.add(r1, f32x4.mul(f32x4.splat(x1), y));
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
  for (; k + 4 <= K; k += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>k << 2)), v128.load(y + (<usize>k << 2))));
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; k < K; k++) sum += load<f32>(x + (<usize>k << 2)) * load<f32>(y + (<usize>k << 2));
  return sum;
}

// @ts-ignore: decorator
@inline function storeDot(p: usize, v: f32, accumulate: bool): void {
  store<f32>(p, accumulate ? load<f32>(p) + v : v);
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

export function multiply(n: i32, x: usize, mask: usize): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), v128.load(mask + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(x + o, load<f32>(x + o) * load<f32>(mask + o));
  }
}

// ---------------------------------------------------------------------------------------------------
// Cells. Scalar code with f64 transcendental functions, as in the reference; these are O(B·H) per step
// against the O(B·H²) of the GEMMs.

// @ts-ignore: decorator
@inline function sigmoid(x: f32): f32 {
  return <f32>(1 / (1 + Math.exp(-<f64>x)));
}

// @ts-ignore: decorator
@inline function tanhf(x: f32): f32 {
  return <f32>Math.tanh(<f64>x);
}

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

export function lstmForward(B: i32, H: i32, gates: usize, cPrev: usize, c: usize, tanhC: usize, h: usize): void {
  for (let b = 0; b < B; b++) {
    const g = gates + (<usize>(b * 4 * H) << 2);
    for (let j = 0; j < 3 * H; j++) store<f32>(at(g, j), sigmoid(load<f32>(at(g, j))));
    for (let j = 3 * H; j < 4 * H; j++) store<f32>(at(g, j), tanhf(load<f32>(at(g, j))));
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const ig = load<f32>(at(g, j)), fg = load<f32>(at(g, H + j)), og = load<f32>(at(g, 2 * H + j)), cand = load<f32>(at(g, 3 * H + j));
      const cell = fg * load<f32>(at(cPrev, row)) + ig * cand;
      store<f32>(at(c, row), cell);
      const t = tanhf(cell);
      store<f32>(at(tanhC, row), t);
      store<f32>(at(h, row), og * t);
    }
  }
}

export function lstmBackward(B: i32, H: i32, gates: usize, cPrev: usize, tanhC: usize, dh: usize, dc: usize, dGates: usize): void {
  for (let b = 0; b < B; b++) {
    const g = gates + (<usize>(b * 4 * H) << 2);
    const dg = dGates + (<usize>(b * 4 * H) << 2);
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const ig = load<f32>(at(g, j)), fg = load<f32>(at(g, H + j)), og = load<f32>(at(g, 2 * H + j)), cand = load<f32>(at(g, 3 * H + j));
      const t = load<f32>(at(tanhC, row));
      const dhj = load<f32>(at(dh, row));
      const dcTotal = load<f32>(at(dc, row)) + dhj * og * (1 - t * t);
      store<f32>(at(dg, j), dcTotal * cand * ig * (1 - ig));
      store<f32>(at(dg, H + j), dcTotal * load<f32>(at(cPrev, row)) * fg * (1 - fg));
      store<f32>(at(dg, 2 * H + j), dhj * t * og * (1 - og));
      store<f32>(at(dg, 3 * H + j), dcTotal * ig * (1 - cand * cand));
      store<f32>(at(dc, row), dcTotal * fg);
    }
  }
}

export function gruForward(B: i32, H: i32, gx: usize, gh: usize, hPrev: usize, h: usize): void {
  for (let b = 0; b < B; b++) {
    const gi = gx + (<usize>(b * 3 * H) << 2);
    const hi = gh + (<usize>(b * 3 * H) << 2);
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const r = sigmoid(load<f32>(at(gi, j)) + load<f32>(at(hi, j)));
      const z = sigmoid(load<f32>(at(gi, H + j)) + load<f32>(at(hi, H + j)));
      const n = tanhf(load<f32>(at(gi, 2 * H + j)) + r * load<f32>(at(hi, 2 * H + j)));
      store<f32>(at(gi, j), r);
      store<f32>(at(gi, H + j), z);
      store<f32>(at(gi, 2 * H + j), n);
      store<f32>(at(h, row), (1 - z) * n + z * load<f32>(at(hPrev, row)));
    }
  }
}

export function gruBackward(B: i32, H: i32, gx: usize, gh: usize, hPrev: usize, dh: usize, dhPrev: usize, dgx: usize, dgh: usize): void {
  for (let b = 0; b < B; b++) {
    const off = <usize>(b * 3 * H) << 2;
    const gi = gx + off, hi = gh + off, dgi = dgx + off, dhi = dgh + off;
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const r = load<f32>(at(gi, j)), z = load<f32>(at(gi, H + j)), n = load<f32>(at(gi, 2 * H + j));
      const d = load<f32>(at(dh, row));
      const dnPre = d * (1 - z) * (1 - n * n);
      const dzPre = d * (load<f32>(at(hPrev, row)) - n) * z * (1 - z);
      const drPre = dnPre * load<f32>(at(hi, 2 * H + j)) * r * (1 - r);
      store<f32>(at(dgi, j), drPre);
      store<f32>(at(dgi, H + j), dzPre);
      store<f32>(at(dgi, 2 * H + j), dnPre);
      store<f32>(at(dhi, j), drPre);
      store<f32>(at(dhi, H + j), dzPre);
      store<f32>(at(dhi, 2 * H + j), dnPre * r);
      store<f32>(at(dhPrev, row), load<f32>(at(dhPrev, row)) + d * z);
    }
  }
}

export function tanhForward(n: i32, h: usize): void {
  for (let i = 0; i < n; i++) store<f32>(at(h, i), tanhf(load<f32>(at(h, i))));
}

export function tanhBackward(n: i32, h: usize, dh: usize, dPre: usize): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(at(h, i));
    store<f32>(at(dPre, i), load<f32>(at(dh, i)) * (1 - v * v));
  }
}

/** Rows of logits become probabilities; returns the summed −log p(target) in f64. */
export function softmaxCrossEntropy(N: i32, V: i32, logits: usize, targets: usize): f64 {
  let loss: f64 = 0;
  for (let r = 0; r < N; r++) {
    const row = logits + (<usize>(r * V) << 2);
    const targetLogit = <f64>load<f32>(at(row, load<i32>(at(targets, r))));
    let max: f32 = -Infinity;
    for (let j = 0; j < V; j++) max = Mathf.max(max, load<f32>(at(row, j)));
    let sum: f64 = 0;
    for (let j = 0; j < V; j++) {
      const e = <f32>Math.exp(<f64>(load<f32>(at(row, j)) - max));
      store<f32>(at(row, j), e);
      sum += e;
    }
    const inv = <f32>(1 / sum);
    for (let j = 0; j < V; j++) store<f32>(at(row, j), load<f32>(at(row, j)) * inv);
    loss += Math.log(sum) + <f64>max - targetLogit;
  }
  return loss;
}

export function softmaxCrossEntropyBackward(N: i32, V: i32, probs: usize, targets: usize, scale: f32): void {
  for (let r = 0; r < N; r++) {
    const row = probs + (<usize>(r * V) << 2);
    for (let j = 0; j < V; j++) store<f32>(at(row, j), load<f32>(at(row, j)) * scale);
    const t = at(row, load<i32>(at(targets, r)));
    store<f32>(t, load<f32>(t) - scale);
  }
}

/** Copies a kb × nb block of B (row stride ldb floats) to dst with row stride ldDst floats. */
export function packBlock(kb: i32, nb: i32, src: usize, ldb: i32, dst: usize, ldDst: i32): void {
  const srcRow = <usize>ldb << 2, dstRow = <usize>ldDst << 2;
  for (let k = 0; k < kb; k++) addRow(dst + <usize>k * dstRow, src + <usize>k * srcRow, nb, false);
}
