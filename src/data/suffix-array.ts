import type { TokenArray } from './vocab.js';

/**
 * The suffix array of a token text: the starting positions of its suffixes in lexicographic order (a
 * suffix that is a prefix of another sorts first). Built by SA-IS (Nong, Zhang and Chan, "Two Efficient
 * Algorithms for Linear Time Suffix Array Construction", 2009) in O(n) time, with the array itself as
 * the working space of the recursion: 4 bytes per token for the result, plus a copy of the text with
 * a sentinel (1, 2 or 4 bytes per token) and one byte per token for the suffix types.
 */
export function suffixArray(tokens: TokenArray, vocabSize: number): Int32Array {
  const n = tokens.length;
  // The text shifted up by one with a unique smallest sentinel (0) at its end, as SA-IS needs.
  const text = vocabSize + 1 <= 0xff ? new Uint8Array(n + 1) : vocabSize + 1 <= 0xffff ? new Uint16Array(n + 1) : new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) text[i] = tokens[i] + 1;
  const sa = new Int32Array(n + 1);
  sais(text, sa, n + 1, vocabSize + 1);
  return sa.subarray(1); // sa[0] is the sentinel's suffix
}

type Text = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** SA-IS over s[0..n) whose last symbol is a unique 0 and whose symbols are below k. */
function sais(s: Text, sa: Int32Array, n: number, k: number): void {
  if (n === 1) {
    sa[0] = 0;
    return;
  }
  // Suffix types: S (1) when s[i..] < s[i+1..], L (0) otherwise. The sentinel is S, the symbol before it L.
  const types = new Uint8Array(n);
  types[n - 1] = 1;
  for (let i = n - 3; i >= 0; i--) types[i] = s[i] < s[i + 1] || (s[i] === s[i + 1] && types[i + 1] === 1) ? 1 : 0;
  /** A leftmost-S position: S with an L before it. */
  const isLms = (i: number) => i > 0 && types[i] === 1 && types[i - 1] === 0;

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
  /** From the LMS positions placed at their buckets' ends, the order of every suffix (or LMS substring). */
  const induce = () => {
    bucketStarts();
    for (let i = 0; i < n; i++) {
      const j = sa[i] - 1;
      if (j >= 0 && types[j] === 0) sa[buckets[s[j]]++] = j;
    }
    bucketEnds();
    for (let i = n - 1; i >= 0; i--) {
      const j = sa[i] - 1;
      if (j >= 0 && types[j] === 1) sa[--buckets[s[j]]] = j;
    }
  };

  // Stage 1: sort the LMS substrings by induction from their positions in any order.
  sa.fill(-1, 0, n);
  bucketEnds();
  for (let i = 1; i < n; i++) if (isLms(i)) sa[--buckets[s[i]]] = i;
  induce();

  // Name the sorted LMS substrings: equal substrings get equal names.
  let n1 = 0;
  for (let i = 0; i < n; i++) if (isLms(sa[i])) sa[n1++] = sa[i];
  sa.fill(-1, n1, n);
  let name = 0;
  let previous = -1;
  for (let i = 0; i < n1; i++) {
    const position = sa[i];
    let differ = previous < 0;
    for (let d = 0; !differ; d++) {
      if (s[position + d] !== s[previous + d] || types[position + d] !== types[previous + d]) differ = true;
      else if (d > 0 && (isLms(position + d) || isLms(previous + d))) break;
    }
    if (differ) {
      name++;
      previous = position;
    }
    sa[n1 + (position >> 1)] = name - 1; // LMS positions are at least 2 apart: halves do not collide
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
