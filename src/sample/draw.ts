import { UsageError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** How the next character is drawn from the model's logits. */
export interface DrawOptions {
  /** Divides the logits: below 1 is more conservative, above 1 more surprising. Default 1. */
  temperature?: number;
  /** Keep only the k most likely characters (all of them when k is the vocabulary size or more). */
  topK?: number;
  /** Keep the smallest set of most likely characters whose probability reaches p (nucleus sampling; after top-k). */
  topP?: number;
  /** Keep only the characters whose probability is at least this share of the most likely one's (min-p, after top-p). */
  minP?: number;
  /** Always take the most likely character (greedy); temperature, top-k and top-p then do nothing. */
  argmax?: boolean;
}

/** Refuses a temperature, top-k or top-p that cannot be used, naming the CLI option that sets it. */
export function checkDrawOptions({ temperature = 1, topK, topP, minP }: DrawOptions): void {
  if (!(temperature > 0)) throw new UsageError('the temperature must be greater than 0, e.g. --temp 0.8');
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new UsageError('--top-k must be a positive whole number');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError('--top-p must be greater than 0 and at most 1');
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) throw new UsageError('--min-p must be from 0 to 1');
}

/**
 * Draws characters from logits [V] with temperature, top-k, top-p or argmax, using its own random
 * stream: the one draw both `charnn sample` and every row of a SampleBatch use.
 */
export class Draw {
  private readonly weights: Float64Array; // unnormalised probabilities of the next character
  private readonly order: Int32Array; // token indices sorted by probability, for top-k and top-p

  constructor(private readonly vocabSize: number, private readonly options: DrawOptions, private readonly rng: Rng) {
    this.weights = new Float64Array(vocabSize);
    this.order = new Int32Array(vocabSize);
  }

  /**
   * The next token, drawn from the logits at heap[logits … logits + V). Tokens marked in `banned` (the
   * copy guard) are never drawn; -1 when every candidate is banned.
   */
  pick(heap: Float32Array, logits: number, banned: Uint8Array | null = null): number {
    const V = this.vocabSize;
    const { temperature = 1, topK, topP, minP, argmax } = this.options;
    let best = -1;
    for (let j = 0; j < V; j++) if (!banned?.[j] && (best < 0 || heap[logits + j] > heap[logits + best])) best = j;
    if (argmax || best < 0) return best;
    const w = this.weights;
    const max = heap[logits + best];
    for (let j = 0; j < V; j++) w[j] = Math.exp((heap[logits + j] - max) / temperature);
    if ((topK !== undefined && topK < V) || (topP !== undefined && topP < 1)) this.truncate(topK ?? V, topP ?? 1);
    // min-p: w[best] is 1, so a weight is its probability's share of the most likely character's.
    if (minP !== undefined && minP > 0) for (let j = 0; j < V; j++) if (w[j] < minP) w[j] = 0;
    let total = 0;
    for (let j = 0; j < V; j++) {
      if (banned?.[j]) w[j] = 0;
      total += w[j];
    }
    if (total === 0) return -1; // top-k or top-p kept only banned characters
    let u = this.rng.uniform() * total;
    for (let j = 0; j < V; j++) {
      u -= w[j];
      if (u < 0) return j;
    }
    return best; // rounding left u ≥ 0: the most likely character
  }

  /**
   * Zeroes all but the k most likely, then, of those k renormalised, all but the fewest most likely
   * whose probability reaches p (top-k first, then nucleus, as most samplers do).
   */
  private truncate(k: number, p: number): void {
    const w = this.weights, order = this.order;
    for (let j = 0; j < order.length; j++) order[j] = j;
    order.sort((a, b) => w[b] - w[a] || a - b);
    let total = 0;
    for (let r = 0; r < Math.min(k, order.length); r++) total += w[order[r]];
    let mass = 0;
    for (let r = 0; r < order.length; r++) {
      const j = order[r];
      if (r >= k || mass >= p * total) w[j] = 0;
      else mass += w[j];
    }
  }
}

/**
 * The model's log-probabilities (temperature 1, nothing truncated) of token `token` and of the `top`
 * most likely tokens, from the logits at heap[logits … logits + V): what a score or `logprobs` reports.
 */
export function logProbabilities(heap: Float32Array, logits: number, V: number, token: number, top: number): { logprob: number; top: [number, number][] } {
  const logTotal = logNormalizer(heap, logits, V);
  const best: [number, number][] = [];
  if (top > 0) {
    const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => heap[logits + b] - heap[logits + a] || a - b);
    for (const j of order.slice(0, top)) best.push([j, heap[logits + j] - logTotal]);
  }
  return { logprob: heap[logits + token] - logTotal, top: best };
}

/** log Σ exp(logit) over the logits at heap[logits … logits + V): a token's log-probability is its logit minus this. */
export function logNormalizer(heap: Float32Array, logits: number, V: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, heap[logits + j]);
  let total = 0;
  for (let j = 0; j < V; j++) total += Math.exp(heap[logits + j] - max);
  return max + Math.log(total);
}
