import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CopyIndex, loadIndex, saveIndex } from '../src/data/copy-index.js';
import { saisSuffixArray } from '../src/data/suffix-array.js';
import { Vocab } from '../src/data/vocab.js';
import { UsageError } from '../src/util/errors.js';
import { syntheticText, tempDir } from './helpers/cli.js';

/** A seeded generator of small numbers. */
function randomInts(seed: number) {
  let s = seed >>> 0;
  return (below: number) => Math.floor(((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * below);
}

/** The suffix array by sorting suffixes, the reference SA-IS is checked against. */
function naiveSuffixArray(t: ArrayLike<number>): number[] {
  const order = Array.from({ length: t.length }, (_, i) => i);
  return order.sort((a, b) => {
    for (let d = 0; ; d++) {
      if (a + d >= t.length) return -1;
      if (b + d >= t.length) return 1;
      if (t[a + d] !== t[b + d]) return t[a + d] - t[b + d];
    }
  });
}

/** Whether `needle` occurs in `hay` (strings of code points), as plainly as possible. */
const occurs = (hay: string, needle: string) => hay.includes(needle);

function indexOf(text: string, documents = [{ path: 'corpus.txt', start: 0 }]): CopyIndex {
  const vocab = Vocab.fromText(text);
  return CopyIndex.build(vocab.encode(text), vocab, { sha256: 'a'.repeat(64) }, documents);
}

let dir: string | undefined;
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the suffix array by SA-IS', () => {
  it('equals sorting the suffixes, on random, two-letter and periodic texts of every small length', () => {
    const next = randomInts(11);
    for (let trial = 0; trial < 1500; trial++) {
      const n = 1 + next(80);
      const alphabet = [1, 2, 3, 4, 30][trial % 5];
      const t = Uint8Array.from({ length: n }, (_, i) => (trial % 7 === 0 ? (i % (1 + (trial % 4)) === 0 ? alphabet - 1 : 0) : next(alphabet)));
      expect([...saisSuffixArray(t, alphabet)], `trial ${trial}: ${t.join(',')}`).toEqual(naiveSuffixArray(t));
    }
  });

  it('equals sorting the suffixes on longer texts (several levels of recursion), periodic ones and large alphabets', () => {
    const next = randomInts(17);
    const texts: [ArrayLike<number>, number][] = [
      [new Uint8Array(3000), 1], // "aaaa…"
      [Uint8Array.from({ length: 3000 }, (_, i) => i % 2), 2], // "abab…"
      [Uint8Array.from({ length: 3001 }, (_, i) => [0, 1, 1, 0, 2][i % 5]), 3],
      [Uint8Array.from({ length: 4000 }, (_, i) => (i % 97 < 60 ? i % 3 : next(4))), 4], // runs of a period broken by noise
      [Uint8Array.from({ length: 5000 }, () => next(2)), 2],
      [Uint8Array.from({ length: 5000 }, () => next(256)), 256],
      [Uint16Array.from({ length: 5000 }, () => next(5000)), 5000],
      [Uint32Array.from({ length: 3000 }, () => 65536 + next(8)), 70000],
    ];
    for (const [t, alphabet] of texts) expect([...saisSuffixArray(t, alphabet)], `${t.length} over ${alphabet}`).toEqual(naiveSuffixArray(t));
  });

  it('works on 16-bit vocabularies too', () => {
    const next = randomInts(5);
    const t = Uint16Array.from({ length: 500 }, () => next(3) * 1000 + next(2));
    expect([...saisSuffixArray(t, 3000)]).toEqual(naiveSuffixArray(t));
  });
});

describe('the corpus index', () => {
  const corpus = syntheticText(3000, 4);
  const index = indexOf(corpus);

  it('finds the longest prefix of every substring and of text that is not in the corpus, as a plain search does', () => {
    const next = randomInts(3);
    const probes = [...Array.from({ length: 60 }, () => {
      const at = next(corpus.length - 40);
      return corpus.slice(at, at + 5 + next(35)) + 'qq the lamp';
    }), 'zzz', '', 'The lamp sings'];
    for (const probe of probes) {
      const { length } = index.longestPrefix(index.encode(probe), 0, [...probe].length);
      let expected = 0;
      while (expected < probe.length && occurs(corpus, probe.slice(0, expected + 1))) expected++;
      expect(length, JSON.stringify(probe)).toBe(expected);
    }
  });

  it('gives the range of suffixes that start with a pattern: as many as its occurrences, each starting with it', () => {
    const next = randomInts(9);
    const count = (needle: string) => {
      let n = 0;
      for (let at = corpus.indexOf(needle); at >= 0; at = corpus.indexOf(needle, at + 1)) n++;
      return n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const at = next(corpus.length - 8);
      // (the text's last characters too: its last suffix sorts first among those that start with them)
      const probe = trial === 0 ? corpus.slice(-2) : trial === 1 ? corpus.slice(-1) : trial % 10 === 0 ? corpus.slice(at, at + 3) + 'q' : corpus.slice(at, at + 1 + next(6));
      const pattern = index.encode(probe);
      const found = index.range(pattern, 0, pattern.length);
      const [lo, hi] = found ?? [0, 0];
      expect(hi - lo, JSON.stringify(probe)).toBe(count(probe));
      for (let i = lo; i < hi; i++) expect(index.vocab.decode(index.tokens.subarray(index.suffixes[i], index.suffixes[i] + pattern.length))).toBe(probe);
    }
  });

  it('lists the characters that follow a context somewhere in the corpus', () => {
    const into = new Uint8Array(index.vocab.size);
    for (const context of ['the ', 'lamp', 'e', 'sings.\n', 'xyz']) {
      index.followers(index.encode(context), 0, [...context].length, into);
      const expected = index.vocab.chars.filter((c) => occurs(corpus, context + c));
      expect(index.vocab.chars.filter((_, t) => into[t] === 1), context).toEqual(expected);
    }
  });

  it('reports a sample\'s longest copy with its document and line, and the share of new 10-character windows', () => {
    const docs = 'first line\nsecond line\n\u001eone\ntwo\nthe kettle sings at night\n';
    const two = indexOf(docs, [{ path: 'a.txt', start: 0 }, { path: 'b.txt', start: [...'first line\nsecond line\n\u001e'].length }]);
    const report = two.copies('Oh! the kettle sings at noon');
    expect(report.longest).toEqual({ length: 21, at: 4, text: 'the kettle sings at n', source: { path: 'b.txt', line: 3 } });
    // 19 windows of 10; those inside "the kettle sings at n" (21 characters, from 4) are copies: 12 of them.
    expect(report.newWindows).toBeCloseTo(1 - 12 / 19, 12);
    expect(two.copies('zzzz').longest).toMatchObject({ length: 0, source: null });
  });

  it('round-trips through its file, and refuses a stale, damaged or missing one with one line', () => {
    dir = tempDir('index');
    const file = path.join(dir, 'corpus.index');
    saveIndex(file, index);
    const loaded = loadIndex(file, 'a'.repeat(64));
    expect([...loaded.suffixes]).toEqual([...index.suffixes]);
    expect([...loaded.tokens]).toEqual([...index.tokens]);
    expect(loaded.copies(corpus.slice(100, 160)).longest.length).toBe(60);
    expect(() => loadIndex(file, 'b'.repeat(64))).toThrow(/indexes another text than the run's corpus/);
    fs.truncateSync(file, fs.statSync(file).size - 3);
    expect(() => loadIndex(file, 'a'.repeat(64))).toThrow(UsageError);
    expect(() => loadIndex(path.join(dir, 'none.index'), 'a'.repeat(64))).toThrow(/does not exist/);
  });
});
