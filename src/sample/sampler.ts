import type { Checkpoint } from '../checkpoint/format.js';
import { loadCheckpoint } from '../checkpoint/store.js';
import { modelFromCheckpoint } from '../checkpoint/weights.js';
import { describeChars, Vocab } from '../data/vocab.js';
import { defaultBackend, type BackendName } from '../kernels/index.js';
import { Model } from '../model/model.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface SampleOptions {
  /** Divides the logits: below 1 is more conservative, above 1 more surprising. Default 1. */
  temperature?: number;
  /** Characters to generate (the prime not counted). Default 1000. */
  length?: number;
  /** Text that warms the state first; it is yielded first. */
  prime?: string;
  /** Prime characters outside the vocabulary: an error (default), or dropped. */
  primeUnknown?: 'error' | 'skip';
  /** Same seed, same text. Default: a fresh random seed. */
  seed?: number;
  /** Keep only the k most likely characters (all of them when k is the vocabulary size or more). */
  topK?: number;
  /** Keep the smallest set of most likely characters whose probability reaches p (nucleus sampling; after top-k). */
  topP?: number;
  /** Always take the most likely character (greedy); temperature, top-k and top-p then do nothing. */
  argmax?: boolean;
  /** End the sample as soon as the generated text (not the prime) ends with one of these; it is included. */
  stop?: readonly string[];
  backend?: BackendName;
}

/**
 * Generates text one character at a time from a trained model: the same Model code as training, batch 1,
 * one step per character, the state carried, no dropout.
 */
export class Sampler {
  readonly vocab: Vocab;
  private readonly model: Model;
  private readonly rng: Rng;
  private readonly input = new Int32Array(1);
  private readonly weights: Float64Array; // unnormalised probabilities of the next character
  private readonly order: Int32Array; // token indices sorted by probability, for top-k and top-p
  private logits = 0;

  /** From a checkpoint, or from a model (built with maxBatch 1, maxSteps 1) and its vocabulary. */
  constructor(source: Checkpoint | { model: Model; vocab: Vocab }, private readonly options: SampleOptions = {}) {
    const { temperature = 1, topK, topP } = options;
    if (!(temperature > 0)) throw new UsageError('the temperature must be greater than 0, e.g. --temp 0.8');
    if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new UsageError('--top-k must be a positive whole number');
    if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError('--top-p must be greater than 0 and at most 1');
    if ('model' in source && source.model instanceof Model) {
      this.vocab = (source as { vocab: Vocab }).vocab;
      this.model = source.model;
    } else {
      const ckpt = source as Checkpoint;
      this.vocab = Vocab.fromChars(ckpt.vocab);
      this.model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend: options.backend ?? defaultBackend() });
    }
    this.rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.weights = new Float64Array(this.vocab.size);
    this.order = new Int32Array(this.vocab.size);
  }

  /** The prime text as it will be used: unknown characters refused or dropped. */
  primeText(): { text: string; dropped: string[] } {
    const prime = this.options.prime ?? '';
    const missing = this.vocab.missing(prime);
    if (missing.length === 0) return { text: prime, dropped: [] };
    if (this.options.primeUnknown !== 'skip') {
      throw new UsageError(`the prime text has ${missing.length} character(s) not in the model's vocabulary: ${describeChars(missing)}; change the prime or use --prime-unknown skip`);
    }
    const unknown = new Set(missing);
    return { text: [...prime].filter((c) => !unknown.has(c)).join(''), dropped: missing };
  }

  /** One sample: the prime's characters, then up to `length` generated ones. */
  *generate(): Generator<string> {
    const { text: prime } = this.primeText();
    const length = this.options.length ?? 1000;
    const stops = (this.options.stop ?? []).filter((s) => s.length > 0);
    const keep = Math.max(0, ...stops.map((s) => s.length));
    this.model.resetState(1);
    // Without a prime, start from a newline (or the first character of the vocabulary), not printed.
    if (prime.length === 0) this.feed(this.vocab.startToken);
    for (const c of prime) this.feed(this.vocab.indexOf(c));
    yield* prime;
    let tail = '';
    for (let n = 0; n < length; n++) {
      const token = this.pick();
      const char = this.vocab.chars[token];
      yield char;
      if (keep > 0) {
        tail = (tail + char).slice(-keep * 2);
        if (stops.some((s) => tail.endsWith(s))) return;
      }
      this.feed(token);
    }
  }

  private feed(token: number): void {
    this.input[0] = token;
    this.logits = this.model.forward(this.input, 1, 1, null);
    this.model.carryState();
  }

  /** Draws the next token from the last logits with temperature, top-k, top-p or argmax. */
  private pick(): number {
    const V = this.vocab.size;
    const heap = this.model.k.heap;
    const { temperature = 1, topK, topP, argmax } = this.options;
    let best = 0;
    for (let j = 1; j < V; j++) if (heap[this.logits + j] > heap[this.logits + best]) best = j;
    if (argmax) return best;
    const w = this.weights;
    const max = heap[this.logits + best];
    for (let j = 0; j < V; j++) w[j] = Math.exp((heap[this.logits + j] - max) / temperature);
    if ((topK !== undefined && topK < V) || (topP !== undefined && topP < 1)) this.truncate(topK ?? V, topP ?? 1);
    let total = 0;
    for (let j = 0; j < V; j++) total += w[j];
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
 * Samples text from a checkpoint (a Checkpoint or the path of one) as an async iterator of characters:
 *
 *     for await (const char of sample('checkpoints/input/best.json', { temperature: 0.8, length: 200 })) …
 */
export async function* sample(checkpoint: Checkpoint | string, options: SampleOptions = {}): AsyncGenerator<string> {
  const ckpt = typeof checkpoint === 'string' ? await loadCheckpoint(checkpoint) : checkpoint;
  yield* new Sampler(ckpt, options).generate();
}
