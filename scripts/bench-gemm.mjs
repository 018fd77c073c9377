#!/usr/bin/env node
// GEMM micro-benchmark of the built kernels (dist/, run `npm run build` first): GFLOP/s of the js and wasm
// backends, one thread, on the shapes of a training step and of sampling. Not a test; numbers go to stdout.
//   node scripts/bench-gemm.mjs [--wasm-only] [--seconds 0.5]
import { createKernels } from '../dist/kernels/index.js';

const args = process.argv.slice(2);
const withJs = !args.includes('--wasm-only');
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 0.5;

// [label, transA, transB, M, N, K, accumulate]: M = batch, T·B or 1, N = 4H gates or the vocabulary V, K = H.
const SHAPES = [
  ['NN  T·B×H · H×4H (input GEMM)', false, false, 2048, 512, 128, false],
  ['NN  B×H · H×4H (recurrence)', false, false, 64, 2048, 512, true],
  ['NN  B×H · H×4H (recurrence)', false, false, 32, 1024, 256, true],
  ['NN  T·B×H · H×V (logits)', false, false, 2048, 65, 512, false],
  ['NN  1×H · H×4H (sampling)', false, false, 1, 2048, 512, true],
  ['NT  dX = dG · Wᵀ', false, true, 2048, 128, 512, false],
  ['NT  dH = dG · Whᵀ', false, true, 64, 512, 2048, true],
  ['TN  dW += Xᵀ · dG', true, false, 128, 512, 2048, true],
  ['TN  dWh += Hᵀ · dG', true, false, 512, 2048, 64, true],
  ['TN  dWy += Hᵀ · dY', true, false, 512, 65, 2048, true],
  ['TT  (not used by the model)', true, true, 128, 128, 128, false],
];

/** Best GFLOP/s over repeated runs for `seconds`. */
function measure(kernels, [, transA, transB, M, N, K, accumulate]) {
  const lda = transA ? M : K, ldb = transB ? K : N;
  const a = 0, b = M * K, c = b + K * N;
  const flops = 2 * M * N * K;
  let best = Infinity;
  const end = performance.now() + seconds * 1000;
  do {
    const start = performance.now();
    kernels.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, N, accumulate);
    best = Math.min(best, performance.now() - start);
  } while (performance.now() < end);
  return flops / best / 1e6;
}

const floats = Math.max(...SHAPES.map(([, , , M, N, K]) => M * K + K * N + M * N));
const backends = withJs ? ['js', 'wasm'] : ['wasm'];
const kernels = Object.fromEntries(backends.map((name) => {
  const k = createKernels(name, floats);
  for (let i = 0; i < floats; i++) k.heap[i] = Math.sin(i) * 0.5;
  return [name, k];
}));

console.log(['shape'.padEnd(34), 'M×N×K'.padEnd(16), ...backends.map((b) => `${b} GFLOP/s`.padStart(14))].join(' '));
for (const shape of SHAPES) {
  const [label, , , M, N, K] = shape;
  const rates = backends.map((b) => measure(kernels[b], shape).toFixed(2).padStart(14));
  console.log([label.padEnd(34), `${M}×${N}×${K}`.padEnd(16), ...rates].join(' '));
}
