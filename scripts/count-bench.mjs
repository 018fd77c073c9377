#!/usr/bin/env node
// Times `charnn sample --count N` the batched way (the N samples stepped together as rows of one
// forward, Sampler.samples) against the serial way it replaced (N calls of Sampler.generate(), one row
// at a time), in one process on one checkpoint, checks that both give the same texts, and reports the
// ratio; and both against what `--count` was before issue 20, serial on the wasm kernels (the default
// backend then): the speed-up a user sees. BENCHMARKS.md quotes it.
//
//   node scripts/count-bench.mjs [--checkpoint FILE] [--count 32] [--length 1000] [--text FILE] [--json]
//
// Without --checkpoint, it trains a 2×256 LSTM for one iteration on the text in a temp folder (the speed
// of sampling does not depend on how well the model was trained), deleted after. The text defaults to
// ../shared/corpora/tinyshakespeare.txt when it exists, else corpora/lighthouse.txt. Uses the built
// package (npm run build).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBackend, loadCheckpoint, Sampler } from '../dist/index.js';
import { args, option, repo, textFile } from './script-options.mjs';

const count = Number(option('--count', '32'));
const length = Number(option('--length', '1000'));
if (!(Number.isInteger(count) && count >= 1) || !(Number.isInteger(length) && length >= 1)) {
  process.stderr.write('count-bench: --count and --length are whole numbers from 1\n');
  process.exit(2);
}

/** The checkpoint given, or a 2×256 one trained for one iteration in `dir`. */
function checkpointFile(dir) {
  const given = option('--checkpoint');
  if (given) return given;
  fs.copyFileSync(textFile(), path.join(dir, 'corpus.txt'));
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/charnn.js'), 'train', 'corpus.txt', '--layers', '2', '--hidden', '256', '--max-iters', '1', '--no-index'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`count-bench: training the 2×256 model failed:\n${r.stderr}`);
    process.exit(1);
  }
  return path.join(dir, 'checkpoints/corpus/latest.json');
}

/** The texts and the seconds `draw` took. */
function timed(draw) {
  const start = process.hrtime.bigint();
  const texts = draw();
  return { texts, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-count-bench-'));
try {
  const ckpt = await loadCheckpoint(checkpointFile(dir));
  const { layers, hiddenSize, cell } = ckpt.model;
  const options = { seed: 1, length };
  const oneAtATime = (backend) => timed(() => {
    const sampler = new Sampler(ckpt, { ...options, backend });
    return Array.from({ length: count }, () => [...sampler.generate()].join(''));
  });
  const before = oneAtATime('wasm');
  const serial = oneAtATime(undefined);
  const batched = timed(() => {
    const texts = Array(count).fill('');
    for (const chunk of new Sampler(ckpt, { ...options, rows: count }).samples(count)) texts[chunk.index] += chunk.text;
    return texts;
  });
  const same = serial.texts.every((text, i) => text === batched.texts[i]);
  const result = {
    model: `${layers}×${hiddenSize} ${cell}`, count, length,
    backend: defaultBackend(), before_wasm_serial_s: +before.seconds.toFixed(2),
    serial_s: +serial.seconds.toFixed(2), batched_s: +batched.seconds.toFixed(2),
    speedup: +(serial.seconds / batched.seconds).toFixed(2), vs_before: +(before.seconds / batched.seconds).toFixed(2), same_texts: same,
  };
  if (args.includes('--json')) console.log(JSON.stringify(result));
  else {
    console.log(`${result.model}, --count ${count} --length ${length} on ${result.backend}: serial ${result.serial_s} s, batched ${result.batched_s} s, ` +
      `${result.speedup}× faster; texts ${same ? 'identical' : 'DIFFERENT'}; before (serial on wasm) ${result.before_wasm_serial_s} s: ${result.vs_before}× faster now`);
  }
  if (!same) process.exitCode = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
