import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStream, evalBatches, evalLayout, splitTrainVal } from '../src/data/batches.js';
import { combinedHash, DEFAULT_DOC_SEP, describeSkipped, readCorpus } from '../src/data/corpus.js';
import { globMatcher } from '../src/data/inputs.js';
import { changedSizes, corpusChange } from '../src/data/record.js';
import { describeChars, unigramEntropy, Vocab } from '../src/data/vocab.js';
import { RuntimeFailure, UsageError } from '../src/util/errors.js';

/** The characters of code points [from, from + count). */
function codePointRange(from: number, count: number): string {
  let text = '';
  for (let cp = from; cp < from + count; cp++) text += String.fromCodePoint(cp);
  return text;
}

/** Token i has the value i, so batches can be read as positions. */
function positions(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i);
}

/** The error thrown by fn (sync or async). */
async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('Vocab', () => {
  it('holds the distinct code points of a text sorted by code point (not by UTF-16 unit)', () => {
    // U+FFFD sorts before U+1F600 by code point, after it by UTF-16 unit (0xFFFD > 0xD83D).
    expect(Vocab.fromText('b😀\uFFFDaéba').chars).toEqual(['a', 'b', 'é', '\uFFFD', '😀']);
  });

  it('makes an emoji or any astral character one token', () => {
    const vocab = Vocab.fromText('a😀𝔸😀');
    expect(vocab.size).toBe(3);
    expect([...vocab.encode('😀a𝔸')]).toEqual([2, 0, 1]);
  });

  it('keeps \\r and \\n as separate tokens, so CRLF comes back as CRLF', () => {
    const text = 'one\r\ntwo\r\n';
    const vocab = Vocab.fromText(text);
    expect(vocab.indexOf('\r')).toBeGreaterThanOrEqual(0);
    expect(vocab.indexOf('\n')).toBeGreaterThanOrEqual(0);
    expect(vocab.decode(vocab.encode(text))).toBe(text);
  });

  it('decodes what it encodes, for mixed scripts, emoji, tabs and CRLF', () => {
    const text = 'Keeper\'s log:\t灯塔守护者 — 🌊🌊 stormy\r\nΑλφα 𝔸 end\n';
    const vocab = Vocab.fromText(text);
    expect(vocab.decode(vocab.encode(text))).toBe(text);
  });

  it('encodes into the smallest unsigned array that fits the vocabulary', () => {
    const arrayFor = (size: number) => Vocab.fromText(codePointRange(0x10000, size)).encode('').constructor;
    expect(arrayFor(256)).toBe(Uint8Array);
    expect(arrayFor(257)).toBe(Uint16Array);
    expect(arrayFor(300)).toBe(Uint16Array);
    expect(arrayFor(65536)).toBe(Uint16Array);
    expect(arrayFor(65537)).toBe(Uint32Array);
    expect(arrayFor(70000)).toBe(Uint32Array);
  });

  it('encodes a 70000-character vocabulary to the right tokens', () => {
    const text = codePointRange(0x20000, 70000);
    const tokens = Vocab.fromText(text).encode(text);
    expect(tokens.length).toBe(70000);
    expect(tokens.every((token, i) => token === i)).toBe(true);
  });

  it('finds a character\'s token, and -1 for an absent character or more than one', () => {
    const vocab = Vocab.fromText('abc😀');
    expect(vocab.indexOf('c')).toBe(2);
    expect(vocab.indexOf('😀')).toBe(3);
    expect(vocab.indexOf('z')).toBe(-1);
    expect(vocab.indexOf('ab')).toBe(-1);
    expect(vocab.indexOf('')).toBe(-1);
  });

  it('lists the missing characters once each, in order of first appearance', () => {
    expect(Vocab.fromText('abc').missing('axbyx😀a')).toEqual(['x', 'y', '😀']);
  });

  it('refuses to encode characters outside the vocabulary, listing them so invisible ones show', async () => {
    const err = await errorOf(() => Vocab.fromText('abc').encode('ab\u200bc\tx\u00a0'));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe('4 character(s) are not in the vocabulary: "\\u200b" "\\t" "x" "\\u00a0"');
  });

  it('lists at most 20 missing characters and counts the rest', () => {
    const chars = [...codePointRange(0x41, 25)];
    expect(describeChars(chars)).toBe(`${chars.slice(0, 20).map((c) => `"${c}"`).join(' ')} … (5 more)`);
  });

  it('measures the unigram entropy of tokens in nats', () => {
    expect(unigramEntropy(Uint8Array.of(0, 1, 2, 3), 4)).toBeCloseTo(Math.log(4), 12); // uniform over 4
    expect(unigramEntropy(Uint16Array.of(5, 5, 5), 300)).toBe(0);
    // p = (1/2, 1/4, 1/4): ½ln2 + 2·¼ln4 = 1.5 ln 2
    expect(unigramEntropy(Uint8Array.of(0, 0, 1, 2), 3)).toBeCloseTo(1.5 * Math.log(2), 12);
    expect(unigramEntropy(new Uint8Array(0), 3)).toBe(0);
  });

  it('loads saved characters in their order', () => {
    expect(Vocab.fromChars(['\n', 'z', 'a', '😀']).indexOf('a')).toBe(2);
  });

  it('refuses saved characters that repeat', async () => {
    const err = await errorOf(() => Vocab.fromChars(['a', 'b', 'a']));
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect(err.message).toBe('vocabulary entries 0 and 2 are both "a"');
  });

  it('refuses saved entries that are not exactly one code point', () => {
    expect(() => Vocab.fromChars(['a', 'ab'])).toThrow(/entry 1 \("ab"\) is not a single character/);
    expect(() => Vocab.fromChars(['e\u0301'])).toThrow(/entry 0 \("e\\u0301"\) is not a single character/);
    expect(() => Vocab.fromChars([''])).toThrow(RuntimeFailure);
    expect(() => Vocab.fromChars([7 as unknown as string])).toThrow(/entry 0 \(7\)/);
    expect(() => Vocab.fromChars([])).toThrow(/empty/);
  });

  it('refuses to decode a token outside the vocabulary', () => {
    expect(() => Vocab.fromText('ab').decode([0, 2])).toThrow(RangeError);
  });
});

describe('readCorpus', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-data-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Uint8Array): string => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    return p;
  };
  const usageError = async (p: string): Promise<string> => {
    const err = await errorOf(() => readCorpus([p]));
    expect(err).toBeInstanceOf(UsageError);
    return err.message;
  };
  const textOf = (c: { tokens: ArrayLike<number>; vocab: Vocab }) => c.vocab.decode(c.tokens);
  const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');
  /** Standard input that delivers the bytes `size` at a time, so sequences and the BOM are cut across chunks. */
  const stdinOf = (bytes: Uint8Array, size: number) => ({
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
    },
  });

  it('reads a file into tokens, a vocabulary sorted by code point, and a record of what it read', async () => {
    const p = file('log.book.txt', 'héllo\n');
    const c = await readCorpus([p]);
    expect(c.vocab.chars).toEqual(['\n', 'h', 'l', 'o', 'é']);
    expect([...c.tokens]).toEqual([1, 4, 2, 2, 3, 0]);
    expect(c.tokens).toBeInstanceOf(Uint8Array);
    expect(c.record).toEqual({
      name: 'log.book', chars: 6, sha256: sha256('héllo\n'), files: [{ path: p, bytes: 7, sha256: sha256('héllo\n') }], docSep: DEFAULT_DOC_SEP, skipped: [],
    });
  });

  it('drops a leading byte-order mark (the hash is of the text) and keeps CRLF', async () => {
    const p = file('bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\r\nb\r\n')]));
    const c = await readCorpus([p]);
    expect(textOf(c)).toBe('a\r\nb\r\n');
    expect(c.record.sha256).toBe(sha256('a\r\nb\r\n'));
  });

  it('decodes the same tokens from standard input a byte at a time as from a file', async () => {
    const text = '\ufeffKeeper — 灯塔 🌊 Αλφα\r\n𝔸 end\n';
    const bytes = new TextEncoder().encode(text);
    const whole = await readCorpus([file('mixed.txt', bytes)]);
    for (const size of [1, 2, 3, 5]) {
      const piped = await readCorpus(['-'], { stdin: stdinOf(bytes, size) });
      expect(textOf(piped)).toBe(text.slice(1));
      expect([...piped.tokens]).toEqual([...whole.tokens]);
      expect(piped.record.sha256).toBe(whole.record.sha256);
      expect(piped.record.files).toEqual([{ path: '-', bytes: bytes.length, sha256: whole.record.sha256 }]);
      expect(piped.record.name).toBe('stdin');
    }
  });

  it('refuses standard input that is a terminal, saying to pipe text in', async () => {
    const err = await errorOf(() => readCorpus(['-'], { stdin: Object.assign(stdinOf(new Uint8Array(0), 1), { isTTY: true }) }));
    expect(err.message).toMatch(/standard input, which is a terminal; pipe text in/);
  });

  it('widens the tokens from Uint8 to Uint16 to Uint32 as the vocabulary grows past 256 and 65536', async () => {
    for (const [count, type] of [[256, Uint8Array], [257, Uint16Array], [65536, Uint16Array], [65537, Uint32Array]] as const) {
      // Code points in descending order, so the renumbering in code-point order is exercised too.
      let text = '';
      for (let i = count - 1; i >= 0; i--) text += String.fromCodePoint(0x10000 + i);
      const c = await readCorpus(['-'], { stdin: stdinOf(new TextEncoder().encode(text), 4096) });
      expect(c.tokens, String(count)).toBeInstanceOf(type);
      expect(c.vocab.size).toBe(count);
      expect(c.vocab.chars[0]).toBe('\u{10000}');
      expect(textOf(c) === text).toBe(true);
    }
  });

  it('refuses a missing file', async () => {
    const p = path.join(dir, 'nope.txt');
    expect(await usageError(p)).toBe(`no such file or folder: ${p} — check the path`);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a file it may not read', async () => {
    const p = file('secret.txt', 'x');
    fs.chmodSync(p, 0o000);
    expect(await usageError(p)).toMatch(/permission denied/);
  });

  it('refuses an empty file, and one that holds only a byte-order mark', async () => {
    expect(await usageError(file('empty.txt', ''))).toMatch(/empty\.txt is empty/);
    expect(await usageError(file('bom-only.txt', Uint8Array.of(0xef, 0xbb, 0xbf)))).toMatch(/bom-only\.txt is empty/);
  });

  it('refuses invalid UTF-8, naming the byte, its offset and line', async () => {
    const p = file('latin1.txt', Buffer.concat([Buffer.from('first\nhello caf'), Buffer.from([0xe9]), Buffer.from(' world\n')]));
    expect(await usageError(p)).toBe(`${p} is not valid UTF-8 (byte 0xE9 at offset 15, line 2); convert it to UTF-8, e.g. iconv -f latin1 -t utf-8`);
  });

  it('refuses binary content, naming the offset of the first NUL byte, even after an invalid byte', async () => {
    const p = file('binary.bin', Uint8Array.of(0x61, 0xff, 0x63, 0x00, 0x64, 0x00));
    expect(await usageError(p)).toBe(`${p} looks like a binary file (a NUL byte at offset 3); give a UTF-8 text file`);
  });

  it('refuses UTF-16 text, saying to convert it', async () => {
    expect(await usageError(file('utf16.txt', Buffer.from('\ufeffhi', 'utf16le')))).toMatch(/is UTF-16 text.*iconv -f utf-16 -t utf-8/);
  });

  it('finds the first invalid sequence where the strict WHATWG decoder does, however the bytes are chunked', async () => {
    const cases: [number[], number][] = [
      [[0x61, 0x80], 1], // a stray continuation byte
      [[0x61, 0x62, 0xe2, 0x82, 0x41], 2], // a three-byte sequence cut short
      [[0xe2, 0x82], 0], // cut short by the end of the file
      [[0x61, 0xc0, 0x80], 1], // overlong NUL
      [[0xe0, 0x80, 0xaf], 0], // overlong '/'
      [[0x61, 0xed, 0xa0, 0x80], 1], // a UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
      [[0xf0, 0x9f, 0x98, 0x80, 0xe4, 0xb8, 0xad, 0xc3, 0xa9, 0xfe], 9], // after valid 4-, 3- and 2-byte sequences
    ];
    for (const [bytes, offset] of cases) {
      const data = Uint8Array.from(bytes);
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(data)).toThrow();
      for (const size of [1, 64]) {
        const err = await errorOf(() => readCorpus(['-'], { stdin: stdinOf(data, size) }));
        expect(err.message, `${bytes} in chunks of ${size}`).toMatch(new RegExp(`^- is not valid UTF-8 \\(byte 0x[0-9A-F]{2} at offset ${offset}, line 1\\)`));
      }
    }
  });

  it('reads every code point up to U+10FFFF', async () => {
    const text = 'a é 中 😀 \u{10ffff}';
    expect(textOf(await readCorpus(['-'], { stdin: stdinOf(new TextEncoder().encode(text), 3) }))).toBe(text);
  });

  it('with a given vocabulary, leaves out and counts the characters outside it', async () => {
    const c = await readCorpus([file('odd.txt', 'abZcz☃a')], { vocab: Vocab.fromChars(['a', 'b', 'c']) });
    expect(textOf(c)).toBe('abca');
    expect(c.unknown).toEqual({ chars: ['Z', 'z', '☃'], count: 3 });
  });

  describe('a folder', () => {
    const root = path.join(dir, 'notes');
    beforeAll(() => {
      file('notes/b.txt', 'bee\n');
      file('notes/a.txt', 'ant\n');
      file('notes/sub/c.md', 'cat\n');
      file('notes/Z.txt', 'zed\n'); // upper case sorts first by code unit
      file('notes/empty.txt', '');
      file('notes/.git/config', 'not read\n');
      file('notes/.DS_Store', Uint8Array.of(0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31));
      file('notes/sub/latin1.txt', Uint8Array.of(0x63, 0x61, 0x66, 0xe9));
      fs.symlinkSync('..', path.join(root, 'sub/loop'));
    });

    it('reads every text file below it in sorted order, a separator between documents', async () => {
      const c = await readCorpus([root]);
      expect(textOf(c)).toBe(['zed\n', 'ant\n', 'bee\n', 'cat\n'].join(DEFAULT_DOC_SEP));
      expect(c.record.files.map((f) => path.relative(root, f.path))).toEqual(['Z.txt', 'a.txt', 'b.txt', 'empty.txt', 'sub/c.md']);
      expect(c.record.name).toBe('notes');
    });

    it('skips what is not text, and names symlink loops, in one list', async () => {
      const c = await readCorpus([root]);
      expect(c.skipped.map((s) => [path.relative(root, s.path), s.reason])).toEqual([
        ['.DS_Store', 'binary: a NUL byte at offset 0'],
        ['sub/latin1.txt', 'not UTF-8: byte 0xE9 at offset 3, line 1'],
        ['sub/loop', `a symlink loop back to ${root}`],
      ]);
      expect(describeSkipped(c.skipped)).toMatch(/^skipped 3 files that are not readable UTF-8 text: .*\.DS_Store \(binary: a NUL byte at offset 0\), /);
    });

    it('chooses files with --include globs, by name or by path below the folder', async () => {
      expect(textOf(await readCorpus([root], { include: ['*.md'] }))).toBe('cat\n');
      expect(textOf(await readCorpus([root], { include: ['sub/**', 'a.*'] }))).toBe(`ant\n${DEFAULT_DOC_SEP}cat\n`);
      expect((await errorOf(() => readCorpus([root], { include: ['*.rst'] }))).message).toBe(`no file under ${root} matches --include '*.rst'; check the pattern`);
    });

    it('puts the chosen separator between documents, or none', async () => {
      expect(textOf(await readCorpus([root], { include: ['a.txt', 'b.txt'], docSep: '\n' }))).toBe('ant\n\nbee\n');
      expect(textOf(await readCorpus([root], { include: ['a.txt', 'b.txt'], docSep: null }))).toBe('ant\nbee\n');
    });

    it('reads several inputs in the order given; --include chooses under folders only', async () => {
      const c = await readCorpus([path.join(root, 'b.txt'), path.join(root, 'sub'), path.join(root, 'a.txt')], { include: ['*.md'] });
      expect(textOf(c)).toBe(['bee\n', 'cat\n', 'ant\n'].join(DEFAULT_DOC_SEP));
      expect(c.record.name).toBe('b');
    });

    it('forgets the characters a skipped file brought, renumbering the others', async () => {
      // b.txt brings 'a' (before 'z', so 'z' is renumbered) and '!' before its invalid byte; both go with it.
      const parts = ['z1.txt', 'b.txt', 'z2.txt'].map((name) => path.join(dir, 'rollback', name));
      file('rollback/z1.txt', 'zzz');
      file('rollback/b.txt', Uint8Array.of(0x61, 0x21, 0x7a, 0xff));
      file('rollback/z2.txt', 'zy');
      const c = await readCorpus(parts);
      expect(c.vocab.chars).toEqual([DEFAULT_DOC_SEP, 'y', 'z']);
      expect(textOf(c)).toBe(`zzz${DEFAULT_DOC_SEP}zy`);
      expect(c.skipped).toEqual([{ path: parts[1], reason: 'not UTF-8: byte 0xFF at offset 3, line 1' }]);
    });

    it('says what was wrong when no file is text', async () => {
      const err = await errorOf(() => readCorpus([path.join(root, '.DS_Store'), path.join(root, 'sub/latin1.txt')]));
      expect(err.message).toMatch(/^no text to learn from: skipped 2 files that are not readable UTF-8 text: .*; give UTF-8 text files/);
    });
  });

  it('hashes one document as its text, several as the list of their hashes with the separator', async () => {
    const one = [{ path: 'a', bytes: 3, sha256: sha256('ant') }];
    expect(combinedHash(one, DEFAULT_DOC_SEP)).toBe(sha256('ant'));
    const two = [...one, { path: 'b', bytes: 3, sha256: sha256('bee') }];
    expect(combinedHash(two, DEFAULT_DOC_SEP)).not.toBe(combinedHash([...two].reverse(), DEFAULT_DOC_SEP));
    expect(combinedHash(two, DEFAULT_DOC_SEP)).not.toBe(combinedHash(two, null));
  });
});

describe('corpus records', () => {
  const record = (files: [string, number, string][], skipped: string[] = []) => ({
    name: 'notes', chars: 0, sha256: files.map((f) => f[2]).join(''), docSep: DEFAULT_DOC_SEP, skipped,
    files: files.map(([p, bytes, sha256]) => ({ path: p, bytes, sha256 })),
  });

  it('name the files added, removed and modified', () => {
    const before = record([['n/a', 1, 'x'], ['n/b', 1, 'y'], ['n/c', 1, 'z']]);
    const after = record([['n/a', 1, 'x'], ['n/b', 1, 'Y'], ['n/d', 1, 'w']]);
    expect(corpusChange(before, after)).toBe('n/d added, n/c removed, n/b modified');
    expect(corpusChange(before, before)).toBeNull();
  });

  it('before reading, tell removed and resized files, and new ones apart from those skipped before', () => {
    const before = record([['n/a', 1, 'x'], ['n/b', 1, 'y']], ['n/bin']);
    const list = { name: 'n', skipped: [], files: [{ path: 'n/a', bytes: 2 }, { path: 'n/bin', bytes: 5 }, { path: 'n/new', bytes: 1 }] };
    expect(changedSizes(before, list)).toBe('n/new added, n/b removed, n/a modified');
    expect(changedSizes(before, { ...list, files: [{ path: 'n/a', bytes: 1 }, { path: 'n/b', bytes: 1 }] })).toBeNull();
  });

  it('say so when only the order or the separator differs', () => {
    const before = record([['a', 1, 'x'], ['b', 1, 'y']]);
    expect(corpusChange(before, { ...before, sha256: 'other' })).toBe('the same files are read in another order');
    expect(corpusChange(before, { ...before, sha256: 'other', docSep: null })).toBe('the document separator (--doc-sep) differs');
  });

  it('compare a run from before several inputs by its hash alone', () => {
    const old = { name: 'log', chars: 10, sha256: 'x' };
    expect(corpusChange(old, { ...record([['log.txt', 10, 'x']]), sha256: 'x' })).toBeNull();
    expect(corpusChange(old, record([['log.txt', 10, 'y']]))).toBe('it was trained on log (10 characters), this corpus differs');
  });
});

describe('globMatcher', () => {
  it('matches names with * ? [] {} and paths with **', () => {
    expect(globMatcher('*.md')('poems/deep/a.md')).toBe(true);
    expect(globMatcher('*.md')('a.txt')).toBe(false);
    expect(globMatcher('?.txt')('a.txt')).toBe(true);
    expect(globMatcher('[ab].txt')('c.txt')).toBe(false);
    expect(globMatcher('*.{md,txt}')('x.txt')).toBe(true);
    expect(globMatcher('poems/**/*.txt')('poems/a.txt')).toBe(true);
    expect(globMatcher('poems/**/*.txt')('poems/x/y/a.txt')).toBe(true);
    expect(globMatcher('poems/*.txt')('poems/x/a.txt')).toBe(false);
    expect(globMatcher('a+b.txt')('a+b.txt')).toBe(true);
  });
});

describe('splitTrainVal', () => {
  it('takes the last ⌊n·valFrac⌋ tokens for validation and the rest for training', () => {
    const { train, val } = splitTrainVal(positions(25), 0.1);
    expect([...train]).toEqual([...positions(23)]);
    expect([...val]).toEqual([23, 24]);
  });

  it('returns views of the tokens, not copies', () => {
    const tokens = positions(10);
    const { train, val } = splitTrainVal(tokens, 0.5);
    expect(train.buffer).toBe(tokens.buffer);
    expect(val.buffer).toBe(tokens.buffer);
    expect(val.byteOffset).toBe(5);
  });

  it('leaves validation empty with valFrac 0', () => {
    const { train, val } = splitTrainVal(positions(10), 0);
    expect(train.length).toBe(10);
    expect(val.length).toBe(0);
  });

  it('refuses valFrac outside [0, 0.5]', () => {
    expect(() => splitTrainVal(positions(10), 0.6)).toThrow(UsageError);
    expect(() => splitTrainVal(positions(10), -0.1)).toThrow(/--val-frac must be between 0 and 0.5/);
  });
});

describe('BatchStream', () => {
  // n = 14, B = 2, T = 3: L = ⌊13/2⌋ = 6, stream 0 is tokens 0..6, stream 1 is tokens 6..12; token 13 is unused.
  const batches = (stream: BatchStream, count: number) => Array.from({ length: count }, () => {
    const inputs = new Int32Array(stream.batchSize * stream.seqLength);
    const targets = new Int32Array(stream.batchSize * stream.seqLength);
    const startsEpoch = stream.next(inputs, targets);
    return { inputs: [...inputs], targets: [...targets], startsEpoch, cursor: stream.cursor, progress: stream.epochProgress };
  });

  it('lays out B contiguous streams of L = ⌊(n−1)/B⌋ positions, ⌊L/T⌋ batches an epoch', () => {
    const stream = new BatchStream(positions(14), 2, 3);
    expect(stream.streamLength).toBe(6);
    expect(stream.batchesPerEpoch).toBe(2);
    expect(new BatchStream(positions(16), 2, 3).batchesPerEpoch).toBe(2); // L = 7: position 6 is never an input
  });

  it('fills time-major batches [T, B] with the next T positions of every stream, targets one token on', () => {
    const [first, second] = batches(new BatchStream(positions(14), 2, 3), 2);
    // inputs[t·B + b] = tokens[b·L + c + t]
    expect(first.inputs).toEqual([0, 6, 1, 7, 2, 8]);
    expect(first.targets).toEqual([1, 7, 2, 8, 3, 9]);
    expect(second.inputs).toEqual([3, 9, 4, 10, 5, 11]);
    expect(second.targets).toEqual([4, 10, 5, 11, 6, 12]);
  });

  it('wraps the cursor to 0 right after the last batch of an epoch, and starts the next epoch at the beginning', () => {
    const [first, second, third] = batches(new BatchStream(positions(14), 2, 3), 3);
    expect([first.cursor, second.cursor, third.cursor]).toEqual([3, 0, 3]);
    expect(third.inputs).toEqual(first.inputs);
  });

  it('reports a batch as starting an epoch exactly when it was taken at cursor 0', () => {
    const run = batches(new BatchStream(positions(14), 2, 3), 5);
    expect(run.map((b) => b.startsEpoch)).toEqual([true, false, true, false, true]);
  });

  it('reports the fraction of the epoch done', () => {
    const stream = new BatchStream(positions(26), 2, 3); // L = 12, four batches an epoch
    const progress = [stream.epochProgress, ...batches(stream, 4).map((b) => b.progress)];
    expect(progress).toEqual([0, 0.25, 0.5, 0.75, 0]);
  });

  it('continues with the same batches when resumed at a saved cursor', () => {
    const whole = batches(new BatchStream(positions(26), 2, 3), 7);
    const first = new BatchStream(positions(26), 2, 3);
    batches(first, 5);
    const resumed = new BatchStream(positions(26), 2, 3);
    resumed.cursor = first.cursor;
    expect(batches(resumed, 2)).toEqual(whole.slice(5));
  });

  it('refuses a cursor from which no batch can be taken', () => {
    const stream = new BatchStream(positions(14), 2, 3); // L − T = 3
    stream.cursor = 3;
    for (const bad of [-1, 4, 1.5, NaN]) expect(() => { stream.cursor = bad; }).toThrow(UsageError);
    expect(stream.cursor).toBe(3);
  });
});

describe('BatchStream.check', () => {
  const messageOf = (n: number, B: number, T: number, what: 'training' | 'validation' = 'training'): string => {
    try {
      BatchStream.check(n, B, T, what);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message;
    }
    return '';
  };

  it('accepts a text whose streams hold exactly one batch', () => {
    expect(messageOf(4 * 30 + 1, 4, 30)).toBe('');
  });

  it('says to lower --batch-size or --seq-length, each to a value that passes', () => {
    expect(messageOf(101, 4, 30)).toBe(
      'the training text (101 characters) is too short for --batch-size 4 × --seq-length 30: ' +
      'each stream has 25 of the 30 steps a batch needs; lower --batch-size to 3, or lower --seq-length to 25, or use a longer corpus',
    );
    expect(messageOf(101, 3, 30)).toBe('');
    expect(messageOf(101, 4, 25)).toBe('');
  });

  it('says to lower only --batch-size when the streams are empty but one stream would do', () => {
    expect(messageOf(10, 20, 5)).toMatch(/each stream has 0 of the 5 steps a batch needs; lower --batch-size to 1, or use a longer corpus$/);
  });

  it('says to lower both when neither alone is enough', () => {
    expect(messageOf(17, 32, 64)).toMatch(/lower --batch-size to 1 and --seq-length to 16, or use a longer corpus$/);
    expect(messageOf(17, 1, 16)).toBe('');
  });

  it('says to raise --val-frac for a short validation text', () => {
    expect(messageOf(20, 4, 8, 'validation')).toMatch(/^the validation text \(20 characters\).*, or raise --val-frac$/);
  });

  it('refuses a text of fewer than 2 characters', () => {
    expect(messageOf(1, 1, 1)).toBe('the training text has 1 character(s); it needs at least 2 — use a longer corpus');
  });

  it('refuses a batch size or sequence length that is not a positive whole number', () => {
    expect(messageOf(100, 0, 4)).toMatch(/^--batch-size must be a positive whole number/);
    expect(messageOf(100, 2, 2.5)).toMatch(/^--seq-length must be a positive whole number/);
  });

  it('runs when a BatchStream is built', () => {
    expect(() => new BatchStream(positions(10), 4, 3)).toThrow(/--batch-size 4 × --seq-length 3/);
  });
});

describe('evalBatches', () => {
  // Copies each chunk as it comes: the generator reuses its arrays.
  const collect = (n: number, B: number, T: number) => {
    const chunks = [];
    for (const { inputs, targets, steps, batchSize } of evalBatches(positions(n), B, T)) {
      chunks.push({ inputs: [...inputs.subarray(0, steps * batchSize)], targets: [...targets.subarray(0, steps * batchSize)], steps, batchSize });
    }
    return chunks;
  };

  it('scores every target once, in chunks of T steps and a shorter last chunk', () => {
    // n = 23, B = 4, T = 3: L = 5, chunks of 3 and 2 steps; tokens 21 and 22 ((n−1) mod B) are left out.
    const chunks = collect(23, 4, 3);
    expect(chunks.map((c) => c.steps)).toEqual([3, 2]);
    const scored = chunks.flatMap((c) => c.targets).sort((a, b) => a - b);
    expect(scored).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('lays chunks out like training batches, so the state carries across them', () => {
    const [first, second] = collect(23, 4, 3);
    expect(first.inputs).toEqual([0, 5, 10, 15, 1, 6, 11, 16, 2, 7, 12, 17]);
    expect(second.inputs).toEqual([3, 8, 13, 18, 4, 9, 14, 19]);
    expect(second.targets).toEqual(second.inputs.map((token) => token + 1));
  });

  it('uses fewer streams when the text is short', () => {
    expect(collect(3, 8, 4)).toEqual([{ inputs: [0, 1], targets: [1, 2], steps: 1, batchSize: 2 }]);
  });

  it('yields nothing for fewer than 2 tokens', () => {
    expect(collect(1, 4, 4)).toEqual([]);
    expect(collect(0, 4, 4)).toEqual([]);
  });

  it('with a cap, scores B windows spread over the text, each from its stream start', () => {
    // n = 41, B = 4: streams start at 0, 10, 20, 30; a cap of 8 scores the first 2 positions of each.
    const chunks = [...evalBatches(positions(41), 4, 3, 8)].map((c) => ({ inputs: [...c.inputs.subarray(0, c.steps * c.batchSize)], steps: c.steps }));
    expect(chunks).toEqual([{ inputs: [0, 10, 20, 30, 1, 11, 21, 31], steps: 2 }]);
    expect(evalLayout(41, 4, 8)).toEqual({ B: 4, stride: 10, L: 2 });
    expect(evalLayout(41, 4, null)).toEqual({ B: 4, stride: 10, L: 10 });
    expect(evalLayout(41, 4, 3)).toEqual({ B: 3, stride: 13, L: 1 }); // fewer streams than the batch when the cap is smaller
  });

  it('reuses the same arrays for every chunk', () => {
    const [a, b] = [...evalBatches(positions(50), 2, 4)];
    expect(a.inputs).toBe(b.inputs);
    expect(a.targets).toBe(b.targets);
  });
});
