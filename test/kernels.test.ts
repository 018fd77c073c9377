import { describe, expect, it } from 'vitest';
import { JsKernels } from '../src/kernels/js.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { wasmAvailable, WasmKernels } from '../src/kernels/wasm.js';
import { Rng } from '../src/util/rng.js';

/**
 * The WebAssembly kernels against the plain-TypeScript reference, and the reference GEMM against a
 * naive triple loop. Both backends get the same heap contents; outputs must agree to ~1e-5 relative.
 */
const rng = new Rng(42);

function pair(floats = 1 << 20): { js: Kernels; wasm: Kernels } {
  const wasm = WasmKernels.create(floats);
  const js = new JsKernels(new Float32Array(floats));
  for (let i = 0; i < floats; i++) js.heap[i] = wasm.heap[i] = 2 * rng.uniform() - 1;
  return { js, wasm };
}

/** Relative to the largest magnitude in the region, so that near-zero entries do not dominate. */
function expectSameRegion(js: Kernels, wasm: Kernels, start: number, length: number, tolerance = 1e-5): void {
  let scale = 0, worst = 0;
  for (let i = start; i < start + length; i++) scale = Math.max(scale, Math.abs(js.heap[i]));
  for (let i = start; i < start + length; i++) worst = Math.max(worst, Math.abs(js.heap[i] - wasm.heap[i]));
  expect(worst / (scale || 1)).toBeLessThan(tolerance);
}

function tokens(n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

const ODD = [1, 3, 5, 7, 13, 17, 31, 33, 65];

describe.skipIf(!wasmAvailable())('wasm kernels agree with the reference', () => {
  const orientations = [[false, false], [true, false], [false, true], [true, true]] as const;
  for (const [transA, transB] of orientations) {
    for (const accumulate of [false, true]) {
      it(`gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}${accumulate ? ' accumulate' : ''} on odd sizes, padded rows and offsets`, () => {
        const { js, wasm } = pair();
        for (let trial = 0; trial < 24; trial++) {
          const M = ODD[trial % ODD.length], N = ODD[(trial * 5 + 2) % ODD.length], K = ODD[(trial * 7 + 4) % ODD.length];
          const pad = trial % 3; // leading dimensions longer than the rows
          const lda = (transA ? M : K) + pad, ldb = (transB ? K : N) + pad, ldc = N + pad;
          const a = 13 + trial, b = 20000 + 3 * trial, c = 60000 + trial;
          for (const k of [js, wasm]) k.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
          expectSameRegion(js, wasm, c, M * ldc);
        }
      });
    }
  }

  it('gemm on the shapes of a 2×256 LSTM step (blocked and packed paths)', () => {
    const { js, wasm } = pair(1600000);
    const shapes: [boolean, boolean, number, number, number][] = [
      [false, false, 32, 1024, 256], [false, false, 512, 1024, 256], [true, false, 256, 1024, 512], [false, true, 512, 256, 1024],
    ];
    for (const [tA, tB, M, N, K] of shapes) {
      const lda = tA ? M : K, ldb = tB ? K : N;
      // A, B and C in separate regions: [0, 530000), [530000, 1060000), [1060000, 1600000).
      for (const k of [js, wasm]) k.gemm(tA, tB, M, N, K, 0, lda, 530000, ldb, 1060000, N, true);
      expectSameRegion(js, wasm, 1060000, M * N);
    }
  });

  it('fillRows, gatherRows, scatterAddRows and addColumnSums', () => {
    const { js, wasm } = pair();
    const index = tokens(70, 11);
    for (const k of [js, wasm]) {
      k.fillRows(9, 13, 5, 1000);
      k.gatherRows(70, 13, index, 0, 2000, 3000, true);
      k.gatherRows(30, 7, index, 40, 2000, 5000, false);
      k.scatterAddRows(70, 13, index, 0, 6000, 8000);
      k.addColumnSums(33, 17, 9000, 12000);
    }
    for (const [start, n] of [[1000, 9 * 13], [3000, 70 * 13], [5000, 30 * 7], [8000, 11 * 13], [12000, 17]]) expectSameRegion(js, wasm, start, n);
  });

  it('gatherRows with more indices than one chunk of index slots', () => {
    const { js, wasm } = pair();
    const index = tokens(20000, 50);
    for (const k of [js, wasm]) k.gatherRows(20000, 5, index, 0, 0, 400000, false);
    expectSameRegion(js, wasm, 400000, 20000 * 5);
  });

  for (const [B, H] of [[1, 1], [3, 5], [32, 128], [7, 33]]) {
    it(`lstm forward and backward, B=${B} H=${H}`, () => {
      const { js, wasm } = pair();
      const gates = 0, cPrev = 100000, c = 110000, tanhC = 120000, h = 130000, dh = 140000, dc = 150000, dGates = 160000;
      for (const k of [js, wasm]) {
        k.lstmForward(B, H, gates, cPrev, c, tanhC, h);
        k.lstmBackward(B, H, gates, cPrev, tanhC, dh, dc, dGates);
      }
      for (const [start, n] of [[gates, B * 4 * H], [c, B * H], [tanhC, B * H], [h, B * H], [dc, B * H], [dGates, B * 4 * H]]) expectSameRegion(js, wasm, start, n);
    });

    it(`gru forward and backward, B=${B} H=${H}`, () => {
      const { js, wasm } = pair();
      const gx = 0, gh = 100000, hPrev = 200000, h = 210000, dh = 220000, dhPrev = 230000, dgx = 240000, dgh = 300000;
      for (const k of [js, wasm]) {
        k.gruForward(B, H, gx, gh, hPrev, h);
        k.gruBackward(B, H, gx, gh, hPrev, dh, dhPrev, dgx, dgh);
      }
      for (const [start, n] of [[gx, B * 3 * H], [h, B * H], [dhPrev, B * H], [dgx, B * 3 * H], [dgh, B * 3 * H]]) expectSameRegion(js, wasm, start, n);
    });
  }

  it('tanh forward and backward, multiply', () => {
    const { js, wasm } = pair();
    for (const k of [js, wasm]) {
      k.tanhForward(1001, 0);
      k.tanhBackward(1001, 0, 2000, 4000);
      k.multiply(999, 6000, 8000);
    }
    for (const start of [0, 4000, 6000]) expectSameRegion(js, wasm, start, 999);
  });

  it('softmax cross-entropy: probabilities, loss and gradient', () => {
    const { js, wasm } = pair();
    const N = 37, V = 67;
    for (let i = 0; i < N * V; i++) js.heap[i] = wasm.heap[i] = 8 * js.heap[i];
    const targets = tokens(N + 5, V);
    const losses = [js, wasm].map((k) => k.softmaxCrossEntropy(N, V, 0, targets, 5));
    expect(Math.abs(losses[0] - losses[1]) / losses[0]).toBeLessThan(1e-5);
    expectSameRegion(js, wasm, 0, N * V);
    for (const k of [js, wasm]) k.softmaxCrossEntropyBackward(N, V, 0, targets, 5, 0.25);
    expectSameRegion(js, wasm, 0, N * V);
  });
});

describe('the reference gemm', () => {
  it('matches a naive triple loop in all four orientations with accumulate', () => {
    const k = new JsKernels(new Float32Array(4096));
    for (let i = 0; i < 4096; i++) k.heap[i] = 2 * rng.uniform() - 1;
    const M = 5, N = 7, K = 3;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = 0, b = 100, c = 200;
        const lda = transA ? M : K, ldb = transB ? K : N;
        const before = k.heap.slice(c, c + M * N);
        k.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, N, true);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let sum = before[i * N + j];
            for (let p = 0; p < K; p++) {
              sum += (transA ? k.heap[a + p * lda + i] : k.heap[a + i * lda + p]) * (transB ? k.heap[b + j * ldb + p] : k.heap[b + p * ldb + j]);
            }
            expect(k.heap[c + i * N + j]).toBeCloseTo(sum, 5);
          }
        }
      }
    }
  });
});
