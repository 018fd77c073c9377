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

  it('gives the tokens and vocabulary of the kept documents\' text, for seeded mixes of scripts, skipped and empty documents', async () => {
    const rng = new Rng(22);
    const int = (n: number) => Math.floor(rng.uniform() * n);
    // Letters from several ranges so that new characters often sort before ones already seen, and a
    // range of 300 so that a document can widen the tokens past Uint8 (and be skipped after doing so).
    const alphabet = [...'zyx \nabc', ...'éàü', ...'中文字', '😀', '🌊', '\r', DEFAULT_DOC_SEP];
    const wide = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x400 + i));
    for (let round = 0; round < 12; round++) {
      const contents: Uint8Array[] = [];
      const kept: string[] = [];
      const docs = 1 + int(6);
      for (let d = 0; d < docs; d++) {
        const pool = int(4) === 0 ? wide : alphabet;
        const text = Array.from({ length: int(40) }, () => pool[int(pool.length)]).join('');
        const invalid = text.length > 0 && int(3) === 0;
        const bytes = encoder.encode(text);
        const cut = int(bytes.length + 1);
        // An invalid sequence put between two characters (at a character boundary of the text).
        let at = cut;
        while (at < bytes.length && (bytes[at] & 0xc0) === 0x80) at++;
        const content = invalid ? Uint8Array.from([...bytes.subarray(0, at), ...INVALID[int(INVALID.length)], ...bytes.subarray(at)]) : bytes;
        contents.push(content);
        if (!invalid && text.length > 0) kept.push(text);
      }
      const context = `round ${round}: ${kept.length} of ${docs} documents kept`;
      if (kept.length === 0) continue;
      const c = await readCorpus(documents(`round-${round}`, contents));
      const text = kept.join(DEFAULT_DOC_SEP);
      const expected = Vocab.fromText(text);
      expect(c.vocab.chars, context).toEqual(expected.chars);
      expect(c.tokens.constructor, context).toBe(expected.encode(text).constructor);
      expect([...c.tokens], context).toEqual([...expected.encode(text)]);
    }
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
