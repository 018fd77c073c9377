import { UsageError } from '../util/errors.js';
import { loadAddon, type NativeAddon } from '../util/native-addon.js';
import type { Kernels } from './kernels.js';

/**
 * The native backend: a Node-API addon (native/charnn.c, built into build/charnn.node by
 * `npm run build:native`, part of `npm install`) whose matrix products are the system's BLAS
 * (cblas_sgemm: OpenBLAS, or Accelerate on macOS) and whose element-wise kernels are C compiled for the
 * machine. The addon keeps the heap's data pointer (bind), so the kernels work in place like the wasm
 * ones; the heap may be a view of a SharedArrayBuffer, and worker threads load the addon too and bind
 * the same memory.
 * The addon is loaded on first use only (src/util/native-addon.ts).
 */
/** A heap bound to the addon: an opaque external holding its data pointer. */
export type Bound = { readonly __bound: unique symbol };

export interface Addon extends NativeAddon {
  bind(heap: Float32Array): Bound;
  blasInfo(): string;
  gemm(h: Bound, transA: boolean, transB: boolean, M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, acc: boolean, exactRows: boolean): void;
  fillRows(h: Bound, rows: number, n: number, bias: number, out: number): void;
  gatherRows(h: Bound, rows: number, n: number, index: Int32Array, indexStart: number, table: number, out: number, acc: boolean): void;
  scatterAddRows(h: Bound, rows: number, n: number, index: Int32Array, indexStart: number, src: number, table: number): void;
  addColumnSums(h: Bound, rows: number, n: number, src: number, sum: number): void;
  lstmForward(h: Bound, B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, hOut: number): void;
  lstmBackward(h: Bound, B: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void;
  gruForward(h: Bound, B: number, H: number, gx: number, gh: number, hPrev: number, hOut: number): void;
  gruBackward(h: Bound, B: number, H: number, gx: number, gh: number, hPrev: number, dh: number, dhPrev: number, dgx: number, dgh: number): void;
  tanhForward(h: Bound, n: number, x: number): void;
  tanhBackward(h: Bound, n: number, x: number, dh: number, dPre: number): void;
  multiply(h: Bound, n: number, x: number, mask: number): void;
  softmaxCrossEntropy(h: Bound, N: number, V: number, logits: number, targets: Int32Array, targetStart: number): number;
  softmaxCrossEntropyBackward(h: Bound, N: number, V: number, probs: number, targets: Int32Array, targetStart: number, scale: number): void;
}

function addon(): Addon {
  const a = loadAddon();
  if (a instanceof Error) throw new UsageError(`the native backend is not available: ${a.message} (or use --backend wasm)`);
  return a as Addon;
}

/** Whether the addon loads here (loading it on first call). */
export function nativeAvailable(): boolean {
  return !(loadAddon() instanceof Error);
}

/** Why the backend cannot run here, or undefined when it can. */
export function nativeUnavailableReason(): string | undefined {
  const a = loadAddon();
  return a instanceof Error ? a.message : undefined;
}

/** The BLAS the addon runs on, in a few words: "OpenBLAS 0.3.21, Zen kernels, 1 thread". */
export function blasInfo(): string {
  return addon().blasInfo();
}

export class NativeKernels implements Kernels {
  readonly name = 'native' as const;
  private readonly x: Addon;
  private readonly h: Bound;

  /**
   * Kernels over `heap` in place; the heap may be a view of a SharedArrayBuffer shared with workers.
   * `exactRows` (for sampling, see createKernels): products without transposes by the addon's own
   * row-exact loops instead of the BLAS, which sums a row differently depending on the other rows.
   */
  constructor(readonly heap: Float32Array, private readonly exactRows = false) {
    this.x = addon();
    this.h = this.x.bind(heap);
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: boolean,
  ): void {
    this.x.gemm(this.h, transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, this.exactRows);
  }

  fillRows(rows: number, n: number, bias: number, out: number): void {
    this.x.fillRows(this.h, rows, n, bias, out);
  }

  gatherRows(rows: number, n: number, index: Int32Array, indexStart: number, table: number, out: number, accumulate: boolean): void {
    this.x.gatherRows(this.h, rows, n, index, indexStart, table, out, accumulate);
  }

  scatterAddRows(rows: number, n: number, index: Int32Array, indexStart: number, src: number, table: number): void {
    this.x.scatterAddRows(this.h, rows, n, index, indexStart, src, table);
  }

  addColumnSums(rows: number, n: number, src: number, sum: number): void {
    this.x.addColumnSums(this.h, rows, n, src, sum);
  }

  lstmForward(B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, h: number): void {
    this.x.lstmForward(this.h, B, H, gates, cPrev, c, tanhC, h);
  }

  lstmBackward(B: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void {
    this.x.lstmBackward(this.h, B, H, gates, cPrev, tanhC, dh, dc, dGates);
  }

  gruForward(B: number, H: number, gx: number, gh: number, hPrev: number, h: number): void {
    this.x.gruForward(this.h, B, H, gx, gh, hPrev, h);
  }

  gruBackward(B: number, H: number, gx: number, gh: number, hPrev: number, dh: number, dhPrev: number, dgx: number, dgh: number): void {
    this.x.gruBackward(this.h, B, H, gx, gh, hPrev, dh, dhPrev, dgx, dgh);
  }

  tanhForward(n: number, h: number): void {
    this.x.tanhForward(this.h, n, h);
  }

  tanhBackward(n: number, h: number, dh: number, dPre: number): void {
    this.x.tanhBackward(this.h, n, h, dh, dPre);
  }

  softmaxCrossEntropy(N: number, V: number, logits: number, targets: Int32Array, targetStart: number): number {
    return this.x.softmaxCrossEntropy(this.h, N, V, logits, targets, targetStart);
  }

  softmaxCrossEntropyBackward(N: number, V: number, probs: number, targets: Int32Array, targetStart: number, scale: number): void {
    this.x.softmaxCrossEntropyBackward(this.h, N, V, probs, targets, targetStart, scale);
  }

  multiply(n: number, x: number, mask: number): void {
    this.x.multiply(this.h, n, x, mask);
  }
}
