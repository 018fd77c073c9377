import fs from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import { UsageError } from '../util/errors.js';
import type { CorpusRecord } from './corpus.js';
import { sortsNatively, suffixArray } from './suffix-array.js';
import { tokenArray, Vocab, type TokenArray } from './vocab.js';

/** The index file beside a run's checkpoints. */
export const INDEX_FILE = 'corpus.index';

const MAGIC = 'charnn-index\n';
const VERSION = 1;

/** What an index was built from: the corpus (by its hash, as the checkpoints record it) and its documents. */
export interface IndexHeader {
  version: number;
  /** CorpusRecord.sha256 of the text indexed: an index is used only with the run that trained on it. */
  sha256: string;
  vocab: string[];
  /** Each document's path and the token its text starts at, in reading order. */
  documents: { path: string; start: number }[];
}

/** Where a span of the corpus comes from. */
export interface Source {
  path: string;
  /** 1-based. */
  line: number;
}

/** The longest span of a text found verbatim in the corpus. */
export interface LongestCopy {
  /** Characters (0: not one character of it occurs, or an empty text). */
  length: number;
  /** Where in the text it starts (characters). */
  at: number;
  text: string;
  /** Where its first occurrence in the corpus (in suffix order) comes from; null when length is 0. */
  source: Source | null;
}

/** A span of a text found verbatim in the corpus (positions in characters). */
export interface CopiedSpan {
  at: number;
  length: number;
  source: Source;
}

/**
 * The training text with its suffix array: answers "the longest prefix of this text that occurs in the
 * corpus" in O(length · log n), by narrowing the range of suffixes that start with it one character at
 * a time. Tokens are the corpus's own (its vocabulary), so a text is first mapped through `vocab`.
 */
export class CopyIndex {
  readonly vocab: Vocab;

  constructor(readonly header: IndexHeader, readonly tokens: TokenArray, readonly suffixes: Int32Array) {
    this.vocab = Vocab.fromChars(header.vocab);
  }

  static build(tokens: TokenArray, vocab: Vocab, record: Pick<CorpusRecord, 'sha256'>, documents: IndexHeader['documents']): CopyIndex {
    return new CopyIndex({ version: VERSION, sha256: record.sha256, vocab: [...vocab.chars], documents }, tokens, suffixArray(tokens, vocab.size));
  }

  /** The text as the corpus's tokens; a character the corpus lacks is -1 (it matches nothing). */
  encode(text: string): Int32Array {
    const chars = [...text];
    return Int32Array.from(chars, (c) => this.vocab.indexOf(c));
  }

  /**
   * The suffixes [lo, hi) that start with pattern[from, from + length), narrowing [lo, hi), the range of
   * those that start with its first length − 1 tokens. Empty (lo === hi) when none does.
   */
  private narrow(pattern: ArrayLike<number>, from: number, length: number, lo: number, hi: number): [number, number] {
    const depth = length - 1;
    const token = pattern[from + depth];
    if (token < 0) return [lo, lo]; // a character the corpus lacks occurs nowhere
    const at = (i: number) => {
      const p = this.suffixes[i] + depth;
      return p < this.tokens.length ? this.tokens[p] : -1; // a suffix that ends first sorts first
    };
    let a = lo, b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (at(mid) < token) a = mid + 1;
      else b = mid;
    }
    let c = a, d = hi;
    while (c < d) {
      const mid = (c + d) >>> 1;
      if (at(mid) <= token) c = mid + 1;
      else d = mid;
    }
    return [a, c];
  }

  /**
   * The suffix range of every pair of tokens (a, b): [start, start + count) at a · V + b. Built on first use
   * (one pass over the text) for vocabularies of up to 256 tokens, null for larger ones. It saves a query
   * its two widest binary searches, which are most of its random reads (the guard of --max-copy asks one
   * query per character sampled).
   */
  private pairs: { start: Int32Array; count: Int32Array } | null | undefined;

  private pairRanges(): { start: Int32Array; count: Int32Array } | null {
    if (this.pairs !== undefined) return this.pairs;
    const V = this.vocab.size, tokens = this.tokens, n = tokens.length;
    if (V > 256 || n === 0) return (this.pairs = null);
    const count = new Int32Array(V * V);
    for (let i = 0; i + 1 < n; i++) count[tokens[i] * V + tokens[i + 1]]++;
    // Suffixes by their first token, then their second; the last suffix (one token) first among its first token's.
    const start = new Int32Array(V * V);
    for (let a = 0, at = 0; a < V; a++) {
      if (tokens[n - 1] === a) at++;
      for (let b = 0; b < V; b++) {
        start[a * V + b] = at;
        at += count[a * V + b];
      }
    }
    return (this.pairs = { start, count });
  }

  /** The suffix range of pattern[from, to), or null when it does not occur. */
  range(pattern: ArrayLike<number>, from: number, to: number): [number, number] | null {
    let lo = 0, hi = this.suffixes.length;
    let length = 1;
    const pairs = to - from >= 2 ? this.pairRanges() : null;
    if (pairs) {
      const a = pattern[from], b = pattern[from + 1], V = this.vocab.size;
      if (a < 0 || b < 0) return null;
      lo = pairs.start[a * V + b];
      hi = lo + pairs.count[a * V + b];
      if (lo === hi) return null;
      length = 3;
    }
    for (; length <= to - from; length++) {
      [lo, hi] = this.narrow(pattern, from, length, lo, hi);
      if (lo === hi) return null;
    }
    return [lo, hi];
  }

  /** How many tokens of pattern[from, to) occur at its start somewhere in the corpus, and one corpus position they occur at. */
  longestPrefix(pattern: ArrayLike<number>, from: number, to: number): { length: number; position: number } {
    let lo = 0, hi = this.suffixes.length;
    let length = 0;
    while (from + length < to) {
      const [a, b] = this.narrow(pattern, from, length + 1, lo, hi);
      if (a === b) break;
      [lo, hi] = [a, b];
      length++;
    }
    return { length, position: length > 0 ? this.suffixes[lo] : -1 };
  }

  /**
   * Whether `pattern[from, to)` followed by `token` occurs in the corpus, for each token: the tokens that
   * may not come next without extending a copy. `into[token]` is set to 1 for those.
   */
  followers(pattern: ArrayLike<number>, from: number, to: number, into: Uint8Array): void {
    into.fill(0);
    const found = this.range(pattern, from, to);
    if (found === null) return;
    let [lo] = found;
    const [, hi] = found;
    const depth = to - from;
    // The suffixes in the range are sorted by their next token: jump from one next token to the following.
    while (lo < hi) {
      const p = this.suffixes[lo] + depth;
      if (p >= this.tokens.length) {
        lo++;
        continue;
      }
      const token = this.tokens[p];
      into[token] = 1;
      let a = lo, b = hi; // first suffix in [lo, hi) whose next token is past `token`
      while (a < b) {
        const mid = (a + b) >>> 1;
        const q = this.suffixes[mid] + depth;
        if (q < this.tokens.length && this.tokens[q] <= token) a = mid + 1;
        else b = mid;
      }
      lo = a;
    }
  }

  /** The document and line of a corpus position. */
  locate(position: number): Source {
    const docs = this.header.documents;
    let d = 0;
    while (d + 1 < docs.length && docs[d + 1].start <= position) d++;
    const newline = this.vocab.indexOf('\n');
    let line = 1;
    for (let p = docs[d]?.start ?? 0; p < position; p++) if (this.tokens[p] === newline) line++;
    return { path: docs[d]?.path ?? '', line };
  }

  /** For each character of the pattern, the longest prefix of the rest that occurs in the corpus: its length and one corpus position. */
  private matches(pattern: Int32Array): { length: number; position: number }[] {
    return Array.from(pattern, (_, i) => this.longestPrefix(pattern, i, pattern.length));
  }

  /** The longest span of `text` that occurs verbatim in the corpus, and the share of its `window`-character windows that do not. */
  copies(text: string, window = 10): { longest: LongestCopy; newWindows: number } {
    const pattern = this.encode(text);
    let best = { length: 0, at: 0, position: -1 };
    let copiedWindows = 0;
    this.matches(pattern).forEach((match, i) => {
      if (match.length > best.length) best = { ...match, at: i };
      if (i + window <= pattern.length && match.length >= window) copiedWindows++;
    });
    const windows = Math.max(0, pattern.length - window + 1);
    const chars = [...text];
    return {
      longest: {
        length: best.length, at: best.at, text: chars.slice(best.at, best.at + best.length).join(''),
        source: best.length > 0 ? this.locate(best.position) : null,
      },
      newWindows: windows === 0 ? 1 : 1 - copiedWindows / windows,
    };
  }

  /**
   * The spans of `text` of at least `minLength` characters that occur verbatim in the corpus, in order:
   * the fewest that cover every character of such a span, each as long as it goes from where it starts
   * (two may overlap). Positions and lengths count characters; the source is the one --copies gives.
   */
  copiedSpans(text: string, minLength: number): CopiedSpan[] {
    // The maximal spans (each reaches past the ones before it), by start: their ends increase too.
    const maximal: { at: number; length: number; position: number }[] = [];
    this.matches(this.encode(text)).forEach(({ length, position }, at) => {
      const last = maximal[maximal.length - 1];
      if (length >= minLength && (last === undefined || at + length > last.at + last.length)) maximal.push({ at, length, position });
    });
    // A greedy cover: after a span, the one that reaches farthest among those starting inside it or at its end.
    const cover: typeof maximal = [];
    for (let i = 0; i < maximal.length; i++) {
      const last = cover[cover.length - 1];
      if (last !== undefined) while (i + 1 < maximal.length && maximal[i + 1].at <= last.at + last.length) i++;
      cover.push(maximal[i]);
    }
    return cover.map(({ at, length, position }) => ({ at, length, source: this.locate(position) }));
  }
}

/**
 * How many bytes the index of a corpus of `chars` tokens takes on disk and while it is built: the suffix
 * array and the tokens, SA-IS's text copy and LMS bits unless libdivsufsort builds it (suffix-array.ts), and
 * 4 bytes a character for the rest of the process (the text as read).
 */
export function indexBytes(chars: number, vocabSize: number): { file: number; building: number } {
  const width = vocabSize <= 0x100 ? 1 : vocabSize <= 0x10000 ? 2 : 4;
  const sorting = sortsNatively(chars, vocabSize) ? 0 : width + 1;
  return { file: chars * (width + 4), building: chars * (4 + width + sorting + 4) };
}

function padTo4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes the index atomically: the magic line, the header's length and JSON, then the tokens and the
 * suffix array, little-endian, each at a multiple of 4 bytes.
 */
export function saveIndex(file: string, index: CopyIndex): void {
  const header = Buffer.from(JSON.stringify({ ...index.header, chars: index.tokens.length }), 'utf8');
  const prefix = Buffer.alloc(padTo4(MAGIC.length + 4 + header.length));
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, MAGIC.length);
  header.copy(prefix, MAGIC.length + 4);
  const tokens = new Uint8Array(index.tokens.buffer, index.tokens.byteOffset, index.tokens.byteLength);
  const padding = new Uint8Array(padTo4(tokens.length) - tokens.length);
  writeFileAtomic(file, [prefix, tokens, padding, new Uint8Array(index.suffixes.buffer, index.suffixes.byteOffset, index.suffixes.byteLength)]);
}

/** Fills `into` from byte `at` of the file, at most 1 GiB a call; false when the file ends first. */
function readInto(fd: number, into: Uint8Array, at: number): boolean {
  for (let done = 0; done < into.length;) {
    const n = fs.readSync(fd, into, done, Math.min(into.length - done, 1 << 30), at + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

/** An index file's header and where its header ends, or the problem with it. */
function readHeader(fd: number, size: number): { header: IndexHeader & { chars: number }; end: number } | string {
  const read = (bytes: number, at: number) => {
    const buffer = Buffer.alloc(bytes);
    return readInto(fd, buffer, at) ? buffer : null;
  };
  if (size < MAGIC.length + 4 || read(MAGIC.length, 0)?.toString('latin1') !== MAGIC) return 'not a charnn corpus index';
  const headerLength = read(4, MAGIC.length)!.readUInt32LE(0);
  const text = MAGIC.length + 4 + headerLength <= size ? read(headerLength, MAGIC.length + 4) : null;
  if (text === null) return 'the index is truncated';
  try {
    return { header: JSON.parse(text.toString('utf8')), end: MAGIC.length + 4 + headerLength };
  } catch {
    return 'its header is not JSON';
  }
}

/** The corpus hash an index file was built from, or null when there is no readable index there. */
export function indexedText(file: string): string | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const found = readHeader(fd, fs.fstatSync(fd).size);
    return typeof found === 'string' ? null : found.header.sha256;
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Reads an index, refusing with one line one that is damaged or that was built from another text than
 * `sha256` (the checkpoint's corpus record).
 */
export function loadIndex(file: string, sha256: string): CopyIndex {
  const fail = (problem: string): never => {
    throw new UsageError(`${file}: ${problem}; build it again with charnn index`);
  };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new UsageError(`${file} does not exist: build the corpus index with charnn index (training writes it at its end)`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const found = readHeader(fd, size);
    if (typeof found === 'string') return fail(found);
    const { header, end } = found;
    if (header.version !== VERSION) fail(`index version ${header.version}, this charnn reads ${VERSION}`);
    if (header.sha256 !== sha256) {
      throw new UsageError(`${file} indexes another text than the run's corpus (stale or from another run); build it again with charnn index`);
    }
    const tokens = tokenArray(header.vocab.length, header.chars);
    const tokensAt = padTo4(end);
    const suffixesAt = tokensAt + padTo4(tokens.byteLength);
    if (size !== suffixesAt + header.chars * 4) fail(`the index holds ${size} bytes, its header says ${suffixesAt + header.chars * 4}`);
    const suffixes = new Int32Array(header.chars);
    if (!readInto(fd, new Uint8Array(tokens.buffer), tokensAt) || !readInto(fd, new Uint8Array(suffixes.buffer), suffixesAt)) fail('the index is truncated');
    return new CopyIndex(header, tokens, suffixes);
  } finally {
    fs.closeSync(fd);
  }
}
