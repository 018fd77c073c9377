import type { Kernels } from './kernels.js';

/**
 * The reference backend: plain TypeScript loops over the heap, written to be read.
 * The WebAssembly backend must agree with these to ~1e-5 relative (tests cross-check them).
 */
export class JsKernels implements Kernels {
  readonly name = 'js' as const;

  constructor(readonly heap: Float32Array) {}

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: boolean,
  ): void {
    const x = this.heap;
    if (!accumulate) {
      for (let i = 0; i < M; i++) x.fill(0, c + i * ldc, c + i * ldc + N);
    }
    // The loop order keeps the innermost loop running along rows of B and C where the layout allows.
    if (!transB) {
      for (let i = 0; i < M; i++) {
        const ci = c + i * ldc;
        for (let k = 0; k < K; k++) {
          const aik = transA ? x[a + k * lda + i] : x[a + i * lda + k];
          if (aik === 0) continue;
          const bk = b + k * ldb;
          for (let j = 0; j < N; j++) x[ci + j] += aik * x[bk + j];
        }
      }
    } else {
      for (let i = 0; i < M; i++) {
        const ci = c + i * ldc;
        for (let j = 0; j < N; j++) {
          const bj = b + j * ldb;
          let sum = 0;
          if (transA) {
            for (let k = 0; k < K; k++) sum += x[a + k * lda + i] * x[bj + k];
          } else {
            const ai = a + i * lda;
            for (let k = 0; k < K; k++) sum += x[ai + k] * x[bj + k];
          }
          x[ci + j] += sum;
        }
      }
    }
  }

  fillRows(rows: number, n: number, bias: number, out: number): void {
    const x = this.heap;
    for (let r = 0; r < rows; r++) x.copyWithin(out + r * n, bias, bias + n);
  }

  gatherRows(rows: number, n: number, index: Int32Array, indexStart: number, table: number, out: number, accumulate: boolean): void {
    const x = this.heap;
    for (let r = 0; r < rows; r++) {
      const src = table + index[indexStart + r] * n;
      const dst = out + r * n;
      if (accumulate) for (let j = 0; j < n; j++) x[dst + j] += x[src + j];
      else x.copyWithin(dst, src, src + n);
    }
  }

  scatterAddRows(rows: number, n: number, index: Int32Array, indexStart: number, src: number, table: number): void {
    const x = this.heap;
    for (let r = 0; r < rows; r++) {
      const dst = table + index[indexStart + r] * n;
      const s = src + r * n;
      for (let j = 0; j < n; j++) x[dst + j] += x[s + j];
    }
  }

  addColumnSums(rows: number, n: number, src: number, sum: number): void {
    const x = this.heap;
    for (let r = 0; r < rows; r++) {
      const s = src + r * n;
      for (let j = 0; j < n; j++) x[sum + j] += x[s + j];
    }
  }

  lstmForward(B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, h: number): void {
    const x = this.heap;
    for (let b = 0; b < B; b++) {
      const g = gates + b * 4 * H;
      for (let j = 0; j < 3 * H; j++) x[g + j] = sigmoid(x[g + j]);
      for (let j = 3 * H; j < 4 * H; j++) x[g + j] = Math.tanh(x[g + j]);
      for (let j = 0; j < H; j++) {
        const row = b * H + j;
        const ig = x[g + j], fg = x[g + H + j], og = x[g + 2 * H + j], cand = x[g + 3 * H + j];
        const cell = fg * x[cPrev + row] + ig * cand;
        x[c + row] = cell;
        const t = Math.tanh(cell);
        x[tanhC + row] = t;
        x[h + row] = og * t;
      }
    }
  }

  lstmBackward(
    B: number, H: number, gates: number, cPrev: number, tanhC: number,
    dh: number, dc: number, dGates: number,
  ): void {
    const x = this.heap;
    for (let b = 0; b < B; b++) {
      const g = gates + b * 4 * H;
      const dg = dGates + b * 4 * H;
      for (let j = 0; j < H; j++) {
        const row = b * H + j;
        const ig = x[g + j], fg = x[g + H + j], og = x[g + 2 * H + j], cand = x[g + 3 * H + j];
        const t = x[tanhC + row];
        const dhj = x[dh + row];
        const dcTotal = x[dc + row] + dhj * og * (1 - t * t);
        x[dg + j] = dcTotal * cand * ig * (1 - ig);
        x[dg + H + j] = dcTotal * x[cPrev + row] * fg * (1 - fg);
        x[dg + 2 * H + j] = dhj * t * og * (1 - og);
        x[dg + 3 * H + j] = dcTotal * ig * (1 - cand * cand);
        x[dc + row] = dcTotal * fg;
      }
    }
  }

  gruForward(B: number, H: number, gx: number, gh: number, hPrev: number, h: number): void {
    const x = this.heap;
    for (let b = 0; b < B; b++) {
      const gi = gx + b * 3 * H;
      const hi = gh + b * 3 * H;
      for (let j = 0; j < H; j++) {
        const row = b * H + j;
        const r = sigmoid(x[gi + j] + x[hi + j]);
        const z = sigmoid(x[gi + H + j] + x[hi + H + j]);
        const n = Math.tanh(x[gi + 2 * H + j] + r * x[hi + 2 * H + j]);
        x[gi + j] = r;
        x[gi + H + j] = z;
        x[gi + 2 * H + j] = n;
        x[h + row] = (1 - z) * n + z * x[hPrev + row];
      }
    }
  }

  gruBackward(
    B: number, H: number, gx: number, gh: number, hPrev: number,
    dh: number, dhPrev: number, dgx: number, dgh: number,
  ): void {
    const x = this.heap;
    for (let b = 0; b < B; b++) {
      const gi = gx + b * 3 * H;
      const hi = gh + b * 3 * H;
      const dgi = dgx + b * 3 * H;
      const dhi = dgh + b * 3 * H;
      for (let j = 0; j < H; j++) {
        const row = b * H + j;
        const r = x[gi + j], z = x[gi + H + j], n = x[gi + 2 * H + j];
        const d = x[dh + row];
        const dnPre = d * (1 - z) * (1 - n * n);
        const dzPre = d * (x[hPrev + row] - n) * z * (1 - z);
        const drPre = dnPre * x[hi + 2 * H + j] * r * (1 - r);
        x[dgi + j] = drPre;
        x[dgi + H + j] = dzPre;
        x[dgi + 2 * H + j] = dnPre;
        x[dhi + j] = drPre;
        x[dhi + H + j] = dzPre;
        x[dhi + 2 * H + j] = dnPre * r;
        x[dhPrev + row] += d * z;
      }
    }
  }

  tanhForward(n: number, h: number): void {
    const x = this.heap;
    for (let i = 0; i < n; i++) x[h + i] = Math.tanh(x[h + i]);
  }

  tanhBackward(n: number, h: number, dh: number, dPre: number): void {
    const x = this.heap;
    for (let i = 0; i < n; i++) {
      const v = x[h + i];
      x[dPre + i] = x[dh + i] * (1 - v * v);
    }
  }

  softmaxCrossEntropy(N: number, V: number, logits: number, targets: Int32Array, targetStart: number): number {
    const x = this.heap;
    let loss = 0;
    for (let r = 0; r < N; r++) {
      const row = logits + r * V;
      const targetLogit = x[row + targets[targetStart + r]];
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (x[row + j] > max) max = x[row + j];
      let sum = 0;
      for (let j = 0; j < V; j++) {
        const e = Math.exp(x[row + j] - max);
        x[row + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < V; j++) x[row + j] *= inv;
      // -log p from the logits (log-sum-exp), not from the float32 probability, so it stays finite.
      loss += Math.log(sum) + max - targetLogit;
    }
    return loss;
  }

  softmaxCrossEntropyBackward(N: number, V: number, probs: number, targets: Int32Array, targetStart: number, scale: number): void {
    const x = this.heap;
    for (let r = 0; r < N; r++) {
      const row = probs + r * V;
      for (let j = 0; j < V; j++) x[row + j] *= scale;
      x[row + targets[targetStart + r]] -= scale;
    }
  }

  multiply(n: number, x: number, mask: number): void {
    const h = this.heap;
    for (let i = 0; i < n; i++) h[x + i] *= h[mask + i];
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}
