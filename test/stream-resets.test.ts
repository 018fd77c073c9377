import { describe, expect, it } from 'vitest';
import { BatchStream, streamsToReset } from '../src/data/batches.js';
import { Vocab } from '../src/data/vocab.js';

/** Which streams training starts from a zero state (issue 23: a fresh state must be a familiar one). */
describe('streamsToReset', () => {
  it('is a function of seed, iteration and stream alone: the same choice every time it is asked', () => {
    const first = Array.from({ length: 200 }, (_, iteration) => streamsToReset(1, iteration, 32, 1 / 16));
    const again = Array.from({ length: 200 }, (_, iteration) => streamsToReset(1, iteration, 32, 1 / 16));
    expect(again).toEqual(first);
    // A stream's draw does not depend on how many streams there are (nor, so, on how they are shared out).
    expect(Array.from({ length: 200 }, (_, iteration) => streamsToReset(1, iteration, 8, 1 / 16))).toEqual(first.map((s) => s.filter((b) => b < 8)));
  });

  it('resets each stream with the probability given, and other streams at other iterations and seeds', () => {
    const draws = (seed: number, p: number) => Array.from({ length: 2000 }, (_, iteration) => streamsToReset(seed, iteration, 32, p));
    const count = (choice: number[][]) => choice.reduce((sum, s) => sum + s.length, 0);
    // 64,000 draws: the count is within 4 standard deviations of p·n.
    for (const p of [1 / 32, 1 / 16, 1 / 8]) {
      const n = 2000 * 32, sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(count(draws(1, p)) - n * p)).toBeLessThan(4 * sd);
    }
    expect(draws(2, 1 / 16)).not.toEqual(draws(1, 1 / 16));
    expect(new Set(draws(1, 1 / 16).flat()).size).toBe(32); // every stream is reset at some point
    expect(count(draws(1, 0))).toBe(0);
    expect(count(draws(1, 1))).toBe(2000 * 32);
  });
});

describe('BatchStream.breaksAtCursor', () => {
  it('names the streams whose next window starts with a separator or with the newline that ends a blank line', () => {
    const vocab = Vocab.fromText('ab\n\u001e');
    const text = 'ab\n\nab\u001eabab\nabab';
    // 3 streams of L = 5 positions from tokens 0, 5 and 10; windows of T = 1, so every position is a window start.
    const stream = new BatchStream(vocab.encode(text), 3, 1);
    const newline = vocab.indexOf('\n'), separator = vocab.indexOf('\u001e');
    const found: number[][] = [];
    for (let c = 0; c < stream.batchesPerEpoch; c++) {
      found.push(stream.breaksAtCursor(newline, separator));
      stream.next(new Int32Array(3), new Int32Array(3));
    }
    // Stream 0 reads "ab\n\na": its window at 3 starts with the second newline of "\n\n".
    // Stream 1 reads "b\u001eaba": at 1, the separator. Stream 2 reads "b\naba": a lone newline is no break.
    expect(found).toEqual([[], [1], [], [0], []]);
    expect(stream.cursor).toBe(0);
    expect(stream.breaksAtCursor(newline, -1)).toEqual([]);
  });
});
