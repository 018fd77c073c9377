import type { Vocab } from '../data/vocab.js';
import type { Model } from '../model/model.js';
import { logNormalizer } from './draw.js';

export interface BeamOptions {
  /** Hypotheses kept at each length (K): the rows of the batched forward. */
  width: number;
  /** Text that warms the state first (every character in the vocabulary); it starts the result. */
  prime: string;
  /** Characters to generate at most (the prime not counted). */
  length: number;
  /** A hypothesis whose generated text ends with one of these is finished (the string included). */
  stop?: readonly string[];
}

export interface BeamResult {
  /** The prime and the continuation found. */
  text: string;
  /** The continuation's log-probability under the model (natural log, the sum over its characters). */
  logprob: number;
  /** logprob per generated character, what the result was chosen by (0 when nothing was generated). */
  score: number;
  finish: 'stop' | 'length';
}

/** A continuation, as a link to the one it extends (the texts share their beginnings). */
interface Hypothesis {
  before: Hypothesis | null;
  char: string;
  logprob: number;
  generated: number;
  tail: string; // its last characters, as many as the stop strings need
}

/**
 * Beam search: at each length, the `width` continuations with the highest log-probability are kept, each
 * a row of ONE batched forward (a row's h and c are copied to the rows of the continuations that extend
 * it). A continuation that reaches a stop string or `length` characters is finished; of the finished
 * ones, the one with the highest mean log-probability per character wins (a sum alone favours the
 * shortest). Deterministic: ties go to the earlier row, then the earlier character of the vocabulary.
 * The model must have room for `width` rows.
 */
export function beamSearch(model: Model, vocab: Vocab, { width, prime, length, stop = [] }: BeamOptions): BeamResult {
  if (width > model.maxBatch) throw new RangeError(`a beam of ${width} needs a model with room for ${width} rows`);
  const V = vocab.size, heap = model.k.heap;
  const stops = stop.filter((s) => s.length > 0);
  const keep = Math.max(0, ...stops.map((s) => s.length));
  // The prime is read as a sample reads it: the start token from a zero state, then its characters.
  model.resetState(1);
  let logits = 0;
  for (const token of [vocab.startToken, ...[...prime].map((c) => vocab.indexOf(c))]) logits = forward(model, [token]);
  let best: BeamResult = { text: prime, logprob: 0, score: 0, finish: 'length' };
  let bestScore = -Infinity;
  let beam: Hypothesis[] = length > 0 ? [{ before: null, char: '', logprob: 0, generated: 0, tail: '' }] : [];
  while (beam.length > 0) {
    const candidates: { row: number; token: number; logprob: number }[] = [];
    beam.forEach((hypothesis, row) => {
      const at = logits + row * V, norm = logNormalizer(heap, at, V);
      for (let token = 0; token < V; token++) candidates.push({ row, token, logprob: hypothesis.logprob + heap[at + token] - norm });
    });
    candidates.sort((a, b) => b.logprob - a.logprob || a.row - b.row || a.token - b.token);
    // Best first, until the beam is full again; the finished ones met on the way (at most width) leave it.
    const next: Hypothesis[] = [], rows: number[] = [], tokens: number[] = [];
    let finished = 0;
    for (const { row, token, logprob } of candidates) {
      if (next.length === width || finished === width) break;
      const before = beam[row], char = vocab.chars[token];
      const hypothesis = { before, char, logprob, generated: before.generated + 1, tail: keep > 0 ? (before.tail + char).slice(-keep) : '' };
      const finish = stops.some((s) => hypothesis.tail.endsWith(s)) ? 'stop' : hypothesis.generated >= length ? 'length' : null;
      if (finish === null) {
        next.push(hypothesis);
        rows.push(row);
        tokens.push(token);
        continue;
      }
      finished++;
      const score = logprob / hypothesis.generated;
      if (score > bestScore) {
        bestScore = score;
        best = { text: prime + textOf(hypothesis), logprob, score, finish };
      }
    }
    if (next.length > 0) {
      model.selectStateRows(rows);
      logits = forward(model, tokens);
    }
    beam = next;
  }
  return best;
}

/** One step of `tokens.length` rows, the state carried; returns the logits' offset [B, V]. */
function forward(model: Model, tokens: number[]): number {
  const logits = model.forward(Int32Array.from(tokens), 1, tokens.length, null);
  model.carryState();
  return logits;
}

function textOf(hypothesis: Hypothesis): string {
  const chars: string[] = [];
  for (let h: Hypothesis | null = hypothesis; h?.before; h = h.before) chars.push(h.char);
  return chars.reverse().join('');
}
