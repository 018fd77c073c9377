#!/usr/bin/env node
// GEMM micro-benchmark of the built kernels (dist/, run `npm run build` first): GFLOP/s of the js and wasm
// backends, one thread, on the shapes of a training step, of sampling and of serving, beside the peak of
// 128-bit SIMD multiply-adds measured by register-only WebAssembly loops. Not a test; numbers go to stdout.
//   node scripts/bench-gemm.mjs [--wasm-only] [--plain] [--native] [--seconds 0.5] [--turns 5] [--baseline DIR]
// `wasm` is the build training uses (relaxed SIMD where V8 compiles it); --plain adds the plain build that
// sampling uses; --native adds the native addon's BLAS and its row-exact loops (what a sampling model uses).
// --baseline DIR adds the wasm backend of another built copy of charnn (its dist/ and build/), measured in
// turn with this one, shape by shape, so that a loaded machine slows both alike: the ratio column compares.
import v8 from 'node:v8';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import asc from 'assemblyscript/asc';
import { createKernels } from '../dist/kernels/index.js';

// Node 20 keeps relaxed SIMD behind a flag (the kernels set it too, before compiling their relaxed module).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const withJs = !args.includes('--wasm-only');
const withPlain = args.includes('--plain');
const withNative = args.includes('--native');
const seconds = Number(option('--seconds')) || 0.5;
const baselineDir = option('--baseline');

// [label, transA, transB, M, N, K, accumulate]: M = batch, T·B or the streams sampled together, N = 4H
// gates or the vocabulary V, K = H.
const SHAPES = [
  ['NN  T·B×H · H×4H (input GEMM)', false, false, 2048, 512, 128, false],
  ['NN  B×H · H×4H (recurrence)', false, false, 64, 2048, 512, true],
  ['NN  B×H · H×4H (recurrence)', false, false, 32, 1024, 256, true],
  ['NN  T·B×H · H×V (logits)', false, false, 2048, 65, 512, false],
  ['NN  1×H · H×4H (sampling)', false, false, 1, 2048, 512, true],
  ['NN  2×256 sample, 1 row', false, false, 1, 1024, 256, true],
  ['NN  2×256 sample/serve, 8 rows', false, false, 8, 1024, 256, true],
  ['NN  2×256 sample/serve, 32 rows', false, false, 32, 1024, 256, true],
  ['NN  2×256 sample/serve, 64 rows', false, false, 64, 1024, 256, true],
  ['NN  2×256 serve, 128 rows', false, false, 128, 1024, 256, true],
  ['NN  K = 512 sample, 1 row', false, false, 1, 1024, 512, true],
  ['NN  K = 512 serve, 8 rows', false, false, 8, 1024, 512, true],
  ['NN  K = 512 serve, 32 rows', false, false, 32, 1024, 512, true],
  ['NN  K = 512 serve, 128 rows', false, false, 128, 1024, 512, true],
  ['NN  2×256 logits, 32 rows', false, false, 32, 65, 256, true],
  ['NN  2×128 serve, 8 rows', false, false, 8, 512, 128, true],
  ['NN  2×128 serve, 32 rows', false, false, 32, 512, 128, true],
  ['NN  2×128 serve, 64 rows', false, false, 64, 512, 128, true],
  ['NN  2×512 sample, 32 rows', false, false, 32, 2048, 512, true],
  ['NT  dX = dG · Wᵀ', false, true, 2048, 128, 512, false],
  ['NT  dH = dG · Whᵀ', false, true, 64, 512, 2048, true],
  ['TN  dW += Xᵀ · dG', true, false, 128, 512, 2048, true],
  ['TN  dWh += Hᵀ · dG', true, false, 512, 2048, 64, true],
  ['TN  dWy += Hᵀ · dY', true, false, 512, 65, 2048, true],
  ['TT  (not used by the model)', true, true, 128, 128, 128, false],
];

/** Turns per shape (each backend at least one product per turn): 1 for a quick look. */
const TURNS = Math.max(1, Math.floor(Number(option('--turns')) || 5));

/** Best GFLOP/s of `run` (which does `flops` operations) over repeated runs for a turn's time. */
function bestRate(run, flops) {
  let best = Infinity;
  const end = performance.now() + (seconds * 1000) / TURNS;
  do {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  } while (performance.now() < end);
  return flops / best / 1e6;
}

function measure(kernels, [, transA, transB, M, N, K, accumulate]) {
  const lda = transA ? M : K, ldb = transB ? K : N;
  const a = 0, b = M * K, c = b + K * N;
  return bestRate(() => kernels.gemm(transA, transB, M, N, K, a, lda, b, ldb, c, N, accumulate), 2 * M * N * K);
}

// The peak: independent chains acc = acc·m + c (multiply and add, as the kernels do; or one fused
// relaxed-SIMD multiply-add), nothing but registers, so only the floating-point units set the pace. The
// best of 8 to 12 chains: how many keep the units busy without the loop's own instructions in the way
// depends on the processor and on V8 (on an AMD EPYC 7xx3, 10 reach the processor's 16 flops a cycle, 12
// only 13).
const PEAK_CHAINS = [8, 10, 12];
const PEAK_ITERATIONS = 1 << 18;
/** One module with a function peak<count> for each chain count (one compile: asc is slow to start). */
function peakSource(madd) {
  return PEAK_CHAINS.map((count) => {
    const chains = Array.from({ length: count }, (_, i) => i);
    return `export function peak${count}(n: i32, x: f32): f32 {
      const m = f32x4.splat(x), c = f32x4.splat(1 - x);
      ${chains.map((i) => `let a${i} = f32x4.splat(${i});`).join(' ')}
      for (let i = 0; i < n; i++) { ${chains.map((i) => `a${i} = ${madd(`a${i}`, 'm', 'c')};`).join(' ')} }
      return ${chains.map((i) => `f32x4.extract_lane(a${i}, 0)`).join(' + ')};
    }`;
  }).join('\n');
}

async function peakRate(madd, features) {
  const { binary, stderr } = await asc.compileString(peakSource(madd), { optimizeLevel: 3, runtime: 'stub', enable: features });
  if (!binary) throw new Error(`the peak kernel did not compile: ${stderr.toString()}`);
  const { exports } = (await WebAssembly.instantiate(binary)).instance;
  let best = 0;
  for (const count of PEAK_CHAINS) {
    for (let turn = 0; turn < TURNS; turn++) best = Math.max(best, bestRate(() => exports[`peak${count}`](PEAK_ITERATIONS, 0.5), PEAK_ITERATIONS * count * 4 * 2));
  }
  return best;
}

const floats = Math.max(...SHAPES.map(([, , , M, N, K]) => M * K + K * N + M * N));
// [label, createKernels, backend, sampling]
const backends = [...(withJs ? [['js', createKernels, 'js', false]] : []), ['wasm', createKernels, 'wasm', false]];
if (withPlain) backends.push(['wasm plain', createKernels, 'wasm', true]);
if (withNative) backends.push(['native BLAS', createKernels, 'native', false], ['native exact', createKernels, 'native', true]);
if (baselineDir) {
  const { createKernels: baseline } = await import(pathToFileURL(path.resolve(baselineDir, 'dist/kernels/index.js')).href);
  backends.push(['baseline', baseline, 'wasm', false]);
  if (withPlain) backends.push(['base plain', baseline, 'wasm', true]);
  if (withNative) backends.push(['base exact', baseline, 'native', true]);
}
const kernels = backends.map(([label, create, backend, sampling]) => {
  const k = create(backend, floats, { sampling });
  for (let i = 0; i < floats; i++) k.heap[i] = Math.sin(i) * 0.5;
  return [label, k];
});

const peak = await peakRate((a, m, c) => `f32x4.add(f32x4.mul(${a}, ${m}), ${c})`, ['simd']);
const fusedPeak = await peakRate((a, m, c) => `f32x4.relaxed_madd(${a}, ${m}, ${c})`, ['simd', 'relaxed-simd']);
console.log(`peak of 128-bit SIMD, one thread: multiply + add ${peak.toFixed(2)} GFLOP/s, relaxed fused multiply-add ${fusedPeak.toFixed(2)} GFLOP/s`);

// Each build against its baseline: [numerator, denominator] labels.
const ratios = baselineDir ? [['wasm', 'baseline'], ...(withPlain ? [['wasm plain', 'base plain']] : []), ...(withNative ? [['native exact', 'base exact']] : [])] : [];
const ratio = ratios.map(([x, y]) => `${x}/${y}`.padStart(Math.max(14, x.length + y.length + 1)));
console.log(['shape'.padEnd(34), 'M×N×K'.padEnd(16), ...kernels.map(([b]) => `${b} GFLOP/s`.padStart(20)), ...ratio, 'wasm/fused peak'.padStart(16)].join(' '));
for (const shape of SHAPES) {
  const [label, , , M, N, K] = shape;
  // In turns of a fifth of the time each, so that a burst of load elsewhere does not fall on one alone.
  const rates = Object.fromEntries(kernels.map(([b]) => [b, 0]));
  for (let turn = 0; turn < TURNS; turn++) for (const [b, k] of kernels) rates[b] = Math.max(rates[b], measure(k, shape));
  const columns = kernels.map(([b]) => rates[b].toFixed(2).padStart(20));
  ratios.forEach(([x, y], i) => columns.push((rates[x] / rates[y]).toFixed(2).padStart(ratio[i].length)));
  columns.push(`${((100 * rates.wasm) / fusedPeak).toFixed(0)}%`.padStart(16));
  console.log([label.padEnd(34), `${M}×${N}×${K}`.padEnd(16), ...columns].join(' '));
}
