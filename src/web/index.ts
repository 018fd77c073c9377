/**
 * charnn in the browser (`charnn/web`): a model packed by `charnn export`, run by the same Model, kernels
 * and Sampler as the command line. Nothing here imports Node: the bundle (scripts/export-bundle.mjs) swaps
 * the two Node-only modules the sampler and the kernels reach for (see there), and carries the
 * WebAssembly kernels inline.
 *
 *     const model = await WebModel.open(packed);
 *     for await (const piece of model.generate({ prime: 'The ', length: 200, seed: 7 })) out.textContent += piece;
 */
import { Vocab } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import { wasmAvailable } from '../kernels/wasm.js';
import { Model } from '../model/model.js';
import { Sampler, type SampleOptions } from '../sample/sampler.js';
import { checkDrawOptions, Draw } from '../sample/draw.js';
import { Rng } from '../util/rng.js';
import { unpackWeights, type ModelFacts, type PackedModel } from './pack.js';

export type { ModelFacts, PackedModel } from './pack.js';
export type { SampleOptions } from '../sample/sampler.js';
export { PRECISIONS, type Precision } from './precision.js';

/** The options of `charnn sample` that apply to one draw after another (no prime: feed() the text first). */
export type NextOptions = Omit<SampleOptions, 'prime' | 'primeUnknown' | 'backend'>;

/** How long generate() computes before it hands a piece over and lets the page breathe. */
const SLICE_MS = 25;

/** The backend to use when none is asked for: wasm where this browser runs it (SIMD and shared memory), else js. */
export function browserBackend(): BackendName {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'js';
  }
  return wasmAvailable() ? 'wasm' : 'js';
}

export class WebModel {
  readonly vocab: Vocab;
  /** The model generate() runs, and the one the stateful feed/next/reset steer: each keeps its own state. */
  private readonly sampling: Model;
  private readonly steered: Model;
  private draw: { draw: Draw; key: string } | null = null;
  private logits = 0; // where the last step's logits are on the heap (after reset(): those after the start token, as the CLI starts)

  private constructor(readonly facts: ModelFacts, packed: PackedModel, weights: Float32Array[], readonly backend: BackendName) {
    this.vocab = Vocab.fromChars(packed.vocab);
    const build = () => {
      const model = new Model(packed.model, { maxBatch: 1, maxSteps: 1, backend });
      model.params.forEach((p, i) => model.k.heap.set(weights[i], p.offset));
      return model;
    };
    this.sampling = build();
    this.steered = build();
    this.reset();
  }

  static async open(packed: PackedModel, options: { backend?: BackendName } = {}): Promise<WebModel> {
    return new WebModel(packed.facts, packed, await unpackWeights(packed), options.backend ?? browserBackend());
  }

  /** One sample, as `charnn sample` gives it (the same options, the same text for a seed), in pieces as they come. */
  async *generate(options: SampleOptions = {}): AsyncGenerator<string> {
    const chars = new Sampler({ model: this.sampling, vocab: this.vocab }, options).generate();
    for (let done = false; !done;) {
      let piece = '';
      for (const start = Date.now(); Date.now() - start < SLICE_MS;) {
        const step = chars.next();
        if ((done = step.done === true)) break;
        piece += step.value;
      }
      if (piece) yield piece;
      if (!done) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** Forgets everything fed and drawn: the next draw starts as a sample without a prime does. */
  reset(): void {
    this.steered.resetState(1);
    this.draw = null;
    this.step(this.vocab.startToken); // as charnn sample starts: a paragraph's start, then the prime
  }

  /** Runs the model over text (its characters must be in the vocabulary). */
  feed(text: string): void {
    const missing = this.vocab.missing(text);
    if (missing.length > 0) throw new Error(`the model does not know ${missing.map((c) => JSON.stringify(c)).join(', ')}`);
    for (const c of text) this.step(this.vocab.indexOf(c));
  }

  /**
   * Draws `length` characters (default 1) after what was fed and drawn so far, feeding each back in, and
   * returns them; a stop string ends the draw early (it is included). Draws with the same sampling options
   * continue one random stream, so feed(prime) then next() calls give the text of `charnn sample --prime`.
   */
  next(options: NextOptions = {}): string {
    const { length = 1, stop = [], ...sampling } = options;
    const key = JSON.stringify(sampling);
    if (this.draw?.key !== key) {
      checkDrawOptions(sampling);
      this.draw = { draw: new Draw(this.vocab.size, sampling, new Rng(sampling.seed ?? Math.floor(Math.random() * 2 ** 32))), key };
    }
    const { draw } = this.draw;
    const stops = stop.filter((s) => s.length > 0);
    let text = '';
    for (let n = 0; n < length; n++) {
      const token = draw.pick(this.steered.k.heap, this.logits);
      text += this.vocab.chars[token];
      this.step(token);
      if (stops.some((s) => text.endsWith(s))) break;
    }
    return text;
  }

  /** The k most likely next characters after what was fed, with their probabilities (temperature 1). */
  likely(k = 5): { char: string; probability: number }[] {
    const heap = this.steered.k.heap, at = this.logits, V = this.vocab.size;
    let max = -Infinity, total = 0;
    for (let j = 0; j < V; j++) max = Math.max(max, heap[at + j]);
    const weights = Array.from({ length: V }, (_, j) => Math.exp(heap[at + j] - max));
    for (const w of weights) total += w;
    return weights.map((w, j) => ({ char: this.vocab.chars[j], probability: w / total }))
      .sort((a, b) => b.probability - a.probability).slice(0, k);
  }

  /** Runs a proposal without moving the state: what next(options) would give, forgotten afterwards. */
  propose(options: NextOptions = {}): string {
    const heap = this.steered.k.heap, at = this.logits, V = this.vocab.size;
    const state = this.steered.saveState(1), logits = heap.slice(at, at + V), draw = this.draw;
    this.draw = null; // a stream of its own, so the caller's stays where it was
    const text = this.next({ seed: 1, ...options });
    this.steered.restoreState(state);
    heap.set(logits, at);
    this.logits = at;
    this.draw = draw;
    return text;
  }

  private step(token: number): void {
    this.logits = this.steered.forward(Int32Array.of(token), 1, 1, null);
    this.steered.carryState();
  }
}
