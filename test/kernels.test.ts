import { describe, expect, it } from 'vitest';
import { createKernels, defaultBackend, type BackendName } from '../src/kernels/index.js';
import { JsKernels } from '../src/kernels/js.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { nativeAvailable, nativeUnavailableReason } from '../src/kernels/native.js';
import { createWasmMemory, WasmKernels } from '../src/kernels/wasm.js';
import { Model } from '../src/model/model.js';
import { UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

/**
 * The reference GEMM against a naive triple loop, then every WebAssembly kernel and every native one
 * against the reference: both backends get the same heap contents and must agree to ~1e-5 relative. The
 * wasm tests need the module built (`npm test` builds it first); without it they fail and say so. The
 * native ones need the addon (built with the system's BLAS) and are skipped, saying why, without it.
 */
const rng = new Rng(42);

const ODD = [1, 3, 5, 7, 13, 17, 31, 33, 65];
const ORIENTATIONS = [[false, false], [false, true], [true, false], [true, true]] as const;

function orientation(transA: boolean, transB: boolean): string {
  return `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
}

function fillRandom(heap: Float32Array): void {
  for (let i = 0; i < heap.length; i++) heap[i] = 2 * rng.uniform() - 1;
}

/** A js and a fast backend whose heaps hold the same random numbers in [-1, 1). */
function pair(backend: BackendName, floats = 1 << 19): { js: Kernels; fast: Kernels } {
  const fast = createKernels(backend, floats);
  fillRandom(fast.heap);
  return { js: new JsKernels(fast.heap.slice()), fast };
}

/**
 * The worst difference relative to the largest magnitude in the region (a max-norm relative error), so
 * that entries near zero, where summation order shows, do not dominate.
 */
function expectSameRegion(js: Kernels, fast: Kernels, start: number, length: number, tolerance = 1e-5): void {
  let scale = 0, worst = 0;
  for (let i = start; i < start + length; i++) scale = Math.max(scale, Math.abs(js.heap[i]));
  for (let i = start; i < start + length; i++) worst = Math.max(worst, Math.abs(js.heap[i] - fast.heap[i]));
  expect(worst / (scale || 1)).toBeLessThanOrEqual(tolerance);
}

function tokens(n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

describe('the reference gemm', () => {
  for (const [transA, transB] of ORIENTATIONS) {
    for (const accumulate of [false, true]) {
      it(`${orientation(transA, transB)}${accumulate ? ' accumulating' : ''} matches a naive triple loop on odd sizes and padded rows`, () => {
        const k = new JsKernels(new Float32Array(30000));
        fillRandom(k.heap);
        for (let trial = 0; trial < 6; trial++) {
          const M = ODD[trial], N = ODD[(trial * 5 + 2) % ODD.length], K = ODD[(trial * 7 + 4) % ODD.length];
          const lda = (transA ? M : K) + 2, ldb = (transB ? K : N) + 1, ldc = N + 3;
          const a = 7, b = 10000, c = 20000;
          const A = (i: number, p: number) => (transA ? k.heap[a + p * lda + i] : k.heap[a + i * lda + p]);
          const B = (p: number, j: number) => (transB ? k.heap[b + j * ldb + p] : k.heap[b + p * ldb + j]);
          const before = k.heap.slice(c, c + M * ldc);
          k.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let sum = accumulate ? before[i * ldc + j] : 0;
              for (let p = 0; p < K; p++) sum += A(i, p) * B(p, j);
              expect(Math.abs(k.heap[c + i * ldc + j] - sum)).toBeLessThan(1e-5 * Math.max(1, Math.abs(sum)));
            }
            // The padding between rows of C is left alone.
            for (let j = N; j < ldc; j++) expect(k.heap[c + i * ldc + j]).toBe(before[i * ldc + j]);
          }
        }
      });
    }
  }
});

describe('the wasm backend', () => {
  it('keeps its heap in a shared WebAssembly memory', () => {
    const k = WasmKernels.create(1000);
    expect(k.name).toBe('wasm');
    expect(k.heap.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(k.heap.buffer).toBe(k.plan.memory.buffer);
    expect(k.heap.length).toBe(1000);
  });

  it('runs one instance per thread over the same heap', () => {
    const floats = 4096;
    const plan = createWasmMemory(floats, 2);
    const [first, second] = [0, 1].map((thread) => new WasmKernels(plan, floats, thread));
    expect(second.heap.buffer).toBe(first.heap.buffer);
    fillRandom(first.heap);
    const reference = new JsKernels(first.heap.slice());
    const index = tokens(40, 9);
    // Each thread gathers half of the rows through its own index slots; the heap holds both halves.
    second.gatherRows(20, 5, index, 0, 0, 1000, false);
    first.gatherRows(20, 5, index, 20, 0, 1100, false);
    reference.gatherRows(40, 5, index, 0, 0, 1000, false);
    expect(Array.from(first.heap.subarray(1000, 1200))).toEqual(Array.from(reference.heap.subarray(1000, 1200)));
  });

});

const NATIVE_MISSING = nativeUnavailableReason();

for (const backend of ['wasm', 'native'] as const) {
  const missing = backend === 'native' ? NATIVE_MISSING : undefined;
  describe.skipIf(missing !== undefined)(`the ${backend} backend against the reference${missing ? ` (skipped, the addon is not built: ${missing})` : ''}`, () => {
    for (const [transA, transB] of ORIENTATIONS) {
      for (const accumulate of [false, true]) {
        it(`gemm ${orientation(transA, transB)}${accumulate ? ' accumulating' : ''} agrees on odd sizes, padded rows and offsets`, () => {
          const { js, fast } = pair(backend);
          for (let trial = 0; trial < 24; trial++) {
            const M = ODD[trial % ODD.length], N = ODD[(trial * 5 + 2) % ODD.length], K = ODD[(trial * 7 + 4) % ODD.length];
            const pad = trial % 3; // leading dimensions longer than the rows
            const lda = (transA ? M : K) + pad, ldb = (transB ? K : N) + pad, ldc = N + pad;
            const a = 13 + trial, b = 20000 + 3 * trial, c = 60000 + trial;
            for (const k of [js, fast]) k.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
            // The whole region, padding included: the padding must stay as it was.
            expectSameRegion(js, fast, c, M * ldc);
          }
        });
      }
    }

    it('gemm agrees on the shapes of a 2×256 LSTM step, larger than one cache block', () => {
      const { js, fast } = pair(backend, 1600000);
      const shapes: [boolean, boolean, number, number, number][] = [
        [false, false, 32, 1024, 256], [false, false, 512, 1024, 256], [true, false, 256, 1024, 512],
        [false, true, 512, 256, 1024], [true, true, 65, 300, 200],
      ];
      for (const [transA, transB, M, N, K] of shapes) {
        const lda = transA ? M : K, ldb = transB ? K : N;
        // A, B and C in separate regions: [0, 530000), [530000, 1060000), [1060000, 1600000).
        for (const k of [js, fast]) k.gemm(transA, transB, M, N, K, 0, lda, 530000, ldb, 1060000, N, true);
        expectSameRegion(js, fast, 1060000, M * N);
      }
    });

    for (const [transA, transB] of ORIENTATIONS) {
      it(`gemm ${orientation(transA, transB)} with K = 0 clears C, or leaves it when accumulating`, () => {
        const { js, fast } = pair(backend, 4096);
        for (const k of [js, fast]) {
          k.gemm(transA, transB, 5, 9, 0, 0, 5, 100, 9, 1000, 9, false);
          k.gemm(transA, transB, 5, 9, 0, 0, 5, 100, 9, 2000, 9, true);
        }
        expect(Array.from(fast.heap.subarray(1000, 1045))).toEqual(new Array(45).fill(0));
        expect(Array.from(fast.heap.subarray(2000, 2045))).toEqual(Array.from(js.heap.subarray(2000, 2045)));
      });
    }

    it('fillRows copies the bias into every row', () => {
      const { js, fast } = pair(backend);
      for (const k of [js, fast]) k.fillRows(9, 13, 5, 1000);
      expectSameRegion(js, fast, 1000, 9 * 13, 0);
    });

    it('gatherRows copies table rows, or adds them when accumulating', () => {
      const { js, fast } = pair(backend);
      const index = tokens(70, 11);
      for (const k of [js, fast]) {
        k.gatherRows(70, 13, index, 0, 2000, 3000, true);
        k.gatherRows(30, 7, index, 40, 2000, 5000, false);
      }
      expectSameRegion(js, fast, 3000, 70 * 13);
      expectSameRegion(js, fast, 5000, 30 * 7, 0);
    });

    it('gatherRows handles more indices than one chunk of index slots', () => {
      const { js, fast } = pair(backend);
      const index = tokens(20000, 50);
      for (const k of [js, fast]) k.gatherRows(20000, 5, index, 0, 0, 400000, false);
      expectSameRegion(js, fast, 400000, 20000 * 5, 0);
    });

    it('scatterAddRows adds rows into the table, repeated indices included', () => {
      const { js, fast } = pair(backend);
      const index = tokens(70, 11);
      for (const k of [js, fast]) k.scatterAddRows(70, 13, index, 0, 6000, 8000);
      expectSameRegion(js, fast, 8000, 11 * 13);
    });

    it('addColumnSums adds the column sums', () => {
      const { js, fast } = pair(backend);
      for (const k of [js, fast]) k.addColumnSums(33, 17, 9000, 12000);
      expectSameRegion(js, fast, 12000, 17);
    });

    const CELLS = [[1, 1], [3, 5], [7, 33], [32, 128]];

    for (const [B, H] of CELLS) {
      const gates = 0, cPrev = 100000, c = 110000, tanhC = 120000, h = 130000, dh = 140000, dc = 150000, dGates = 160000;
      it(`lstmForward agrees, B=${B} H=${H}`, () => {
        const { js, fast } = pair(backend);
        for (const k of [js, fast]) k.lstmForward(B, H, gates, cPrev, c, tanhC, h);
        for (const [start, n] of [[gates, B * 4 * H], [c, B * H], [tanhC, B * H], [h, B * H]]) expectSameRegion(js, fast, start, n);
      });

      it(`lstmBackward agrees, B=${B} H=${H}`, () => {
        const { js, fast } = pair(backend);
        for (const k of [js, fast]) k.lstmForward(B, H, gates, cPrev, c, tanhC, h);
        fast.heap.set(js.heap.subarray(0, 150000)); // the same activations going in, so only the backward is compared
        for (const k of [js, fast]) k.lstmBackward(B, H, gates, cPrev, tanhC, dh, dc, dGates);
        for (const [start, n] of [[dc, B * H], [dGates, B * 4 * H]]) expectSameRegion(js, fast, start, n);
      });
    }

    for (const [B, H] of CELLS) {
      const gx = 0, gh = 100000, hPrev = 200000, h = 210000, dh = 220000, dhPrev = 230000, dgx = 240000, dgh = 300000;
      it(`gruForward agrees, B=${B} H=${H}`, () => {
        const { js, fast } = pair(backend);
        for (const k of [js, fast]) k.gruForward(B, H, gx, gh, hPrev, h);
        for (const [start, n] of [[gx, B * 3 * H], [gh, B * 3 * H], [h, B * H]]) expectSameRegion(js, fast, start, n);
      });

      it(`gruBackward agrees, B=${B} H=${H}`, () => {
        const { js, fast } = pair(backend);
        for (const k of [js, fast]) k.gruForward(B, H, gx, gh, hPrev, h);
        fast.heap.set(js.heap.subarray(0, dh));
        for (const k of [js, fast]) k.gruBackward(B, H, gx, gh, hPrev, dh, dhPrev, dgx, dgh);
        for (const [start, n] of [[dhPrev, B * H], [dgx, B * 3 * H], [dgh, B * 3 * H]]) expectSameRegion(js, fast, start, n);
      });
    }

    it('tanhForward agrees on odd lengths', () => {
      const { js, fast } = pair(backend);
      for (const k of [js, fast]) k.tanhForward(1001, 3);
      expectSameRegion(js, fast, 3, 1001);
    });

    it('tanhBackward agrees on odd lengths', () => {
      const { js, fast } = pair(backend);
      for (const k of [js, fast]) k.tanhBackward(1001, 0, 2000, 4001);
      expectSameRegion(js, fast, 4001, 1001);
    });

    it('multiply agrees on odd lengths', () => {
      const { js, fast } = pair(backend);
      for (const k of [js, fast]) k.multiply(999, 6001, 8000);
      expectSameRegion(js, fast, 6001, 999, 0);
    });

    /** Values spread over magnitudes from 1e-8 to 100, both signs, for element-by-element accuracy checks. */
    function wideRange(n: number): Float32Array {
      return Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 10 ** (-8 + (10 * i) / n));
    }

    function expectEachClose(actual: Float32Array, expected: (i: number) => number, tolerance: number): void {
      let worst = 0;
      for (let i = 0; i < actual.length; i++) {
        const e = Math.fround(expected(i));
        worst = Math.max(worst, Math.abs(actual[i] - e) / Math.abs(e));
      }
      expect(worst).toBeLessThan(tolerance);
    }

    it('tanh is accurate to 1e-6 relative in every element, tiny and saturated values included', () => {
      const x = wideRange(4003);
      const k = createKernels(backend, x.length);
      k.heap.set(x);
      k.tanhForward(x.length, 0);
      expectEachClose(k.heap, (i) => Math.tanh(x[i]), 1e-6);
    });

    it('the sigmoid of the gates is accurate to 1e-6 relative in every element', () => {
      // Logits beyond −87 give probabilities below the smallest normal float, where relative error is moot.
      const x = wideRange(4000).map((v) => Math.max(v, -80));
      const H = x.length / 4;
      const k = createKernels(backend, 8 * H);
      k.heap.set(x);
      k.lstmForward(1, H, 0, 4 * H, 5 * H, 6 * H, 7 * H);
      expectEachClose(k.heap.subarray(0, 3 * H), (i) => 1 / (1 + Math.exp(-x[i])), 1e-6);
    });

    it('tanh and sigmoid keep NaN and saturate at ±Infinity, as the reference does', () => {
      const x = [NaN, Infinity, -Infinity, NaN];
      const k = createKernels(backend, 8);
      k.heap.set(x);
      k.tanhForward(4, 0);
      expect(Array.from(k.heap.subarray(0, 4))).toEqual([NaN, 1, -1, NaN]);
      // lstmForward with H = 1: the gates i, f, o go through the sigmoid.
      k.heap.set(x);
      k.lstmForward(1, 1, 0, 4, 5, 6, 7);
      expect(Array.from(k.heap.subarray(0, 3))).toEqual([NaN, 1, 0]);
    });

    it('softmaxCrossEntropy agrees on probabilities and loss', () => {
      const { js, fast } = pair(backend);
      const N = 37, V = 67;
      for (let i = 0; i < N * V; i++) js.heap[i] = fast.heap[i] = 8 * js.heap[i];
      const targets = tokens(N + 5, V);
      const [jsLoss, fastLoss] = [js, fast].map((k) => k.softmaxCrossEntropy(N, V, 0, targets, 5));
      expect(Math.abs(jsLoss - fastLoss) / jsLoss).toBeLessThan(1e-6);
      expectSameRegion(js, fast, 0, N * V);
    });

    it('softmaxCrossEntropy stays finite and agrees on logits of ±100', () => {
      const { js, fast } = pair(backend);
      const N = 9, V = 5;
      for (let i = 0; i < N * V; i++) js.heap[i] = fast.heap[i] = js.heap[i] > 0 ? 100 : -100;
      const targets = tokens(N, V);
      const [jsLoss, fastLoss] = [js, fast].map((k) => k.softmaxCrossEntropy(N, V, 0, targets, 0));
      expect(Number.isFinite(fastLoss)).toBe(true);
      expect(Math.abs(jsLoss - fastLoss) / jsLoss).toBeLessThan(1e-6);
      expectSameRegion(js, fast, 0, N * V);
    });

    it('softmaxCrossEntropyBackward agrees', () => {
      const { js, fast } = pair(backend);
      const N = 37, V = 67;
      const targets = tokens(N + 5, V);
      for (const k of [js, fast]) k.softmaxCrossEntropyBackward(N, V, 0, targets, 5, 0.25);
      expectSameRegion(js, fast, 0, N * V);
    });
  });
}

/**
 * Sampling steps many rows through one product, and a row must give the text it gives alone: kernels
 * made for sampling compute each row of a product without transposes alike whatever M is (the wasm and
 * js kernels always do; native then leaves the BLAS, which sums one row differently from many).
 */
for (const backend of ['js', 'wasm', 'native'] as const) {
  const missing = backend === 'native' ? NATIVE_MISSING : undefined;
  describe.skipIf(missing !== undefined)(`exact rows on ${backend}${missing ? ` (skipped, the addon is not built: ${missing})` : ''}`, () => {
    it('each row of a product is the same to the bit alone and among 2 to 40 rows, accumulating or not, odd widths included', () => {
      const K = 137, N = 1043, rows = 40;
      const k = createKernels(backend, K * N + rows * K + 2 * rows * N, { sampling: true });
      fillRandom(k.heap);
      const b = 0, a = K * N, c = a + rows * K, start = c + rows * N;
      k.heap.copyWithin(start, c, c + rows * N); // C's initial values, kept to start every product from
      for (const accumulate of [false, true]) {
        const alone = Array.from({ length: rows }, (_, i) => {
          k.heap.copyWithin(c, start + i * N, start + (i + 1) * N);
          k.gemm(false, false, 1, N, K, a + i * K, K, b, N, c, N, accumulate);
          return k.heap.slice(c, c + N);
        });
        // Every remainder of the tiles' heights (4 and 6 rows) and both sides of native's switch from reading B in
        // place (up to 12 rows) to packing it (13 on).
        for (const M of [2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 32, 40]) {
          k.heap.copyWithin(c, start, start + rows * N);
          k.gemm(false, false, M, N, K, a, K, b, N, c, N, accumulate);
          for (let i = 0; i < M; i++) expect(k.heap.subarray(c + i * N, c + (i + 1) * N), `row ${i} of ${M}`).toEqual(alone[i]);
        }
      }
    });

    it('and still agrees with the reference on odd sizes and offsets', () => {
      const fast = createKernels(backend, 1 << 19, { sampling: true });
      fillRandom(fast.heap);
      const js = new JsKernels(fast.heap.slice());
      for (let trial = 0; trial < 24; trial++) {
        const M = ODD[trial % ODD.length], N = ODD[(trial * 5 + 2) % ODD.length], K = ODD[(trial * 7 + 4) % ODD.length];
        const pad = trial % 3, c = 60000 + trial;
        for (const kk of [js, fast]) kk.gemm(false, false, M, N, K, 13 + trial, K + pad, 20000 + 3 * trial, N + pad, c, N + pad, trial % 2 === 0);
        expectSameRegion(js, fast, c, M * (N + pad));
      }
    });
  });
}

describe('choosing a backend', () => {
  it('a model built without naming a backend gets the default one (native where its addon is built, else wasm)', () => {
    const model = new Model({ cell: 'lstm', vocabSize: 5, hiddenSize: 4, layers: 1, dropout: 0 }, { maxBatch: 1, maxSteps: 2 });
    expect(model.k.name).toBe(defaultBackend());
    expect(defaultBackend()).toBe(nativeAvailable() ? 'native' : 'wasm');
  });

  it('an unknown backend name is a usage error naming the choices', () => {
    expect(() => createKernels('gpu' as BackendName, 10)).toThrow(UsageError);
    expect(() => createKernels('gpu' as BackendName, 10)).toThrow(/unknown backend "gpu": use 'js', 'wasm' or 'native'/);
  });
});
