import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../src/checkpoint/format.js';
import { loadCheckpoint } from '../src/checkpoint/store.js';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { Vocab } from '../src/data/vocab.js';
import { defaultBackend } from '../src/kernels/index.js';
import type { CellType } from '../src/model/model.js';
import { train } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { tempDir } from './helpers/cli.js';

/** Does the model actually learn? Small models, fixed seeds, a few seconds each. */
const backend = defaultBackend();

async function trainOn(text: string, name: string, model: { cell?: CellType; hiddenSize: number; layers?: number }, config: Partial<TrainingConfig>) {
  const dir = tempDir(name);
  const corpusPath = path.join(dir, `${name}.txt`);
  fs.writeFileSync(corpusPath, text);
  const done = await train({
    corpusPath, checkpointDir: path.join(dir, 'ckpt'), backend,
    model: { layers: 1, ...model }, config: { maxEpochs: null, evalEvery: 100000, ...config },
  });
  return { done, latest: await loadCheckpoint(path.join(dir, 'ckpt', 'latest.json')) };
}

/** A first-order Markov chain over a small alphabet, and its entropy rate in nats/char. */
function markovText(chars: number): { text: string; entropyRate: number } {
  const alphabet = ['a', 'b', 'c', 'd', ' '];
  const rng = new Rng(5);
  // Each state favours a different next character, so the rate is well below ln 5.
  const P = alphabet.map((_, i) => alphabet.map((_, j) => (j === (i + 1) % alphabet.length ? 6 : j === i ? 2 : 1)))
    .map((row) => row.map((w) => w / row.reduce((a, b) => a + b, 0)));
  // Stationary distribution by power iteration.
  let pi = alphabet.map(() => 1 / alphabet.length);
  for (let k = 0; k < 200; k++) pi = alphabet.map((_, j) => pi.reduce((s, p, i) => s + p * P[i][j], 0));
  const entropyRate = -pi.reduce((s, p, i) => s + p * P[i].reduce((t, q) => t + q * Math.log(q), 0), 0);
  let state = 0;
  let text = '';
  for (let n = 0; n < chars; n++) {
    let u = rng.uniform();
    let next = 0;
    while (next < alphabet.length - 1 && u >= P[state][next]) u -= P[state][next++];
    text += alphabet[next];
    state = next;
  }
  return { text, entropyRate };
}

/**
 * Lines like  (xyxxy…y)  with 22–26 random x/y between a bracket and its partner: choosing the closing
 * bracket needs a memory of more than 20 characters, and nothing in between hints at it.
 */
const OPENERS = '([{<';
const CLOSERS = ')]}>';

function bracketText(lines: number, seed: number): string {
  const rng = new Rng(seed);
  let text = '';
  for (let i = 0; i < lines; i++) {
    const kind = Math.floor(rng.uniform() * 4);
    const length = 22 + Math.floor(rng.uniform() * 5);
    let filler = '';
    for (let j = 0; j < length; j++) filler += rng.uniform() < 0.5 ? 'x' : 'y';
    text += `${OPENERS[kind]}${filler}${CLOSERS[kind]}\n`;
  }
  return text;
}

/**
 * Mean loss (nats) of choosing the right closing bracket, given that a closing bracket comes: the
 * probability of the right one among the four. Guessing costs ln 4 ≈ 1.39. The text is read as one
 * stream with the state carried, as in training.
 */
async function bracketLoss(checkpointFile: string, text: string): Promise<number> {
  const ckpt = await loadCheckpoint(checkpointFile);
  const vocab = Vocab.fromChars(ckpt.vocab);
  const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend });
  const closers = [...CLOSERS].map((c) => vocab.indexOf(c));
  const tokens = Int32Array.from(vocab.encode(text));
  let total = 0, count = 0;
  model.resetState(1);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const logits = model.forward(tokens.subarray(i, i + 1), 1, 1, null);
    model.carryState();
    const next = closers.indexOf(tokens[i + 1]);
    if (next < 0) continue;
    const weights = closers.map((c) => Math.exp(model.k.heap[logits + c]));
    total -= Math.log(weights[next] / weights.reduce((a, b) => a + b, 0));
    count++;
  }
  return total / count;
}

describe('learning', () => {
  it('memorises a short string to near-zero loss', async () => {
    const text = 'the keeper lit the lamp at dusk.\n'.repeat(40);
    const { latest } = await trainOn(text, 'memorise', { hiddenSize: 48 }, {
      seqLength: 32, batchSize: 4, lr: 1e-2, maxIters: 300, valFrac: 0,
    });
    expect(latest.training.smoothLoss!).toBeLessThan(0.05);
  });

  it('comes within 0.1 nats/char of the entropy rate of a Markov source', async () => {
    const { text, entropyRate } = markovText(60000);
    const { done } = await trainOn(text, 'markov', { hiddenSize: 32 }, {
      seqLength: 32, batchSize: 16, lr: 5e-3, maxIters: 600, valFrac: 0.1,
    });
    expect(done.lastValLoss!).toBeGreaterThan(entropyRate - 0.05); // it cannot beat the source
    expect(done.lastValLoss! - entropyRate).toBeLessThan(0.1);
  });

  it('an LSTM closes brackets opened more than 20 characters earlier; a plain RNN with the same budget does not', async () => {
    const text = bracketText(2500, 1);
    const held = bracketText(300, 2);
    const config = { seqLength: 64, batchSize: 16, lr: 2e-2, maxIters: 3000, valFrac: 0 };
    const lstm = await trainOn(text, 'brackets-lstm', { cell: 'lstm', hiddenSize: 64 }, config);
    const rnn = await trainOn(text, 'brackets-rnn', { cell: 'rnn', hiddenSize: 64 }, config);
    const lstmLoss = await bracketLoss(lstm.done.latest, held);
    const rnnLoss = await bracketLoss(rnn.done.latest, held);
    expect(lstmLoss).toBeLessThan(0.7);
    expect(rnnLoss).toBeGreaterThan(lstmLoss + 0.5);
  });
});
