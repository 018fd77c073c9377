import type { Kernels } from './kernels.js';
import { wasmBytes } from './wasm-file.js';

/**
 * The WebAssembly SIMD backend (assembly/kernels.ts, built into build/kernels.wasm and, with relaxed SIMD,
 * build/kernels-relaxed.wasm by `npm run build`).
 * The heap is a view of the module's memory, so kernels read parameters and activations in place; the
 * memory is shared (a SharedArrayBuffer), so worker threads can run their own instances over it.
 *
 * Memory layout, in bytes: [0, heapBase) the module's static data | per thread: token-index slots, then a
 * packed GEMM block | the heap.
 */
/** Token indices are copied into this many slots of wasm memory per call (longer lists go in chunks). */
const INDEX_SLOTS = 16384;
/** Cache blocking of the GEMM: a block of B is GEMM_KB rows × GEMM_NB columns (128 KiB). */
const GEMM_KB = 128;
const GEMM_NB = 256;
/** Row stride of a packed block of B: not a power of two, so that its rows do not collide in the cache. */
const PACK_LD = GEMM_NB + 4;
/** Per-thread scratch: the index slots, a packed GEMM block of B, then four packed rows of A (gemmRowB). */
const SCRATCH_BYTES = INDEX_SLOTS * 4 + GEMM_KB * PACK_LD * 4 + GEMM_KB * 4 * 4;
const PAGE = 65536;

/** The module's exports; pointers are byte addresses, flags are 0 or 1. */
interface Exports {
  heapBase(): number;
  packBlock(kb: number, nb: number, src: number, ldb: number, dst: number, ldDst: number): void;
  packBlockTransposed(kb: number, nb: number, src: number, ldb: number, dst: number, ldDst: number): void;
  gemmRowB(M: number, N: number, K: number, a: number, aRow: number, aCol: number, b: number, ldb: number, c: number, ldc: number, acc: number, aPack: number): void;
  gemmNT(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, acc: number): void;
  fillRows(rows: number, n: number, bias: number, out: number): void;
  gatherRows(rows: number, n: number, index: number, table: number, out: number, acc: number): void;
  scatterAddRows(rows: number, n: number, index: number, src: number, table: number): void;
  addColumnSums(rows: number, n: number, src: number, sum: number): void;
  multiply(n: number, x: number, mask: number): void;
  lstmForward(B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, h: number): void;
  lstmBackward(B: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void;
  gruForward(B: number, H: number, gx: number, gh: number, hPrev: number, h: number): void;
  gruBackward(B: number, H: number, gx: number, gh: number, hPrev: number, dh: number, dhPrev: number, dgx: number, dgh: number): void;
  tanhForward(n: number, h: number): void;
  tanhBackward(n: number, h: number, dh: number, dPre: number): void;
  softmaxCrossEntropy(N: number, V: number, logits: number, targets: number): number;
  softmaxCrossEntropyBackward(N: number, V: number, probs: number, targets: number, scale: number): void;
}

/** The compiled builds, or why there is none. */
const compiled: { plain?: WebAssembly.Module | Error; relaxed?: WebAssembly.Module | Error } = {};

/**
 * Which build: `plain` SIMD, the same sums on every machine and in the browser (what sampling uses), or
 * `fast`: the relaxed-SIMD build where this runtime compiles it (its fused multiply-add makes the GEMM
 * about 1.3× faster), else the plain one. Both are deterministic on one machine, so exact resume holds;
 * a checkpoint moved to a machine without FMA continues with unfused sums, a last-bit difference.
 */
export type WasmBuild = 'plain' | 'fast';

function compile(variant: 'plain' | 'relaxed'): WebAssembly.Module | Error {
  const known = compiled[variant];
  if (known !== undefined) return known;
  const bytes = wasmBytes(variant);
  if (bytes instanceof Error) return (compiled[variant] = bytes);
  try {
    return (compiled[variant] = new WebAssembly.Module(bytes));
  } catch (error) {
    return (compiled[variant] = new Error(`this runtime cannot compile it, it needs WebAssembly SIMD and threads (${(error as Error).message})`));
  }
}

function wasmModule(build: WasmBuild = 'plain'): WebAssembly.Module {
  const relaxed = build === 'fast' ? compile('relaxed') : null;
  const module = relaxed instanceof WebAssembly.Module ? relaxed : compile('plain');
  if (module instanceof Error) throw module;
  return module;
}

/** Whether this runtime runs the backend: WebAssembly SIMD and shared memory, and the module is built. */
export function wasmAvailable(): boolean {
  return compile('plain') instanceof WebAssembly.Module;
}

/** Why the backend cannot run here, or undefined when it can. */
export function wasmUnavailableReason(): string | undefined {
  const module = compile('plain');
  return module instanceof Error ? module.message : undefined;
}

export interface WasmMemoryPlan {
  memory: WebAssembly.Memory;
  /** Byte address of heap[0]. */
  heapByteOffset: number;
  /** Per thread, the byte address of its own token-index slots. */
  indexByteOffsets: number[];
}

/** A shared memory with room for the module's data, scratch for each thread and a heap of `floats`. */
export function createWasmMemory(floats: number, threads = 1): WasmMemoryPlan {
  const probe = new WebAssembly.Instance(wasmModule(), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), abort } });
  const first = align64((probe.exports as unknown as Exports).heapBase());
  const indexByteOffsets = Array.from({ length: threads }, (_, t) => first + t * SCRATCH_BYTES);
  const heapByteOffset = first + threads * SCRATCH_BYTES;
  const pages = Math.ceil((heapByteOffset + floats * 4) / PAGE);
  // initial = maximum: the memory never grows, so the heap view never detaches.
  return { memory: new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }), heapByteOffset, indexByteOffsets };
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm' as const;
  readonly heap: Float32Array;
  private readonly x: Exports;
  /** Byte address of heap[0]. */
  private readonly base: number;
  private readonly indexSlots: Int32Array;
  private readonly indexAddress: number;
  private readonly packAddress: number;

  /** Kernels over `floats` floats of a planned memory, as thread `thread` (see createWasmMemory). */
  constructor(readonly plan: WasmMemoryPlan, floats: number, thread = 0, build: WasmBuild = 'fast') {
    this.heap = new Float32Array(plan.memory.buffer, plan.heapByteOffset, floats);
    const instance = new WebAssembly.Instance(wasmModule(build), { env: { memory: plan.memory, abort } });
    this.x = instance.exports as unknown as Exports;
    this.base = plan.heapByteOffset;
    this.indexAddress = plan.indexByteOffsets[thread];
    this.indexSlots = new Int32Array(plan.memory.buffer, this.indexAddress, INDEX_SLOTS);
    this.packAddress = this.indexAddress + INDEX_SLOTS * 4;
  }

  static create(floats: number, build: WasmBuild = 'fast'): WasmKernels {
    return new WasmKernels(createWasmMemory(floats), floats, 0, build);
  }

  private at(offset: number): number {
    return this.base + offset * 4;
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: boolean,
  ): void {
    const acc = accumulate ? 1 : 0;
    if (transB && !transA) {
      this.x.gemmNT(M, N, K, this.at(a), lda, this.at(b), ldb, this.at(c), ldc, acc);
      return;
    }
    // A(i, k) at a + i·aRow + k·aCol, for A as stored or transposed. Blocks of B of at most
    // GEMM_KB × GEMM_NB stay in cache while every row of A passes over them. K = 0 still runs one empty
    // block, which clears C unless accumulating.
    const aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
    for (let j0 = 0; j0 < N; j0 += GEMM_NB) {
      const nb = Math.min(GEMM_NB, N - j0);
      for (let k0 = 0; k0 === 0 || k0 < K; k0 += GEMM_KB) {
        const kb = Math.min(GEMM_KB, K - k0);
        let block = this.at(b + k0 * ldb + j0), ldBlock = ldb;
        if (transB) {
          // Aᵀ·Bᵀ: the block of Bᵀ is copied out in the row-major layout the kernel reads.
          this.x.packBlockTransposed(kb, nb, this.at(b + j0 * ldb + k0), ldb, this.packAddress, PACK_LD);
          block = this.packAddress;
          ldBlock = PACK_LD;
        } else if (M >= 8) {
          // With several rows of A, copying the block to a padded buffer pays: rows of B whose stride is
          // a power of two would otherwise evict each other from the cache.
          this.x.packBlock(kb, nb, block, ldb, this.packAddress, PACK_LD);
          block = this.packAddress;
          ldBlock = PACK_LD;
        }
        this.x.gemmRowB(M, nb, kb, this.at(a + k0 * aCol), aRow, aCol, block, ldBlock, this.at(c + j0), ldc, k0 > 0 ? 1 : acc, this.packAddress + GEMM_KB * PACK_LD * 4);
      }
    }
  }

  fillRows(rows: number, n: number, bias: number, out: number): void {
    this.x.fillRows(rows, n, this.at(bias), this.at(out));
  }

  gatherRows(rows: number, n: number, index: Int32Array, indexStart: number, table: number, out: number, accumulate: boolean): void {
    this.inChunks(rows, index, indexStart, (r, count) => this.x.gatherRows(count, n, this.indexAddress, this.at(table), this.at(out + r * n), accumulate ? 1 : 0));
  }

  scatterAddRows(rows: number, n: number, index: Int32Array, indexStart: number, src: number, table: number): void {
    this.inChunks(rows, index, indexStart, (r, count) => this.x.scatterAddRows(count, n, this.indexAddress, this.at(src + r * n), this.at(table)));
  }

  addColumnSums(rows: number, n: number, src: number, sum: number): void {
    this.x.addColumnSums(rows, n, this.at(src), this.at(sum));
  }

  lstmForward(B: number, H: number, gates: number, cPrev: number, c: number, tanhC: number, h: number): void {
    this.x.lstmForward(B, H, this.at(gates), this.at(cPrev), this.at(c), this.at(tanhC), this.at(h));
  }

  lstmBackward(B: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void {
    this.x.lstmBackward(B, H, this.at(gates), this.at(cPrev), this.at(tanhC), this.at(dh), this.at(dc), this.at(dGates));
  }

  gruForward(B: number, H: number, gx: number, gh: number, hPrev: number, h: number): void {
    this.x.gruForward(B, H, this.at(gx), this.at(gh), this.at(hPrev), this.at(h));
  }

  gruBackward(B: number, H: number, gx: number, gh: number, hPrev: number, dh: number, dhPrev: number, dgx: number, dgh: number): void {
    this.x.gruBackward(B, H, this.at(gx), this.at(gh), this.at(hPrev), this.at(dh), this.at(dhPrev), this.at(dgx), this.at(dgh));
  }

  tanhForward(n: number, h: number): void {
    this.x.tanhForward(n, this.at(h));
  }

  tanhBackward(n: number, h: number, dh: number, dPre: number): void {
    this.x.tanhBackward(n, this.at(h), this.at(dh), this.at(dPre));
  }

  softmaxCrossEntropy(N: number, V: number, logits: number, targets: Int32Array, targetStart: number): number {
    let loss = 0;
    this.inChunks(N, targets, targetStart, (r, count) => {
      loss += this.x.softmaxCrossEntropy(count, V, this.at(logits + r * V), this.indexAddress);
    });
    return loss;
  }

  softmaxCrossEntropyBackward(N: number, V: number, probs: number, targets: Int32Array, targetStart: number, scale: number): void {
    this.inChunks(N, targets, targetStart, (r, count) => this.x.softmaxCrossEntropyBackward(count, V, this.at(probs + r * V), this.indexAddress, scale));
  }

  multiply(n: number, x: number, mask: number): void {
    this.x.multiply(n, this.at(x), this.at(mask));
  }

  /** Copies the indices into wasm memory a chunk at a time and calls `run(firstRow, rowsInChunk)`. */
  private inChunks(rows: number, index: Int32Array, start: number, run: (first: number, count: number) => void): void {
    for (let r = 0; r < rows; r += INDEX_SLOTS) {
      const count = Math.min(INDEX_SLOTS, rows - r);
      this.indexSlots.set(index.subarray(start + r, start + r + count));
      run(r, count);
    }
  }
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

function abort(): never {
  throw new Error('charnn wasm kernel aborted');
}
