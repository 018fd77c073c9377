import { RuntimeFailure, UsageError } from '../util/errors.js';

/** Tokens in the smallest unsigned array that fits the vocabulary. */
export type TokenArray = Uint8Array | Uint16Array | Uint32Array;

/**
 * The vocabulary: one token per Unicode code point, sorted by code point. An emoji or any astral-plane
 * character is one token; '\r' and '\n' are two, so CRLF text comes back as CRLF.
 */
export class Vocab {
  /** code point → token */
  private readonly index: Map<number, number>;

  private constructor(readonly chars: readonly string[]) {
    this.index = new Map(chars.map((c, token) => [c.codePointAt(0)!, token]));
  }

  /** Every distinct code point of the text. */
  static fromText(text: string): Vocab {
    const seen = new Set<number>();
    forEachCodePoint(text, (cp) => seen.add(cp));
    return new Vocab(Object.freeze([...seen].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp))));
  }

  /** A saved vocabulary (from a checkpoint), checked: single code points, no duplicates, kept in its order. */
  static fromChars(chars: readonly string[]): Vocab {
    if (chars.length === 0) throw new RuntimeFailure('the vocabulary is empty');
    const seen = new Map<string, number>();
    chars.forEach((c, token) => {
      const problem = notOneCharacter(c);
      if (problem !== null) {
        throw new RuntimeFailure(`vocabulary entry ${token} (${typeof c === 'string' ? quoteChar(c) : String(c)}) is not a single character (${problem})`);
      }
      const earlier = seen.get(c);
      if (earlier !== undefined) throw new RuntimeFailure(`vocabulary entries ${earlier} and ${token} are both ${quoteChar(c)}`);
      seen.set(c, token);
    });
    return new Vocab(Object.freeze([...chars]));
  }

  get size(): number {
    return this.chars.length;
  }

  /** The token of a character (one code point), or -1. */
  indexOf(char: string): number {
    if (notOneCharacter(char) !== null) return -1;
    return this.index.get(char.codePointAt(0)!) ?? -1;
  }

  /** The text as tokens; characters outside the vocabulary are an error that lists them. */
  encode(text: string): TokenArray {
    // One token per code point, so text.length (UTF-16 units) is an upper bound; trimmed when astral characters took two.
    const tokens = tokenArray(this.size, text.length);
    let count = 0;
    forEachCodePoint(text, (cp) => {
      const token = this.index.get(cp);
      if (token === undefined) {
        const missing = this.missing(text);
        throw new UsageError(`${missing.length} character(s) are not in the vocabulary: ${describeChars(missing)}`);
      }
      tokens[count++] = token;
    });
    return count === tokens.length ? tokens : tokens.slice(0, count);
  }

  /** Distinct characters of the text that are not in the vocabulary, in order of first appearance. */
  missing(text: string): string[] {
    const found = new Set<number>();
    forEachCodePoint(text, (cp) => {
      if (!this.index.has(cp)) found.add(cp);
    });
    return [...found].map((cp) => String.fromCodePoint(cp));
  }

  /**
   * The text without the characters outside the vocabulary, with how many were dropped and which (as
   * `eval` and `viz` report them: counted, listed, left out; never silently).
   */
  dropUnknown(text: string): { known: string; unknownChars: number; unknown: string[] } {
    const unknown = this.missing(text);
    if (unknown.length === 0) return { known: text, unknownChars: 0, unknown };
    const kept: string[] = [];
    let unknownChars = 0;
    for (const c of text) {
      if (this.index.has(c.codePointAt(0)!)) kept.push(c);
      else unknownChars++;
    }
    return { known: kept.join(''), unknownChars, unknown };
  }

  /** What a text is read after when nothing comes before it (a sample without a prime, a visualised text): a newline, else the first character. */
  get startToken(): number {
    const newline = this.indexOf('\n');
    return newline >= 0 ? newline : 0;
  }

  decode(tokens: ArrayLike<number>): string {
    const parts = new Array<string>(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const char = this.chars[tokens[i]];
      if (char === undefined) throw new RangeError(`token ${tokens[i]} is outside the vocabulary of ${this.size}`);
      parts[i] = char;
    }
    return parts.join('');
  }
}

/** Up to 20 characters, quoted and escaped so that invisible ones show. */
export function describeChars(chars: readonly string[]): string {
  const shown = chars.slice(0, 20).map(quoteChar).join(' ');
  return chars.length > 20 ? `${shown} … (${chars.length - 20} more)` : shown;
}

// Control and format characters, unassigned code points, separators and lone combining marks.
const INVISIBLE = /[\p{C}\p{Z}\p{M}]/gu;

/** A character as a JSON string, with anything invisible written as a \u escape: "\n", "\u200b", "\u{e0041}". */
function quoteChar(char: string): string {
  return JSON.stringify(char).replace(INVISIBLE, (c) => {
    if (c === ' ') return c;
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** Calls `visit` with each code point of the text, without materialising an array of characters. */
function forEachCodePoint(text: string, visit: (codePoint: number) => void): void {
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    visit(cp);
    i += cp > 0xffff ? 2 : 1;
  }
}

/**
 * Why a vocabulary entry is not one character, or null when it is: exactly one Unicode code point that is
 * not a surrogate (a lone surrogate is half of a UTF-16 pair, no character; "e\u0301" is two code points).
 */
export function notOneCharacter(entry: unknown): string | null {
  if (typeof entry !== 'string') return 'not a string';
  if (entry.length === 0) return 'empty';
  const first = entry.codePointAt(0)!;
  const units = first > 0xffff ? 2 : 1;
  if (entry.length > units) return `${[...entry].length} code points`;
  if (first >= 0xd800 && first <= 0xdfff) return 'a lone surrogate, half of a UTF-16 pair';
  return null;
}

/** An array of `length` tokens of the smallest unsigned type that holds `vocabSize` distinct ones. */
export function tokenArray(vocabSize: number, length: number): TokenArray {
  if (vocabSize <= 0x100) return new Uint8Array(length);
  if (vocabSize <= 0x10000) return new Uint16Array(length);
  return new Uint32Array(length);
}

/**
 * Entropy in nats of the tokens' frequencies (a unigram model's cross-entropy on them): about 3.3 for
 * English prose, 4.6 for Chinese with 6,000 distinct characters. The automatic model choice weighs a text
 * by it.
 */
export function unigramEntropy(tokens: TokenArray, vocabSize: number): number {
  if (tokens.length === 0) return 0;
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < tokens.length; i++) counts[tokens[i]]++;
  let entropy = 0;
  for (const count of counts) {
    if (count > 0) entropy -= (count / tokens.length) * Math.log(count / tokens.length);
  }
  return entropy;
}
