import { describe, expect, it } from 'vitest';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { sample, Sampler } from '../src/sample/sampler.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

const VOCAB = ['\n', ' ', 'a', 'b', 'c', 'd', 'e'];
const BIAS = [0.1, 1.2, 2.0, -0.5, 0.7, 1.6, -1.0];

function draw(sampler: Sampler): string {
  return [...sampler.generate()].join('');
}

function softmax(logits: number[], temperature = 1): number[] {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp((l - max) / temperature));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe('the sampler', () => {
  it('at temperature 1 draws each character with its softmax probability (chi-square, fixed seed)', () => {
    const n = 20000;
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: n, seed: 3 }));
    const expected = softmax(BIAS).map((p) => p * n);
    const counts = VOCAB.map((c) => [...text].filter((x) => x === c).length);
    const chi2 = counts.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0);
    // 6 degrees of freedom: P(χ² > 22.46) = 0.001.
    expect(chi2).toBeLessThan(22.46);
  });

  it('temperature 0.5 sharpens the distribution as softmax(logits / 0.5)', () => {
    const n = 20000;
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: n, seed: 4, temperature: 0.5 }));
    const expected = softmax(BIAS, 0.5).map((p) => p * n);
    const counts = VOCAB.map((c) => [...text].filter((x) => x === c).length);
    const chi2 = counts.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it('a tiny temperature (1e-6) gives the argmax text of an arbitrary network', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1.5, model: { hiddenSize: 12, layers: 2 } });
    const greedy = draw(new Sampler(ckpt, { length: 300, argmax: true }));
    const cold = draw(new Sampler(ckpt, { length: 300, temperature: 1e-6, seed: 5 }));
    expect(cold).toBe(greedy);
    expect(new Set(greedy).size).toBeGreaterThan(1); // the network does depend on its input
  });

  it('top-k never emits a character outside the k most likely', () => {
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: 5000, seed: 6, topK: 3 }));
    expect(new Set(text)).toEqual(new Set(['a', 'd', ' ']));
  });

  it('top-p keeps the smallest set of most likely characters that reaches p', () => {
    // Probabilities sorted: a .374, d .251, ' ' .168, c .102 …; two make .625, three .793.
    const ckpt = handMadeCheckpoint(VOCAB, { decoderBias: BIAS });
    expect(new Set(draw(new Sampler(ckpt, { length: 5000, seed: 7, topP: 0.6 })))).toEqual(new Set(['a', 'd']));
    expect(new Set(draw(new Sampler(ckpt, { length: 5000, seed: 7, topP: 0.7 })))).toEqual(new Set(['a', 'd', ' ']));
  });

  it('top-k and top-p together: the nucleus is taken among the k best, renormalised', () => {
    // Among a and d (.598 and .402 once renormalised), a alone reaches 0.55.
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: 3000, seed: 8, topK: 2, topP: 0.55 }));
    expect(new Set(text)).toEqual(new Set(['a']));
  });

  it('top-k of the vocabulary size or more keeps every character; top-p 1 too', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { decoderBias: BIAS });
    expect(new Set(draw(new Sampler(ckpt, { length: 5000, seed: 9, topK: 100 })))).toEqual(new Set(VOCAB));
    expect(draw(new Sampler(ckpt, { length: 500, seed: 9, topP: 1 }))).toBe(draw(new Sampler(ckpt, { length: 500, seed: 9 })));
  });

  it('at temperature 1, the character after a prime follows the softmax of the network (chi-square)', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1.5, model: { hiddenSize: 12, layers: 2 } });
    const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 4, backend: 'js' });
    model.resetState(1);
    const prime = 'bad';
    // The sampler reads the start token (the newline) first, then the prime.
    const logitsAt = model.forward(Int32Array.from([...`\n${prime}`].map((c) => VOCAB.indexOf(c))), 4, 1, null);
    const logits = Array.from(model.k.heap.subarray(logitsAt + 3 * VOCAB.length, logitsAt + 4 * VOCAB.length));
    const n = 10000;
    const sampler = new Sampler(ckpt, { length: 1, prime, seed: 10, backend: 'js' });
    const counts = new Map(VOCAB.map((c) => [c, 0]));
    for (let i = 0; i < n; i++) {
      const next = draw(sampler).slice(prime.length);
      counts.set(next, counts.get(next)! + 1);
    }
    const expected = softmax(logits).map((p) => p * n);
    const chi2 = VOCAB.reduce((sum, c, i) => sum + (counts.get(c)! - expected[i]) ** 2 / expected[i], 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it('the same seed gives the same text, another seed another', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { randomWeights: 1, model: { cell: 'gru' } });
    const one = draw(new Sampler(ckpt, { length: 200, seed: 11 }));
    expect(draw(new Sampler(ckpt, { length: 200, seed: 11 }))).toBe(one);
    expect(draw(new Sampler(ckpt, { length: 200, seed: 12 }))).not.toBe(one);
  });

  it('prints the prime first and counts only generated characters in the length', () => {
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: 10, seed: 1, prime: 'abc ' }));
    expect(text.startsWith('abc ')).toBe(true);
    expect([...text].length).toBe(14);
  });

  it('refuses prime characters outside the vocabulary, listing them, or drops them when asked', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { decoderBias: BIAS });
    expect(() => draw(new Sampler(ckpt, { prime: 'bad xyz' }))).toThrow(/3 character\(s\) not in the model's vocabulary: "x" "y" "z"; .*--prime-unknown skip/);
    const text = draw(new Sampler(ckpt, { prime: 'bad xyz', primeUnknown: 'skip', length: 0 }));
    expect(text).toBe('bad ');
  });

  it('ends a sample when a stop string appears, the stop string included', () => {
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: 100000, seed: 2, stop: ['da'] }));
    expect(text.endsWith('da')).toBe(true);
    expect(text.indexOf('da')).toBe(text.length - 2);
  });

  it('a stop string is looked for in the generated text only, not in the prime', () => {
    const text = draw(new Sampler(handMadeCheckpoint(VOCAB, { decoderBias: BIAS }), { length: 100000, seed: 2, prime: 'da', stop: ['da'] }));
    expect(text.length).toBeGreaterThan(4);
    expect(text.indexOf('da', 2)).toBe(text.length - 2);
  });

  it('an astral-plane vocabulary round-trips: every output character is one of the vocabulary', async () => {
    const astral = ['𝔞', '𝔟', '😀', '🦊', '\u{10FFFD}', '中'];
    const chars: string[] = [];
    for await (const c of sample(handMadeCheckpoint(astral, { randomWeights: 1 }), { length: 500, seed: 3, prime: '🦊𝔞' })) chars.push(c);
    expect(chars.length).toBe(502);
    for (const c of chars) expect(astral).toContain(c);
    const bytes = Buffer.from(chars.join(''), 'utf8');
    expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(chars.join(''));
  });
});
