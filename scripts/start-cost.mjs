#!/usr/bin/env node
// The start cost of a trained model: how much worse it predicts the beginning of a paragraph when it
// reads it from a fresh (zero) state than when it has read the text before it.
//
//   node scripts/start-cost.mjs checkpoints/lighthouse/best.json corpora/lighthouse.txt
//
// The corpus is read as training read it (the checkpoint's vocabulary and document separator) and split
// as training splits it; only the held-out part (the last --val-frac, by default the run's) is used.
// A paragraph start is a character that is not a newline and follows a blank line ("\n\n") or a
// document separator. For every start p with `context` characters before it and `chars` after it:
//   fresh:   a zero state reads tokens[p−1] (the newline or separator), then tokens[p … p+chars−1)
//   context: a zero state reads tokens[p−context … p−1] first, then the same characters
// and both score the `chars` characters from p. With --prefix, the fresh reading reads that text first
// (a starting state other than zero, as a sampler could use). The start cost is the mean loss of the fresh reading
// divided by that of the reading with context, over all the starts (and for each half of the characters).
//
// Uses the built package (npm install builds it). BENCHMARKS.md quotes its output.
import { parseArgs } from 'node:util';
import { splitTrainVal } from '../dist/data/batches.js';
import { CharnnError, DEFAULT_DOC_SEP, loadCheckpoint, modelFromCheckpoint, readCorpus, UsageError, Vocab } from '../dist/index.js';

const USAGE = 'usage: node scripts/start-cost.mjs <checkpoint> <corpus...> [--chars 50] [--context 300] [--val-frac <the run\'s>] [--prefix <text>]';
let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: { chars: { type: 'string', default: '50' }, context: { type: 'string', default: '300' }, 'val-frac': { type: 'string' }, prefix: { type: 'string', default: '' } },
  });
} catch (err) {
  console.error(`${USAGE}\n${err.message}`);
  process.exit(2);
}
const [file, ...corpus] = args.positionals;
const chars = Number(args.values.chars);
const context = Number(args.values.context);
if (!file || corpus.length === 0 || !(Number.isInteger(chars) && chars >= 2) || !(Number.isInteger(context) && context >= 1)) {
  console.error(`${USAGE}\n(--chars is a whole number from 2, --context from 1)`);
  process.exit(2);
}

/** A problem the user can fix (no checkpoint, no corpus, a bad --val-frac): its one line, and charnn's exit code. */
async function orExit(work) {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof CharnnError)) throw err;
    console.error(err.message);
    process.exit(err.exitCode);
  }
}

const ckpt = await orExit(() => loadCheckpoint(file));
const valFrac = args.values['val-frac'] === undefined ? ckpt.config.valFrac : Number(args.values['val-frac']);
const vocab = Vocab.fromChars(ckpt.vocab);
const separator = ckpt.training.corpus.docSep === undefined ? DEFAULT_DOC_SEP : ckpt.training.corpus.docSep;
const docSep = separator !== null && vocab.indexOf(separator) >= 0 ? separator : null;
const { tokens } = await orExit(() => readCorpus(corpus, { vocab, docSep }));
const { val } = await orExit(() => splitTrainVal(tokens, valFrac));
const cut = tokens.length - val.length;

const newline = vocab.indexOf('\n');
const sep = docSep === null ? -1 : vocab.indexOf(docSep);
// Escapes as in a JSON string: --prefix '\n\n', --prefix '\u001e'.
const prefixText = await orExit(() => {
  try {
    return JSON.parse(`"${args.values.prefix.replaceAll('"', '\\"')}"`);
  } catch (err) {
    throw new UsageError(`--prefix ${JSON.stringify(args.values.prefix)}: ${err.message}`);
  }
});
const prefix = [...(await orExit(() => vocab.encode(prefixText)))];
const starts = [];
for (let p = Math.max(cut, context, 2); p + chars <= tokens.length; p++) {
  const t = tokens[p];
  if (t === newline || t === sep) continue;
  if (tokens[p - 1] === sep || (tokens[p - 1] === newline && tokens[p - 2] === newline)) starts.push(p);
}
if (starts.length === 0) {
  console.error(`the held-out ${valFrac} of the corpus (${val.length} characters) has no paragraph start with ${context} characters before it and ${chars} after it`);
  process.exit(1);
}

const half = Math.floor(chars / 2);
const STEPS = 64;
const BATCH = 64;
const model = modelFromCheckpoint(ckpt, { maxBatch: BATCH, maxSteps: STEPS });

/**
 * Summed loss (nats) of the characters [p, p+half) and [p+half, p+chars) over all starts p, each read by a
 * zero state that first reads `prefix` (tokens) and then the text from p − before: all the inputs
 * before tokens[p − 1] only build the state.
 */
function score(before, prefix = []) {
  const sums = [0, 0];
  for (let first = 0; first < starts.length; first += BATCH) {
    const group = starts.slice(first, first + BATCH), B = group.length;
    const inputs = new Int32Array(B * STEPS), targets = new Int32Array(B * STEPS);
    // Runs `steps` steps of every stream (time-major [steps·B]): step t reads input(p, t) and predicts target(p, t).
    const run = (steps, input, target) => {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < steps; t++) {
          inputs[t * B + b] = input(group[b], t);
          targets[t * B + b] = target(group[b], t);
        }
      }
      const loss = model.score(inputs, targets, steps, B);
      model.carryState();
      return loss;
    };
    // Reads the text [p + from − 1, p + from + steps − 1) and scores the next character of each.
    const read = (from, steps) => run(steps, (p, t) => tokens[p + from + t - 1], (p, t) => tokens[p + from + t]);
    model.resetState(B);
    for (let from = 0; from < prefix.length; from += STEPS) run(Math.min(STEPS, prefix.length - from), (_, t) => prefix[from + t], () => 0);
    for (let from = 1 - before; from < 0; from += STEPS) read(from, Math.min(STEPS, -from));
    sums[0] += read(0, half);
    sums[1] += read(half, chars - half);
  }
  return sums;
}

const fresh = score(1, prefix);
const withContext = score(context);
const bits = (nats, n) => nats / n / Math.LN2;
const rows = [
  [`0–${chars}`, fresh[0] + fresh[1], withContext[0] + withContext[1], chars],
  [`0–${half}`, fresh[0], withContext[0], half],
  [`${half}–${chars}`, fresh[1], withContext[1], chars - half],
];
console.log(`${file}: ${starts.length} paragraph starts in the held-out ${valFrac} of the corpus (${val.length} characters)`);
console.log(`chars   fresh   after ${context}   start cost   (mean loss, bits/char)`);
for (const [name, f, c, n] of rows) {
  const a = bits(f, starts.length * n), b = bits(c, starts.length * n);
  console.log(`${name.padEnd(6)}  ${a.toFixed(4)}  ${b.toFixed(4).padStart(5 + String(context).length)}   ${(a / b).toFixed(3)}×`);
}
