import type { ActivationTrace } from './activations.js';

/**
 * Interpretable cells, found automatically: simple features of the text, computed per character, and
 * the cells whose activation follows them most closely (Pearson correlation over the text).
 */

/** A feature of the text at every character, as it stands after reading that character. */
export interface Feature {
  id: string;
  label: string;
  values: Float32Array;
}

const OPENING = new Set(['(', '[', '{']);
const CLOSING = new Set([')', ']', '}']);
const SENTENCE_END = new Set(['.', '!', '?']);
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** The features the detectors look for, each a number per character of `chars`. */
export function textFeatures(chars: readonly string[]): Feature[] {
  const N = chars.length;
  const make = (id: string, label: string) => ({ id, label, values: new Float32Array(N) });
  const quote = make('quote', 'inside a quotation'), depth = make('brackets', 'bracket depth'),
    column = make('column', 'position in the line'), inWord = make('word', 'inside a word'),
    wordStart = make('word-start', 'start of a word'), upper = make('upper', 'upper case'),
    digit = make('digit', 'digit'), sentence = make('sentence-end', 'after sentence punctuation'),
    lineStart = make('line-start', 'start of a line');
  let inQuote = false, brackets = 0, col = 0, afterSentence = false;
  let previous = '\n';
  for (let i = 0; i < N; i++) {
    const ch = chars[i];
    const isWordChar = LETTER_OR_DIGIT.test(ch);
    // A straight quote toggles; curly quotes open and close. Both quote marks count as inside.
    const wasInQuote = inQuote;
    if (ch === '"') inQuote = !inQuote;
    else if (ch === '“') inQuote = true;
    else if (ch === '”') inQuote = false;
    quote.values[i] = inQuote || wasInQuote ? 1 : 0;
    if (OPENING.has(ch)) brackets++;
    else if (CLOSING.has(ch)) brackets = Math.max(0, brackets - 1);
    depth.values[i] = brackets;
    col = previous === '\n' ? 0 : col + 1;
    column.values[i] = col;
    lineStart.values[i] = col === 0 ? 1 : 0;
    inWord.values[i] = isWordChar ? 1 : 0;
    wordStart.values[i] = isWordChar && !LETTER_OR_DIGIT.test(previous) ? 1 : 0;
    upper.values[i] = ch !== ch.toLowerCase() ? 1 : 0;
    digit.values[i] = /\p{Nd}/u.test(ch) ? 1 : 0;
    if (SENTENCE_END.has(ch)) afterSentence = true;
    else if (isWordChar) afterSentence = false;
    sentence.values[i] = afterSentence ? 1 : 0;
    previous = ch;
  }
  return [quote, depth, column, inWord, wordStart, upper, digit, sentence, lineStart];
}

/**
 * What a cell is shown as: the LSTM's cell state through tanh (in −1…1, as Karpathy's visualisations
 * show it), the hidden state h for the GRU and RNN (already in −1…1). Per layer [N, H].
 */
export function shownStates(trace: ActivationTrace): Float32Array[] {
  if (!trace.c) return trace.h;
  return trace.c.map((c) => {
    const out = new Float32Array(c.length);
    for (let i = 0; i < c.length; i++) out[i] = Math.tanh(c[i]);
    return out;
  });
}

export interface CellRef {
  /** Counted from 1 (the layer nearest the input). */
  layer: number;
  /** Counted from 0, as in the weight matrices. */
  cell: number;
}

export interface Detection {
  feature: string;
  label: string;
  /** The cells that correlate most strongly (by |r|), strongest first; r is the Pearson correlation. */
  cells: (CellRef & { r: number })[];
}

/**
 * For every feature, the `top` cells whose activation correlates most (positively or negatively) with
 * it. A feature that is constant over the text (no quotes in it, say) finds nothing.
 */
export function detectCells(features: readonly Feature[], states: readonly Float32Array[], hiddenSize: number, top = 3): Detection[] {
  const H = hiddenSize;
  const N = states[0].length / H;
  // Per cell: mean and the root of the sum of squared deviations, computed once for all features.
  const stats = states.map((m) => {
    const mean = new Float64Array(H), norm = new Float64Array(H);
    for (let i = 0; i < N; i++) for (let j = 0; j < H; j++) mean[j] += m[i * H + j];
    for (let j = 0; j < H; j++) mean[j] /= N;
    for (let i = 0; i < N; i++) for (let j = 0; j < H; j++) norm[j] += (m[i * H + j] - mean[j]) ** 2;
    return { mean, norm: norm.map(Math.sqrt) };
  });
  return features.map((f) => {
    let fMean = 0;
    for (let i = 0; i < N; i++) fMean += f.values[i];
    fMean /= N;
    let fNorm = 0;
    for (let i = 0; i < N; i++) fNorm += (f.values[i] - fMean) ** 2;
    fNorm = Math.sqrt(fNorm);
    const found: (CellRef & { r: number })[] = [];
    if (fNorm > 0) {
      states.forEach((m, l) => {
        const cov = new Float64Array(H);
        for (let i = 0; i < N; i++) {
          const d = f.values[i] - fMean;
          if (d === 0) continue;
          for (let j = 0; j < H; j++) cov[j] += d * m[i * H + j];
        }
        for (let j = 0; j < H; j++) {
          const denominator = fNorm * stats[l].norm[j];
          if (denominator > 0) found.push({ layer: l + 1, cell: j, r: cov[j] / denominator });
        }
      });
    }
    found.sort((a, b) => Math.abs(b.r) - Math.abs(a.r));
    return { feature: f.id, label: f.label, cells: found.slice(0, top) };
  });
}

/** Cells whose shown activation is beyond ±`threshold` for at least `minFraction` of the characters, most saturated first. */
export function saturatedCells(states: readonly Float32Array[], hiddenSize: number, threshold = 0.9, minFraction = 0.75): (CellRef & { fraction: number })[] {
  const H = hiddenSize;
  const out: (CellRef & { fraction: number })[] = [];
  states.forEach((m, l) => {
    const N = m.length / H;
    const count = new Int32Array(H);
    for (let i = 0; i < N; i++) for (let j = 0; j < H; j++) if (Math.abs(m[i * H + j]) > threshold) count[j]++;
    for (let j = 0; j < H; j++) if (count[j] >= minFraction * N) out.push({ layer: l + 1, cell: j, fraction: count[j] / N });
  });
  return out.sort((a, b) => b.fraction - a.fraction || a.layer - b.layer || a.cell - b.cell);
}
