import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOC_SEP, readCorpus } from '../src/data/corpus.js';
import { Vocab } from '../src/data/vocab.js';
import { Rng } from '../src/util/rng.js';
import { tempDir } from './helpers/cli.js';

/**
 * The tokenizer numbers characters as they arrive and sorts once at the end; a document that is skipped
 * takes back the characters it brought. Whatever the order of arrival and the skipped documents, the
 * result is the one of encoding the kept documents' text with its own sorted vocabulary.
 */
describe('the tokenizer', () => {
  const dir = tempDir('tokenizer');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** The documents as files doc-0.txt, doc-1.txt… in a new folder; their paths. */
  const documents = (folder: string, contents: (string | Uint8Array)[]): string[] => {
    fs.mkdirSync(path.join(dir, folder));
    return contents.map((content, i) => {
      const file = path.join(dir, folder, `doc-${i}.txt`);
      fs.writeFileSync(file, content);
      return file;
    });
  };
  const encoder = new TextEncoder();
  /** Bytes that no UTF-8 text holds, each at the start of an invalid sequence. */
  const INVALID = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]];

  /** The first index where two token arrays differ, or −1 (cheaper than a deep equality on millions). */
  const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
    return -1;
  };

  it('gives the tokens and vocabulary of the kept documents\' text, for seeded mixes of scripts, skipped and empty documents, short and past the early sort', async () => {
    const rng = new Rng(22);
    const int = (n: number) => Math.floor(rng.uniform() * n);
    // Letters from several ranges so that new characters often sort before ones already seen, and a
    // range of 300 so that a document can widen the tokens past Uint8 (and be skipped after doing so).
    const alphabet = [...'zyx \nabc', ...'éàü', ...'中文字', '😀', '🌊', '\r', DEFAULT_DOC_SEP];
    const wide = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x400 + i));
    for (let round = 0; round < 18; round++) {
      // From round 12, documents of up to 1.3 million characters: the vocabulary is sorted early once a
      // million tokens are in, within the first document or between two.
      const long = round >= 12;
      const contents: Uint8Array[] = [];
      const kept: string[] = [];
      const docs = 1 + int(6);
      for (let d = 0; d < docs; d++) {
        const pool = int(4) === 0 ? wide : alphabet;
        const piece = Array.from({ length: int(40) }, () => pool[int(pool.length)]).join('');
        const text = long ? piece.repeat(Math.ceil(int(1_300_000) / Math.max(piece.length, 1))) : piece;
        const invalid = text.length > 0 && int(3) === 0;
        const bytes = encoder.encode(text);
        // An invalid sequence put between two characters (at a character boundary of the text).
        let at = int(bytes.length + 1);
        while (at < bytes.length && (bytes[at] & 0xc0) === 0x80) at++;
        const bad = INVALID[int(INVALID.length)];
        const content = invalid ? Buffer.concat([bytes.subarray(0, at), Uint8Array.from(bad), bytes.subarray(at)]) : bytes;
        contents.push(content);
        if (!invalid && text.length > 0) kept.push(text);
      }
      const context = `round ${round}: ${kept.length} of ${docs} documents kept`;
      if (kept.length === 0) continue;
      const c = await readCorpus(documents(`round-${round}`, contents));
      const text = kept.join(DEFAULT_DOC_SEP);
      const expected = Vocab.fromText(text);
      const tokens = expected.encode(text);
      expect(c.vocab.chars, context).toEqual(expected.chars);
      expect(c.tokens.constructor, context).toBe(tokens.constructor);
      expect(firstDifference(c.tokens, tokens), context).toBe(-1);
    }
  });

  it('takes back the characters of a document skipped after the early sort, in the first document or a later one', async () => {
    // 4.5 MB: the first 4 MB chunk is decoded (and the vocabulary sorted) before the invalid byte is met.
    const big = (chars: string) => Uint8Array.from([...encoder.encode(chars.repeat(1_500_000)), 0xff]);
    const later = await readCorpus(documents('settle-later', ['zz', big('yxa'), 'zy']));
    expect(later.vocab.chars).toEqual([DEFAULT_DOC_SEP, 'y', 'z']);
    expect([...later.tokens]).toEqual([2, 2, 0, 2, 1]);
    const first = await readCorpus(documents('settle-first', [big('cb'), 'ba']));
    expect(first.vocab.chars).toEqual(['a', 'b']);
    expect([...first.tokens]).toEqual([1, 0]);
  });

  it('narrows the tokens back when a skipped document had widened them, and forgets its characters', async () => {
    const many = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x100 + i)).join('');
    const files = documents('narrow', ['bab', Uint8Array.from([...encoder.encode(many), 0xff]), 'ca']);
    const c = await readCorpus(files);
    expect(c.tokens).toBeInstanceOf(Uint8Array);
    expect(c.vocab.chars).toEqual([DEFAULT_DOC_SEP, 'a', 'b', 'c']);
    expect([...c.tokens]).toEqual([2, 1, 2, 0, 3, 1]);
    expect(c.skipped.map((s) => s.reason)).toEqual([`not UTF-8: byte 0xFF at offset ${encoder.encode(many).length}, line 1`]);
  });

  it('keeps no unused capacity: the tokens of a short standard input are an array of their own length', async () => {
    const stdin = { async *[Symbol.asyncIterator]() { yield encoder.encode('dcba'); } };
    const c = await readCorpus(['-'], { stdin });
    expect([...c.tokens]).toEqual([3, 2, 1, 0]);
    expect(c.tokens.buffer.byteLength).toBe(4);
  });

  it('with a given vocabulary, keeps its numbering, counts the unknown characters of kept documents only, and counts lines through them', async () => {
    const vocab = Vocab.fromChars(['z', 'a', 'b']);
    const files = documents('fixed', ['ab?z', Uint8Array.from([...encoder.encode('a\n!\nb'), 0xff]), 'b€a']);
    const c = await readCorpus(files, { vocab, docSep: null });
    expect(c.vocab).toBe(vocab);
    expect([...c.tokens]).toEqual([1, 2, 0, 2, 1]);
    expect(c.unknown).toEqual({ chars: ['?', '€'], count: 2 });
    // '\n' is not in the vocabulary, yet the error names the line of the invalid byte.
    expect(c.skipped.map((s) => s.reason)).toEqual(['not UTF-8: byte 0xFF at offset 5, line 3']);
  });
});
