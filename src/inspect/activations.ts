import type { Checkpoint } from '../checkpoint/format.js';
import { loadCheckpoint } from '../checkpoint/store.js';
import { modelFromCheckpoint } from '../checkpoint/weights.js';
import { Vocab, type TokenArray } from '../data/vocab.js';
import { defaultBackend, type BackendName } from '../kernels/index.js';
import type { CellType } from '../model/model.js';
import { UsageError } from '../util/errors.js';

export interface ActivationOptions {
  /** How many of the most likely next characters to keep per character. Default 5. */
  topK?: number;
  backend?: BackendName;
}

/** One guess of the model for the character that comes next. */
export interface Guess {
  char: string;
  prob: number;
}

/** What the model did at one character of the text: ActivationTrace.at(i). */
export interface CharActivation {
  char: string;
  /** −log2 of the probability the model gave this character before reading it, in bits. */
  surprisal: number;
  /** The most likely next characters after reading this one, most likely first. */
  top: Guess[];
  /** Per layer, the hidden state h after this character: views [H] into ActivationTrace.h. */
  h: Float32Array[];
  /** Per layer, the LSTM cell state c after this character (views into ActivationTrace.c); null for GRU and RNN. */
  c: Float32Array[] | null;
}

/**
 * The run over a text, held once as one flat array per quantity (row i for character i); `at(i)` gives
 * one character's view as an object.
 */
export interface ActivationTrace {
  cell: CellType;
  layers: number;
  hiddenSize: number;
  /** The characters the model read, in order: the text without the ones outside its vocabulary. */
  text: string;
  /** How many characters: N. */
  length: number;
  /** The model's vocabulary: `tokens` and `topTokens` are indices into it. */
  vocab: readonly string[];
  /** The text as tokens [N]: character i is vocab[tokens[i]]. */
  tokens: TokenArray;
  /** Mean surprisal over the text, bits per character. */
  bitsPerChar: number;
  /** Surprisal of every character, bits [N]. */
  surprisal: Float32Array;
  /** Guesses kept per character: the `topK` option, at most the vocabulary's size. */
  topK: number;
  /** After each character, the most likely next tokens [N, topK], most likely first, and their probabilities [N, topK]. */
  topTokens: Int32Array;
  topProbs: Float64Array;
  /** Per layer, h for every character: [N, H], row i after character i. */
  h: Float32Array[];
  /** Per layer, c for every character [N, H] (LSTM only). */
  c: Float32Array[] | null;
  /** Occurrences of characters outside the vocabulary, left out, and those characters, distinct. */
  unknownChars: number;
  unknown: string[];
  /**
   * Character i (from the end when negative, as Array.prototype.at) as one object, made on each call
   * from the arrays above; a RangeError outside the text.
   */
  at(i: number): CharActivation;
}

/** Characters per forward: the input products run for a chunk at once, the recurrence step by step. */
const CHUNK = 64;

/**
 * Runs a model over a text (batch 1, the state carried from character to character, no dropout, as
 * `sample` and `eval` read text) and records at every character what it predicted and what its cells
 * held. The text is read after the start token a sample starts from (a newline), so the first character
 * is scored too. Characters the model does not know are left out and reported.
 *
 *     const trace = await activations('checkpoints/lighthouse/best.json', 'Monday, fog.');
 *     trace.at(3).top; // [{ char: 'a', prob: 0.61 }, …]
 */
export async function activations(checkpoint: Checkpoint | string, text: string, options: ActivationOptions = {}): Promise<ActivationTrace> {
  const ckpt = typeof checkpoint === 'string' ? await loadCheckpoint(checkpoint) : checkpoint;
  return traceActivations(ckpt, text, options);
}

/** activations() for a loaded checkpoint, synchronously. */
export function traceActivations(ckpt: Checkpoint, text: string, options: ActivationOptions = {}): ActivationTrace {
  const topK = options.topK ?? 5;
  if (!(Number.isInteger(topK) && topK >= 1)) throw new UsageError('topK must be a positive whole number');
  const vocab = Vocab.fromChars(ckpt.vocab);
  const { known, unknownChars, unknown } = vocab.dropUnknown(text);
  const tokens = vocab.encode(known);
  const N = tokens.length;
  if (N === 0) throw new UsageError('the text has no characters the model knows; nothing to show');
  const { cell, layers: L, hiddenSize: H, vocabSize: V } = ckpt.model;
  const k = Math.min(topK, V);

  const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: CHUNK, backend: options.backend ?? defaultBackend() });
  const heap = model.k.heap;
  const h = Array.from({ length: L }, () => new Float32Array(N * H));
  const c = cell === 'lstm' ? Array.from({ length: L }, () => new Float32Array(N * H)) : null;
  const surprisal = new Float32Array(N);
  const topTokens = new Int32Array(N * k);
  const topProbs = new Float64Array(N * k);
  const probs = new Float64Array(V);

  // The model reads [start, x0 … x(N−1)]: after input j it predicts x(j), and for j ≥ 1 its state and
  // guesses belong to character j − 1.
  const input = new Int32Array(N + 1);
  input[0] = vocab.startToken;
  input.set(tokens, 1);
  model.resetState(1);
  for (let from = 0; from < N + 1; from += CHUNK) {
    const steps = Math.min(CHUNK, N + 1 - from);
    const logits = model.forward(input.subarray(from, from + steps), steps, 1, null);
    for (let t = 0; t < steps; t++) {
      const j = from + t;
      softmax(heap, logits + t * V, V, probs);
      if (j < N) surprisal[j] = -Math.log2(probs[tokens[j]]);
      if (j === 0) continue;
      const i = j - 1;
      topOf(probs, k, topTokens.subarray(i * k, (i + 1) * k), topProbs.subarray(i * k, (i + 1) * k));
      model.layers.forEach((layer, l) => {
        const states = layer.states; // [h] or [h, c], slot t + 1 is the state after step t
        h[l].set(heap.subarray(states[0].slot(t + 1, 1), states[0].slot(t + 1, 1) + H), i * H);
        if (c) c[l].set(heap.subarray(states[1].slot(t + 1, 1), states[1].slot(t + 1, 1) + H), i * H);
      });
    }
    model.carryState();
  }

  let totalBits = 0;
  for (let i = 0; i < N; i++) totalBits += surprisal[i];
  const at = (index: number): CharActivation => {
    const i = index < 0 ? index + N : index;
    if (!(Number.isInteger(i) && i >= 0 && i < N)) throw new RangeError(`character ${index} is outside the trace of ${N} characters`);
    return {
      char: vocab.chars[tokens[i]],
      surprisal: surprisal[i],
      top: Array.from({ length: k }, (_, r) => ({ char: vocab.chars[topTokens[i * k + r]], prob: topProbs[i * k + r] })),
      h: h.map((m) => m.subarray(i * H, (i + 1) * H)),
      c: c ? c.map((m) => m.subarray(i * H, (i + 1) * H)) : null,
    };
  };
  return {
    cell, layers: L, hiddenSize: H, text: known, length: N, vocab: vocab.chars, tokens, bitsPerChar: totalBits / N, surprisal,
    topK: k, topTokens, topProbs, h, c, unknownChars, unknown, at,
  };
}

/** probs = softmax(heap[offset … offset + V)), in double precision. */
function softmax(heap: Float32Array, offset: number, V: number, probs: Float64Array): void {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, heap[offset + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += probs[v] = Math.exp(heap[offset + v] - max);
  for (let v = 0; v < V; v++) probs[v] /= sum;
}

/** The k most probable tokens, most probable first (ties: the lower token), by insertion into a short sorted list. */
function topOf(probs: Float64Array, k: number, tokens: Int32Array, values: Float64Array): void {
  let n = 0;
  for (let v = 0; v < probs.length; v++) {
    const p = probs[v];
    if (n === k && p <= values[k - 1]) continue;
    let r = Math.min(n, k - 1);
    while (r > 0 && values[r - 1] < p) {
      values[r] = values[r - 1];
      tokens[r] = tokens[r - 1];
      r--;
    }
    values[r] = p;
    tokens[r] = v;
    if (n < k) n++;
  }
}
