import { RuntimeFailure, UsageError } from '../util/errors.js';

/** Tokens in the smallest unsigned array that fits the vocabulary. */
export type TokenArray = Uint8Array | Uint16Array | Uint32Array;

/**
 * The vocabulary: one token per Unicode code point, sorted by code point. An emoji or any astral-plane
 * character is one token; '\r' and '\n' are two, so CRLF text comes back as CRLF.
 */
export class Vocab {
  private readonly index: Map<number, number>;

  private constructor(readonly chars: readonly string[]) {
    this.index = new Map(chars.map((c, i) => [c.codePointAt(0)!, i]));
  }

  /** Every distinct code point of the text. */
  static fromText(text: string): Vocab {
    const seen = new Set<number>();
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      seen.add(cp);
      i += cp > 0xffff ? 2 : 1;
    }
    return new Vocab([...seen].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp)));
  }

  /** A saved vocabulary (from a checkpoint), checked: single code points, no duplicates. */
  static fromChars(chars: readonly string[]): Vocab {
    const seen = new Set<string>();
    for (const c of chars) {
      if (typeof c !== 'string' || [...c].length !== 1) throw new RuntimeFailure(`vocabulary entry ${JSON.stringify(c)} is not a single character`);
      if (seen.has(c)) throw new RuntimeFailure(`vocabulary has ${JSON.stringify(c)} twice`);
      seen.add(c);
    }
    return new Vocab([...chars]);
  }

  get size(): number {
    return this.chars.length;
  }

  /** The token of a character, or -1. */
  indexOf(char: string): number {
    return this.index.get(char.codePointAt(0)!) ?? -1;
  }

  /** The text as tokens; characters outside the vocabulary are an error that lists them. */
  encode(text: string): TokenArray {
    const out = tokenArray(this.size, countCodePoints(text));
    let n = 0;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const token = this.index.get(cp);
      if (token === undefined) {
        const missing = this.missing(text);
        throw new UsageError(`${missing.length} character(s) are not in the vocabulary: ${describeChars(missing)}`);
      }
      out[n++] = token;
      i += cp > 0xffff ? 2 : 1;
    }
    return out;
  }

  /** Distinct characters of the text that are not in the vocabulary, in order of first appearance. */
  missing(text: string): string[] {
    const found = new Set<number>();
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      if (!this.index.has(cp)) found.add(cp);
      i += cp > 0xffff ? 2 : 1;
    }
    return [...found].map((cp) => String.fromCodePoint(cp));
  }

  decode(tokens: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < tokens.length; i++) text += this.chars[tokens[i]];
    return text;
  }
}

/** Up to 20 characters, JSON-quoted so that invisible ones show. */
export function describeChars(chars: readonly string[]): string {
  return chars.slice(0, 20).map((c) => JSON.stringify(c)).join(' ') + (chars.length > 20 ? ` … (${chars.length - 20} more)` : '');
}

function tokenArray(vocabSize: number, length: number): TokenArray {
  if (vocabSize <= 256) return new Uint8Array(length);
  if (vocabSize <= 65536) return new Uint16Array(length);
  return new Uint32Array(length);
}

function countCodePoints(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        surrogatePairs++;
        i++;
      }
    }
  }
  return text.length - surrogatePairs;
}
