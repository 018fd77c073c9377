import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { CharnnError, UsageError } from '../util/errors.js';
import { findInputs, STDIN, type InputFile, type InputList, type SkippedFile } from './inputs.js';
import { describeChars, tokenArray, Vocab, type TokenArray } from './vocab.js';

/**
 * What a checkpoint records of the corpus it was trained on, to refuse resuming on another one.
 * Runs from before several inputs recorded only name, chars and sha256 (one file, no separator).
 */
export interface CorpusRecord {
  name: string;
  /** Tokens: characters of the documents and the separators between them. */
  chars: number;
  /**
   * One document: the SHA-256 of its text (its bytes without a leading byte-order mark). Several: the
   * SHA-256 of `charnn-corpus <separator code point or none>\n` then each document's SHA-256 and a newline,
   * in reading order.
   */
  sha256: string;
  /** The documents in reading order (files that were skipped are not listed). */
  files?: CorpusFile[];
  /** The character put between documents, or null for none (runs from before several inputs: none). */
  docSep: string | null;
  /** Files found but not read (not text, unreadable), so that a resume can tell them from added ones. */
  skipped?: string[];
}

export interface CorpusFile {
  /** As the user named it (a folder joined with the path below it), or `-` for standard input. */
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * U+001E RECORD SEPARATOR goes between documents by default: a character texts do not contain, so the
 * model learns where a document ends and `sample --stop '\x1e'` stops there.
 */
export const DEFAULT_DOC_SEP = '\u001e';

export interface ReadProgress {
  bytes: number;
  /** All the bytes to read, when known (not with standard input). */
  totalBytes: number | null;
  seconds: number;
}

export interface ReadOptions {
  /** Put between documents; null for nothing. Default DEFAULT_DOC_SEP. */
  docSep?: string | null;
  /**
   * Encode with this vocabulary (resuming, fine-tuning, evaluating): characters outside it are left
   * out and counted in `unknown`. Without it the vocabulary is found while reading.
   */
  vocab?: Vocab;
  /** Standard input, for `-` (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array> & { isTTY?: boolean };
  /** Called after every chunk read. */
  onProgress?: (progress: ReadProgress) => void;
  /** Aborting stops reading with exit code 130. */
  signal?: AbortSignal;
}

export interface CorpusTokens {
  tokens: TokenArray;
  vocab: Vocab;
  record: CorpusRecord & { files: CorpusFile[] };
  /** Each document's path and the token its text starts at (after the separator before it). */
  documents: { path: string; start: number }[];
  /** Files found but not used: not text, unreadable, symlink loops. */
  skipped: SkippedFile[];
  /** With a given vocabulary: the characters outside it (distinct) and how often they occur; left out of the tokens. */
  unknown: { chars: string[]; count: number };
}

/** The longest token array one JavaScript typed array holds (2³² elements in Node 20). */
const MAX_TOKENS = 2 ** 32;
const CHUNK_BYTES = 4 << 20;
const BINARY_PROBE_BYTES = 8000;
/** Tokens read before the vocabulary is sorted early (see Tokenizer); renumbering them takes about a millisecond. */
const SETTLE_TOKENS = 1 << 20;

/** Reads files, folders and `-` (see findInputs) into tokens in one streaming pass. */
export async function readCorpus(args: readonly string[], options: ReadOptions & { include?: readonly string[] } = {}): Promise<CorpusTokens> {
  return readInputs(await findInputs(args, options.include), options);
}

/**
 * Streams every input through a UTF-8 decoder straight into a token array (never the whole text as a
 * string), hashing each document and finding the vocabulary on the way. Tokens take the smallest
 * unsigned type the vocabulary fits, so memory is about the corpus size (one byte per character up to
 * 256 distinct ones). Documents that are not UTF-8 text are skipped and listed in `skipped`; when none
 * is usable, the error names the problem (for one input, with the byte offset and line).
 */
export async function readInputs(list: InputList, options: ReadOptions = {}): Promise<CorpusTokens> {
  const docSep = options.docSep === undefined ? DEFAULT_DOC_SEP : options.docSep;
  const known = list.files.reduce((sum, f) => sum + (f.bytes ?? 0), 0);
  const hasStdin = list.files.some((f) => f.path === STDIN);
  checkCapacity(known + list.files.length);
  const tokenizer = new Tokenizer(options.vocab ?? null, hasStdin ? Math.max(known + list.files.length, 1 << 20) : known + list.files.length);
  const sepCodePoint = docSep !== null ? docSep.codePointAt(0)! : -1;
  const skipped: SkippedFile[] = [...list.skipped];
  const failures: { file: string; error: NotText }[] = [];
  const files: CorpusFile[] = [];
  const documents: CorpusTokens['documents'] = [];
  const buffer = new Uint8Array(CHUNK_BYTES);
  const started = performance.now();
  let bytesRead = 0;

  for (const input of list.files) {
    tokenizer.beginDocument(sepCodePoint);
    const start = tokenizer.length;
    const hash = createHash('sha256');
    let bytes = 0;
    let textBytes = 0; // without a byte-order mark
    try {
      for await (const chunk of documentChunks(input, buffer, options.stdin)) {
        if (options.signal?.aborted) throw new CharnnError('interrupted while reading the corpus', 130);
        let text = chunk;
        if (bytes === 0) text = chunk.subarray(textStart(chunk));
        tokenizer.ensure(text.length + 1);
        tokenizer.decode(text, bytes + (chunk.length - text.length));
        hash.update(text);
        textBytes += text.length;
        bytes += chunk.length;
        bytesRead += chunk.length;
        options.onProgress?.({ bytes: bytesRead, totalBytes: hasStdin ? null : known, seconds: (performance.now() - started) / 1000 });
      }
      tokenizer.endDocument();
    } catch (err) {
      tokenizer.dropDocument();
      if (err instanceof NotText) {
        failures.push({ file: input.path, error: err });
        skipped.push({ path: input.path, reason: err.short });
        continue;
      }
      if (err instanceof CharnnError) throw err;
      const reason = unreadableReason(err);
      if (list.files.length === 1 && list.skipped.length === 0) throw new UsageError(`cannot read ${input.path}: ${reason}`);
      skipped.push({ path: input.path, reason });
      continue;
    }
    if (textBytes === 0) tokenizer.dropDocument(); // an empty document: no separator for it
    files.push({ path: input.path, bytes, sha256: hash.digest('hex') });
    documents.push({ path: input.path, start });
  }

  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (tokenizer.length === 0) {
    if (tokenizer.unknownChars().count > 0) {
      throw new UsageError(`no character of the corpus is in the model's vocabulary (${describeChars(tokenizer.unknownChars().chars)}); nothing to score`);
    }
    throw nothingToLearn(list, files, failures, skipped);
  }
  const { tokens, vocab } = tokenizer.finish();
  return {
    tokens, vocab, skipped, documents, unknown: tokenizer.unknownChars(),
    record: { name: list.name, chars: tokens.length, sha256: combinedHash(files, docSep), files, docSep, skipped: skipped.map((f) => f.path) },
  };
}

/** The corpus hash of CorpusRecord.sha256, from the documents' hashes. */
export function combinedHash(files: readonly CorpusFile[], docSep: string | null): string {
  const texts = files.filter((f) => f.bytes > 0 && f.sha256 !== EMPTY_SHA256);
  if (texts.length === 1) return texts[0].sha256;
  const hash = createHash('sha256').update(`charnn-corpus ${docSep === null ? 'none' : docSep.codePointAt(0)!.toString(16)}\n`);
  for (const f of texts) hash.update(`${f.sha256}\n`);
  return hash.digest('hex');
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** One line for the files that were left out: `skipped 2 files that are not UTF-8 text: a (binary …), b (…)`. */
export function describeSkipped(skipped: readonly SkippedFile[]): string {
  const shown = skipped.slice(0, 10).map((s) => `${s.path} (${s.reason})`).join(', ');
  const more = skipped.length > 10 ? `, and ${skipped.length - 10} more` : '';
  return `skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} that ${skipped.length === 1 ? 'is' : 'are'} not readable UTF-8 text: ${shown}${more}`;
}

/** The error when no document gave a character: the one problem of a single input, or the list. */
function nothingToLearn(list: InputList, files: CorpusFile[], failures: { file: string; error: NotText }[], skipped: SkippedFile[]): UsageError {
  if (failures.length === 1 && list.files.length === 1) return new UsageError(failures[0].error.describe(failures[0].file));
  if (skipped.length === 0) {
    const what = files.length === 1 ? (files[0].path === STDIN ? 'standard input' : files[0].path) : `all ${files.length} files`;
    return new UsageError(`${what} ${files.length === 1 ? 'is' : 'are'} empty; give text with some content to learn from`);
  }
  return new UsageError(`no text to learn from: ${describeSkipped(skipped)}; give UTF-8 text files (convert others, e.g. with iconv -t utf-8)`);
}

function checkCapacity(tokens: number): void {
  if (tokens > MAX_TOKENS) {
    throw new UsageError(
      `the corpus is ${(tokens / 1e9).toFixed(2)} GB; charnn holds at most ${MAX_TOKENS} characters (one typed array in Node), so train on a part of it`,
    );
  }
}

function unreadableReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'it disappeared while reading';
  return (err as Error).message;
}

/**
 * Where the text starts: after a UTF-8 byte-order mark (dropped), at 0 otherwise. A UTF-16 mark is
 * refused, since UTF-16 text would otherwise read as binary.
 */
function textStart(head: Uint8Array): number {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) throw new NotText('utf16', 0, 0, 1);
  // As git does, a NUL byte near the start marks a binary file, even when another invalid byte comes first.
  const nul = head.subarray(0, BINARY_PROBE_BYTES).indexOf(0);
  if (nul >= 0) throw new NotText('binary', nul, 0, 1);
  return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
}

/** A document's bytes in chunks; the first chunk holds at least 3 bytes when the document does (for the BOM check). */
async function* documentChunks(input: InputFile, buffer: Uint8Array, stdin: ReadOptions['stdin']): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | null = new Uint8Array(0);
  for await (const chunk of input.path === STDIN ? stdinChunks(stdin) : fileChunks(input.path, buffer)) {
    if (head === null) yield chunk;
    else if (head.length === 0 && chunk.length >= 3) {
      head = null;
      yield chunk;
    } else {
      const joined: Uint8Array = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      head = joined;
      if (head.length >= 3) {
        yield head;
        head = null;
      }
    }
  }
  if (head !== null && head.length > 0) yield head;
}

async function* fileChunks(file: string, buffer: Uint8Array): AsyncGenerator<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function stdinChunks(stdin: ReadOptions['stdin']): AsyncIterable<Uint8Array> {
  const source = stdin ?? process.stdin;
  if (source.isTTY) throw new UsageError('- reads the corpus from standard input, which is a terminal; pipe text in, e.g. cat notes/*.txt | charnn train -');
  return source;
}

/** A document that is not UTF-8 text: why, and where. */
class NotText extends Error {
  constructor(readonly kind: 'binary' | 'utf8' | 'utf16', readonly offset: number, readonly byte: number, readonly line: number) {
    super(kind);
  }

  /** For the list of skipped files. */
  get short(): string {
    if (this.kind === 'binary') return `binary: a NUL byte at offset ${this.offset}`;
    if (this.kind === 'utf16') return 'UTF-16 text';
    return `not UTF-8: byte 0x${this.byte.toString(16).toUpperCase()} at offset ${this.offset}, line ${this.line}`;
  }

  /** The one-line error when this was the only input. */
  describe(label: string): string {
    if (this.kind === 'binary') return `${label} looks like a binary file (a NUL byte at offset ${this.offset}); give a UTF-8 text file`;
    if (this.kind === 'utf16') return `${label} is UTF-16 text (it starts with a UTF-16 byte-order mark); convert it to UTF-8, e.g. iconv -f utf-16 -t utf-8`;
    return `${label} is not valid UTF-8 (byte 0x${this.byte.toString(16).toUpperCase()} at offset ${this.offset}, line ${this.line}); ` +
      'convert it to UTF-8, e.g. iconv -f latin1 -t utf-8';
  }
}

/**
 * A strict streaming UTF-8 decoder that writes tokens as it goes. It refuses NUL bytes (binary), stray
 * continuation bytes, truncated sequences, overlong forms, surrogates and values past U+10FFFF, at the
 * offset of the sequence's first byte, like the WHATWG fatal decoder.
 *
 * Without a given vocabulary, characters are numbered in order of arrival (so a skipped document takes
 * its new characters back by truncation) and the array widens from Uint8 to Uint16 to Uint32 as the
 * vocabulary grows; `finish` renumbers the tokens in code-point order in one pass. Text meets nearly all
 * its characters early, so the vocabulary is also sorted once when the first SETTLE_TOKENS tokens are in
 * (renumbering only those), which usually leaves that pass nothing to do.
 */
class Tokenizer {
  /** code point → token, −1 when not (yet) in the vocabulary. */
  private readonly table = new Int32Array(0x110000).fill(-1);
  /** Without a given vocabulary: token → code point, in order of arrival since the vocabulary was sorted. */
  private codePoints: number[] = [];
  /** Whether the vocabulary was sorted early (settle). */
  private settled = false;
  private out: TokenArray;
  private n = 0;
  // Decoder state between chunks: continuation bytes still needed, the code point so far, the smallest
  // value its length allows, and the offset and value of its first byte.
  private need = 0;
  private cp = 0;
  private min = 0;
  private leadOffset = 0;
  private leadByte = 0;
  // Where the current document starts: its first token (its separator, if any), the vocabulary's size
  // then, and its text's first token.
  private docStart = 0;
  private docVocab = 0;
  private textStart = 0;
  private readonly unknownTotal = new Map<number, number>();
  private unknownDoc = new Map<number, number>();

  constructor(private readonly fixed: Vocab | null, capacity: number) {
    if (fixed) fixed.chars.forEach((c, token) => (this.table[c.codePointAt(0)!] = token));
    this.out = allocate(() => tokenArray(fixed ? fixed.size : 1, capacity));
  }

  get length(): number {
    return this.n;
  }

  /** A document starts, after `separator` (a code point, or −1 for none) when documents came before. */
  beginDocument(separator: number): void {
    this.settle();
    this.need = 0;
    this.unknownDoc = new Map();
    this.docStart = this.n;
    this.docVocab = this.codePoints.length;
    if (separator >= 0 && this.n > 0) this.push(separator);
    this.textStart = this.n;
  }

  /** The document is left out: its tokens, its separator and the characters first seen in it go. */
  dropDocument(): void {
    this.n = this.docStart;
    this.unknownDoc = new Map();
    for (const cp of this.codePoints.splice(this.docVocab)) this.table[cp] = -1;
  }

  /** The document is kept: its unknown characters count. A sequence cut short by its end is invalid. */
  endDocument(): void {
    if (this.need > 0) throw new NotText('utf8', this.leadOffset, this.leadByte, this.line(this.n));
    for (const [cp, count] of this.unknownDoc) this.unknownTotal.set(cp, (this.unknownTotal.get(cp) ?? 0) + count);
  }

  /** Room for `extra` more tokens (each byte gives at most one). */
  ensure(extra: number): void {
    const needed = this.n + extra;
    if (needed <= this.out.length) return;
    checkCapacity(needed);
    this.resize(this.out.BYTES_PER_ELEMENT, Math.min(MAX_TOKENS, Math.max(needed, Math.floor(this.out.length * 1.5))));
  }

  private push(codePoint: number): void {
    const token = this.tokenOf(codePoint);
    if (token >= 0) this.out[this.n++] = token;
  }

  /** Decodes a chunk whose first byte is at `offset` in its document. */
  decode(chunk: Uint8Array, offset: number): void {
    const table = this.table;
    let out = this.out, n = this.n, need = this.need, cp = this.cp, min = this.min;
    // A NotText thrown below leaves the state behind: the document is dropped and the next one starts
    // afresh (beginDocument).
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      if (need === 0) {
        // The common case, a run of ASCII characters already in the vocabulary, in a tight loop.
        let ascii: number, token: number;
        while (i < length && (ascii = chunk[i]) < 0x80 && (token = table[ascii]) >= 0) {
          out[n++] = token;
          i++;
        }
        if (i === length) break;
      }
      const b = chunk[i];
      let char: number; // the code point this byte completes
      if (need === 0) {
        if (b >= 0x80) {
          // A lead byte: how many continuation bytes follow, and the smallest code point that needs them.
          if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; min = 0x80; }
          else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; min = 0x800; }
          else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 0x07; min = 0x10000; }
          else throw new NotText('utf8', offset + i, b, this.line(n));
          this.leadOffset = offset + i;
          this.leadByte = b;
          continue;
        }
        char = b;
      } else {
        if ((b & 0xc0) !== 0x80) throw new NotText('utf8', this.leadOffset, this.leadByte, this.line(n));
        cp = (cp << 6) | (b & 0x3f);
        if (--need > 0) continue;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new NotText('utf8', this.leadOffset, this.leadByte, this.line(n));
        char = cp;
      }
      let token = table[char];
      if (token < 0) {
        // NUL has no token ever, so binary files cost nothing on the fast path.
        if (char === 0) throw new NotText('binary', offset + i, 0, 1);
        this.n = n;
        token = this.tokenOf(char);
        out = this.out; // it may have widened
        if (token < 0) continue;
      }
      out[n++] = token;
    }
    this.n = n;
    this.need = need;
    this.cp = cp;
    this.min = min;
    // Within the first document that has text, dropping it empties the vocabulary whatever its order.
    if (this.docVocab === 0) this.settle();
  }

  /**
   * Sorts the vocabulary so far, once, when SETTLE_TOKENS tokens are in, at a point where a rollback
   * still works: between documents, or within the first one.
   */
  private settle(): void {
    if (this.settled || this.fixed || this.n < SETTLE_TOKENS) return;
    this.settled = true;
    const rank = this.sortVocabulary();
    if (rank) renumber(this.out.subarray(0, this.n), rank);
  }

  /** Sorts the vocabulary by code point: old token → new token, or null when none moves. */
  private sortVocabulary(): Int32Array | null {
    const sorted = [...this.codePoints].sort((a, b) => a - b);
    if (sorted.every((cp, token) => cp === this.codePoints[token])) return null;
    const rank = new Int32Array(sorted.length);
    sorted.forEach((cp, token) => {
      rank[this.table[cp]] = token;
      this.table[cp] = token;
    });
    this.codePoints = sorted;
    return rank;
  }

  /**
   * The 1-based line of the document that the decoder has reached with `n` tokens written: the line
   * breaks are counted only when an error needs them, so the hot loop does not.
   */
  private line(n: number): number {
    const newline = this.table[0x0a];
    let lines = 1 + (this.unknownDoc.get(0x0a) ?? 0);
    if (newline >= 0) for (let i = this.textStart; i < n; i++) if (this.out[i] === newline) lines++;
    return lines;
  }

  /** The token of a code point not in the table yet: the next one, or −1 (counted) with a given vocabulary. */
  private tokenOf(cp: number): number {
    const known = this.table[cp];
    if (known >= 0) return known;
    if (this.fixed) {
      this.unknownDoc.set(cp, (this.unknownDoc.get(cp) ?? 0) + 1);
      return -1;
    }
    const token = this.codePoints.length;
    if (token >= 2 ** (8 * this.out.BYTES_PER_ELEMENT)) this.resize(token < 0x10000 ? 2 : 4, this.out.length);
    this.codePoints.push(cp);
    this.table[cp] = token;
    return token;
  }

  /** Moves the tokens to an array of `bytes` bytes per token and `length` tokens. */
  private resize(bytes: number, length: number): void {
    const grown = allocate(() => (bytes === 1 ? new Uint8Array(length) : bytes === 2 ? new Uint16Array(length) : new Uint32Array(length)));
    grown.set(this.out.subarray(0, this.n));
    this.out = grown;
  }

  /**
   * The tokens, renumbered in code-point order, and the vocabulary. They stay in place unless the array
   * is wider than the vocabulary needs (a document skipped after widening) or more than a quarter unused.
   */
  finish(): { tokens: TokenArray; vocab: Vocab } {
    const rank = this.fixed ? null : this.sortVocabulary();
    const vocab = this.fixed ?? Vocab.fromChars(this.codePoints.map((cp) => String.fromCodePoint(cp)));
    const inPlace = tokenArray(vocab.size, 0).BYTES_PER_ELEMENT === this.out.BYTES_PER_ELEMENT && this.n >= this.out.length * 0.75;
    const tokens = inPlace ? this.out.subarray(0, this.n) : allocate(() => tokenArray(vocab.size, this.n));
    if (!inPlace) tokens.set(this.out.subarray(0, this.n));
    if (rank) renumber(tokens, rank);
    return { tokens, vocab };
  }

  unknownChars(): { chars: string[]; count: number } {
    let count = 0;
    for (const c of this.unknownTotal.values()) count += c;
    return { chars: [...this.unknownTotal.keys()].map((cp) => String.fromCodePoint(cp)), count };
  }
}

/** A token array, or a message that says the memory is short instead of V8's "allocation failed". */
function allocate(make: () => TokenArray): TokenArray {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new UsageError(`not enough memory to hold the corpus's tokens (${err.message}); free memory, or train on a part of the corpus`);
  }
}

/**
 * Renumbers the tokens in place: token t becomes rank[t]. One-byte tokens, the common case, go four at a
 * time through a table of every pair, which makes the pass about five times faster than a byte at a
 * time (which took half as long as decoding the corpus).
 */
function renumber(tokens: TokenArray, rank: Int32Array): void {
  let i = 0;
  if (tokens instanceof Uint8Array && tokens.byteOffset % 4 === 0) {
    const pairs = new Uint16Array(1 << 16);
    for (let a = 0; a < rank.length; a++) for (let b = 0; b < rank.length; b++) pairs[a | (b << 8)] = rank[a] | (rank[b] << 8);
    const quads = new Uint32Array(tokens.buffer, tokens.byteOffset, tokens.length >> 2);
    for (; i < quads.length; i++) {
      const four = quads[i];
      quads[i] = pairs[four & 0xffff] | (pairs[four >>> 16] << 16);
    }
    i = quads.length * 4;
  }
  for (; i < tokens.length; i++) tokens[i] = rank[tokens[i]];
}
