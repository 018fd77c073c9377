import { loadAddon, type NativeAddon } from '../util/native-addon.js';
import type { TokenArray } from './vocab.js';

/**
 * The suffix array of a token text: the starting positions of its suffixes in lexicographic order (a
 * suffix that is a prefix of another sorts first). The array is unique, so the two builders below give
 * the same one: libdivsufsort in the native addon when it has it and the tokens are bytes (a vocabulary of
 * up to 256, the common case: 100 MB in seconds rather than a minute, BENCHMARKS.md), else SA-IS here.
 */
export function suffixArray(tokens: TokenArray, vocabSize: number): Int32Array {
  return (tokens instanceof Uint8Array && nativeSuffixArray(tokens)) || saisSuffixArray(tokens, vocabSize);
}

/** libdivsufsort's builder when the addon has it and a text of `chars` tokens over `vocabSize` suits it. */
function nativeSorter(chars: number, vocabSize: number): NativeAddon['suffixArray'] {
  const addon = loadAddon();
  return vocabSize <= 0x100 && chars <= 0x7fffffff && !(addon instanceof Error) ? addon.suffixArray : undefined;
}

/** Whether suffixArray builds the array of a text of `chars` tokens over `vocabSize` natively (by libdivsufsort). */
export function sortsNatively(chars: number, vocabSize: number): boolean {
  return nativeSorter(chars, vocabSize) !== undefined;
}

/**
 * The suffix array by libdivsufsort (byte order with no sentinel: a token 0 is a symbol like any other, and
 * a suffix that ends first sorts first, as in SA-IS's order), or null when the addon does not have it here
 * (not built, or built without libdivsufsort: build/native-build.txt says which) or the text is too long for
 * its 32-bit positions. Its working memory is the array itself and a few small tables: 5 bytes per token
 * with the text, against SA-IS's 6 and more.
 */
export function nativeSuffixArray(tokens: Uint8Array): Int32Array | null {
  const sort = nativeSorter(tokens.length, 0x100);
  if (!sort) return null;
  const sa = new Int32Array(tokens.length);
  sort(tokens, sa);
  return sa;
}

/**
 * The suffix array by SA-IS (Nong, Zhang and Chan, "Two Efficient Algorithms for Linear Time Suffix Array
 * Construction", 2009) in O(n) time, with the array itself as the working space of the recursion: 4 bytes
 * per token for the result, plus a copy of the text with a sentinel (1, 2 or 4 bytes per token) and a bit
 * per token for the LMS positions.
 */
export function saisSuffixArray(tokens: TokenArray, vocabSize: number): Int32Array {
  const n = tokens.length;
  // The text shifted up by one with a unique smallest sentinel (0) at its end, as SA-IS needs.
  const text = vocabSize + 1 <= 0xff ? new Uint8Array(n + 1) : vocabSize + 1 <= 0xffff ? new Uint16Array(n + 1) : new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) text[i] = tokens[i] + 1;
  const sa = new Int32Array(n + 1);
  sais(text, sa, n + 1, vocabSize + 1);
  return sa.subarray(1); // sa[0] is the sentinel's suffix
}

type Text = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/**
 * SA-IS over s[0..n) whose last symbol is a unique 0 and whose symbols are below k.
 *
 * It keeps no array of suffix types: where the induction needs a type it reads it from the symbols it
 * reads anyway (its random reads are most of its time), and the LMS positions are a bit vector (n/8
 * bytes a level). s[i..] is S when s[i..] < s[i+1..], L otherwise; the sentinel is S; an LMS position is
 * an S with an L before it.
 */
function sais(s: Text, sa: Int32Array, n: number, k: number): void {
  if (n === 1) {
    sa[0] = 0;
    return;
  }
  const lms = new Uint8Array((n + 7) >> 3);
  let n1 = 0;
  for (let i = n - 2, nextIsS = true; i >= 0; i--) {
    const isS: boolean = s[i] < s[i + 1] || (s[i] === s[i + 1] && nextIsS);
    if (!isS && nextIsS) {
      lms[(i + 1) >> 3] |= 1 << ((i + 1) & 7);
      n1++;
    }
    nextIsS = isS;
  }
  const isLms = (i: number) => (lms[i >> 3] & (1 << (i & 7))) !== 0;

  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[s[i]]++;
  const buckets = new Int32Array(k);
  const bucketEnds = () => {
    let sum = 0;
    for (let c = 0; c < k; c++) buckets[c] = sum += counts[c];
  };
  const bucketStarts = () => {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      buckets[c] = sum;
      sum += counts[c];
    }
  };
  /**
   * From the LMS positions placed at their buckets' ends, the order of every suffix (or LMS substring).
   * Left to right the array holds LMS and L suffixes only, and p − 1 is L exactly when s[p − 1] ≥ s[p]
   * (before an LMS position the symbol is greater). Right to left, an entry p at i is S when i is in its
   * bucket's S part (at or past the bucket's fill point); p − 1 is S when s[p − 1] < s[p], or equal and p is S.
   */
  const induce = () => {
    bucketStarts();
    for (let i = 0; i < n; i++) {
      const p = sa[i];
      if (p > 0 && s[p - 1] >= s[p]) sa[buckets[s[p - 1]]++] = p - 1;
    }
    bucketEnds();
    for (let i = n - 1; i >= 0; i--) {
      const p = sa[i];
      if (p <= 0) continue;
      const before = s[p - 1], at = s[p];
      if (before < at || (before === at && i >= buckets[at])) sa[--buckets[before]] = p - 1;
    }
  };

  // Stage 1: sort the LMS substrings by induction from their positions in any order.
  sa.fill(-1, 0, n);
  bucketEnds();
  for (let i = 1; i < n; i++) if (isLms(i)) sa[--buckets[s[i]]] = i;
  induce();

  // Name the sorted LMS substrings: equal substrings (same length, same symbols: then same types) get
  // equal names. Each one's length (to the next LMS position, included) waits at n1 + position / 2.
  for (let i = 0, j = 0; i < n; i++) if (isLms(sa[i])) sa[j++] = sa[i];
  sa.fill(-1, n1, n);
  sa[n1 + ((n - 1) >> 1)] = 1; // the sentinel's
  for (let i = n - 2, next = n - 1; i > 0; i--) {
    if (isLms(i)) {
      sa[n1 + (i >> 1)] = next - i + 1; // LMS positions are at least 2 apart: halves do not collide
      next = i;
    }
  }
  let name = 0;
  let previous = -1, previousLength = 0;
  for (let i = 0; i < n1; i++) {
    const position = sa[i];
    const length = sa[n1 + (position >> 1)];
    let differ = length !== previousLength;
    for (let d = 0; !differ && d < length; d++) differ = s[position + d] !== s[previous + d];
    if (differ) {
      name++;
      previous = position;
      previousLength = length;
    }
    sa[n1 + (position >> 1)] = name - 1;
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) if (sa[i] >= 0) sa[j--] = sa[i];

  // Stage 2: the suffix array of the reduced string of names, by recursion when names repeat.
  const reduced = sa.subarray(n - n1, n);
  const sa1 = sa.subarray(0, n1);
  if (name < n1) sais(reduced, sa1, n1, name);
  else for (let i = 0; i < n1; i++) sa1[reduced[i]] = i;

  // Stage 3: the LMS suffixes in their true order at their buckets' ends, then induce the rest.
  for (let i = 1, j = 0; i < n; i++) if (isLms(i)) reduced[j++] = i;
  for (let i = 0; i < n1; i++) sa1[i] = reduced[sa1[i]];
  sa.fill(-1, n1, n);
  bucketEnds();
  for (let i = n1 - 1; i >= 0; i--) {
    const j = sa[i];
    sa[i] = -1;
    sa[--buckets[s[j]]] = j;
  }
  induce();
}
