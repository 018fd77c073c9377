import { describe, expect, it } from 'vitest';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { Vocab } from '../src/data/vocab.js';
import type { BackendName } from '../src/kernels/index.js';
import { rowSeed, SampleBatch, type SampleRow } from '../src/sample/batch.js';
import { Sampler, type SampleOptions } from '../src/sample/sampler.js';
import { Rng } from '../src/util/rng.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

const VOCAB = ['\n', ' ', 'a', 'b', 'c', 'd', 'e', '☃'];

/** Rows of every kind: primes or none, temperatures, top-k, top-p, argmax, stop strings that end rows early. */
const ROWS: (SampleOptions & { seed: number; length: number; joinAt: number })[] = [
  { seed: 1, length: 120, joinAt: 0 },
  { seed: 2, length: 80, prime: 'bad ', temperature: 0.7, joinAt: 0 },
  { seed: 3, length: 500, stop: ['ab', 'c'], joinAt: 0 },
  { seed: 4, length: 60, topK: 3, joinAt: 5 },
  { seed: 5, length: 90, topP: 0.8, prime: '☃', joinAt: 5 },
  { seed: 6, length: 40, argmax: true, prime: 'cab', joinAt: 17 },
  { seed: 7, length: 500, stop: ['e', 'dd'], temperature: 1.5, joinAt: 30 },
  { seed: 8, length: 0, prime: 'abc', joinAt: 31 },
  { seed: 9, length: 70, topK: 4, topP: 0.9, temperature: 0.9, joinAt: 64 },
];

function together(backend: BackendName, cell: 'lstm' | 'gru' | 'rnn'): string[] {
  const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1, model: { cell, hiddenSize: 24, layers: 2 } });
  const batch = new SampleBatch(modelFromCheckpoint(ckpt, { maxBatch: 8, maxSteps: 1, backend }), Vocab.fromChars(VOCAB));
  const texts = ROWS.map(() => '');
  const rows = new Map<number, SampleRow>();
  for (let step = 0; rows.size < ROWS.length || [...rows.values()].some((r) => !r.done); step++) {
    ROWS.forEach((o, i) => {
      if (o.joinAt === step) rows.set(i, batch.add({ ...o, prime: o.prime ?? '', rng: new Rng(o.seed), echo: true }));
    });
    batch.step();
    for (const [i, row] of rows) texts[i] += row.take().map((p) => p.char).join('');
  }
  return texts;
}

describe('SampleBatch: many rows, one forward per step', () => {
  for (const [backend, cell] of [['js', 'lstm'], ['wasm', 'lstm'], ['wasm', 'gru'], ['wasm', 'rnn']] as const) {
    it(`gives each row exactly the text a Sampler with its seed and options gives alone (${backend}, ${cell}; rows join late and leave early)`, () => {
      const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1, model: { cell, hiddenSize: 24, layers: 2 } });
      const serial = ROWS.map((o) => [...new Sampler(ckpt, { ...o, backend }).generate()].join(''));
      const texts = together(backend, cell);
      expect(texts).toEqual(serial);
      expect(texts[6]).toMatch(/(e|dd)$/); // the stop strings did end rows early
      expect([...texts[6]].length).toBeLessThan(500);
      expect(texts[7]).toBe('abc');
    });
  }

  it('leaves room: a row that finished makes way for a new one, and a full batch refuses more', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1 });
    const batch = new SampleBatch(modelFromCheckpoint(ckpt, { maxBatch: 2, maxSteps: 1, backend: 'js' }), Vocab.fromChars(VOCAB));
    const short = batch.add({ prime: '', length: 1, rng: new Rng(1) });
    const long = batch.add({ prime: '', length: 5, rng: new Rng(2) });
    expect(() => batch.add({ prime: '', length: 5, rng: new Rng(3) })).toThrow(/full/);
    batch.step();
    expect(short.finishReason).toBe('length');
    expect(batch.size).toBe(1);
    batch.remove(long);
    expect(batch.size).toBe(0);
    expect(batch.step()).toEqual([]);
  });

  it('scores an echoed prime: every character after the first gets its log-probability', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1 });
    const batch = new SampleBatch(modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend: 'js' }), Vocab.fromChars(VOCAB));
    const row = batch.add({ prime: 'abcd', length: 0, rng: new Rng(1), echo: true, logprobs: 2 });
    const pieces = row.take();
    while (!row.done) {
      batch.step();
      pieces.push(...row.take());
    }
    expect(pieces.map((p) => p.char).join('')).toBe('abcd');
    expect(pieces[0].logprob).toBeNull();
    for (const p of pieces.slice(1)) {
      expect(p.logprob).toBeLessThan(0);
      expect(p.top).toHaveLength(2);
      expect(p.top![0][1]).toBeGreaterThanOrEqual(p.top![1][1]);
    }
  });

  it('row i of a request with seed s draws from seed s + i', () => {
    expect([0, 1, 2].map((i) => rowSeed(7, i))).toEqual([7, 8, 9]);
    expect(rowSeed(4294967295, 1)).toBe(0);
  });
});
