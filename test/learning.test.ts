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
 * Lines of the form  K<28 random x/y>K  where K is one of four keys: predicting the last character
 * needs a memory of 29 characters, and nothing in between hints at it.
 */
function recallText(lines: number, seed: number): string {
  const rng = new Rng(seed);
  const keys = 'ABCD';
  let text = '';
  for (let i = 0; i < lines; i++) {
    const key = keys[Math.floor(rng.uniform() * 4)];
    let filler = '';
    for (let j = 0; j < 28; j++) filler += rng.uniform() < 0.5 ? 'x' : 'y';
    text += `${key}${filler}${key}\n`;
  }
  return text;
}

/** Mean loss (nats) of predicting the closing key of each line, the state reset at the start of every line. */
async function recallLoss(checkpointFile: string, text: string): Promise<number> {
  const ckpt = await loadCheckpoint(checkpointFile);
  const vocab = Vocab.fromChars(ckpt.vocab);
  const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 40, backend });
  const lines = text.split('\n').filter((l) => l.length > 0);
  let total = 0;
  for (const line of lines) {
    const tokens = Int32Array.from(vocab.encode(line));
    const inputs = tokens.subarray(0, tokens.length - 1);
    const targets = tokens.subarray(1);
    model.resetState(1);
    const probs = model.forward(inputs, inputs.length, 1, null);
    model.loss(targets);
    const last = inputs.length - 1;
    total -= Math.log(model.k.heap[probs + last * vocab.size + targets[last]]);
  }
  return total / lines.length;
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

  it('an LSTM remembers across 29 characters better than a plain RNN with the same budget', async () => {
    const text = recallText(2500, 1);
    const held = recallText(200, 2);
    const config = { seqLength: 64, batchSize: 16, lr: 5e-3, maxIters: 800, valFrac: 0 };
    const lstm = await trainOn(text, 'recall-lstm', { cell: 'lstm', hiddenSize: 32 }, config);
    const rnn = await trainOn(text, 'recall-rnn', { cell: 'rnn', hiddenSize: 32 }, config);
    const lstmLoss = await recallLoss(lstm.done.latest, held);
    const rnnLoss = await recallLoss(rnn.done.latest, held);
    // Guessing among four keys costs ln 4 ≈ 1.39 nats.
    expect(lstmLoss).toBeLessThan(0.35);
    expect(rnnLoss).toBeGreaterThan(lstmLoss + 0.5);
  }, 120_000);
});
