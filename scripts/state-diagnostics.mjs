#!/usr/bin/env node
// How a trained model's recurrent state behaves on a text: the loss when the text is read as 1 to 64
// streams (each starting from a zero state), and, for a few starting points, how many cells of each layer
// hold values beyond ±5 (saturated: tanh(c) is then a constant) after 200 and 4000 characters.
//
//   node scripts/state-diagnostics.mjs checkpoints/input/best.json text.txt
//
// Uses the built package (npm install builds it). BENCHMARKS.md quotes its output for tinyshakespeare.
import fs from 'node:fs';
import { evalBatches } from '../dist/data/batches.js';
import { evaluate, loadCheckpoint, modelFromCheckpoint, Vocab } from '../dist/index.js';

const [file, textFile] = process.argv.slice(2);
if (!file || !textFile) {
  console.error('usage: node scripts/state-diagnostics.mjs <checkpoint> <text file>');
  process.exit(2);
}
const ckpt = await loadCheckpoint(file);
const tokens = Vocab.fromChars(ckpt.vocab).encode(fs.readFileSync(textFile, 'utf8'));
const T = 64;

console.log('streams  loss (nats/char)');
for (const B of [1, 4, 16, 32, 64]) {
  const model = modelFromCheckpoint(ckpt, { maxBatch: B, maxSteps: T });
  console.log(`${String(B).padStart(7)}  ${evaluate(model, tokens, B, T).loss.toFixed(4)}`);
}

// Reads `length` characters from `start` with one stream from a zero state; returns the loss and the state.
const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: T });
function readFrom(start, length) {
  model.resetState(1);
  let total = 0, first = true;
  for (const { inputs, targets, steps } of evalBatches(tokens.subarray(start, start + length + 1), 1, T)) {
    if (!first) model.carryState();
    first = false;
    total += model.score(inputs, targets, steps, 1);
  }
  model.carryState();
  return { loss: total / length, state: model.saveState(1) };
}

const names = ckpt.model.cell === 'lstm' ? ['h', 'c'] : ['h'];
const quarter = Math.floor((tokens.length - 1) / 4);
console.log(`\nfrom   chars  loss   cells beyond ±5 (max |value|) per layer and state, of ${ckpt.model.hiddenSize}`);
for (const start of [0, quarter, 2 * quarter, 3 * quarter]) {
  for (const length of [200, 4000]) {
    if (start + length + 1 > tokens.length) continue;
    const { loss, state } = readFrom(start, length);
    const cells = state.map((values, i) => {
      let big = 0, max = 0;
      for (const v of values) {
        if (Math.abs(v) > 5) big++;
        max = Math.max(max, Math.abs(v));
      }
      return `L${Math.floor(i / names.length)}.${names[i % names.length]} ${big} (${max.toFixed(0)})`;
    });
    console.log(`${String(start).padEnd(6)} ${String(length).padStart(5)}  ${loss.toFixed(2)}   ${cells.join('  ')}`);
  }
}
