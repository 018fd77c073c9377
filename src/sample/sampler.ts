import type { Checkpoint } from '../checkpoint/format.js';
import { loadCheckpoint } from '../checkpoint/store.js';
import { modelFromCheckpoint } from '../checkpoint/weights.js';
import { describeChars, Vocab } from '../data/vocab.js';
import { defaultBackend, type BackendName } from '../kernels/index.js';
import { Model } from '../model/model.js';
import { UsageError } from '../util/errors.js';
import { beamSearch, type BeamResult } from './beam.js';
import { SampleBatch, type FinishReason, type RowOptions } from './batch.js';
import { checkDrawOptions, type DrawOptions } from './draw.js';
import { sampleSeries, type SeriesChunk } from './series.js';

export interface SampleOptions extends DrawOptions {
  /** Characters to generate (the prime not counted). Default 1000. */
  length?: number;
  /** Text that warms the state first; it is yielded first. */
  prime?: string;
  /** Prime characters outside the vocabulary: an error (default), or dropped. */
  primeUnknown?: 'error' | 'skip';
  /** Same seed, same text. Default: a fresh random seed. */
  seed?: number;
  /** End the sample as soon as the generated text (not the prime) ends with one of these; it is included. */
  stop?: readonly string[];
  /** The copy guard (see RowOptions): loadIndex(...) of the run's corpus index, and the longest copy allowed. */
  guard?: RowOptions['guard'];
  backend?: BackendName;
  /** Samples stepped together by samples(), the rows of one batched forward. Default 1: one at a time. */
  rows?: number;
}

/**
 * Generates text one character at a time from a trained model: the same Model code as training, one
 * step per character, the state carried, no dropout. A sample is one row of a SampleBatch, so it is
 * exactly what the same row gives among others (`charnn serve`, samples()); beam() searches instead of drawing.
 */
export class Sampler {
  readonly vocab: Vocab;
  private readonly model: Model;
  private readonly seed: number;
  private drawn = 0; // samples drawn so far: the next one draws from rowSeed(seed, drawn)
  /** Why the last sample generate() gave ended (`copy`: the copy guard left no character to draw). */
  finishReason: FinishReason | null = null;

  /** From a checkpoint, or from a model (built with maxBatch `rows`, maxSteps 1) and its vocabulary. */
  constructor(source: Checkpoint | { model: Model; vocab: Vocab }, private readonly options: SampleOptions = {}) {
    checkDrawOptions(options);
    if ('model' in source && source.model instanceof Model) {
      this.vocab = (source as { vocab: Vocab }).vocab;
      this.model = source.model;
    } else {
      const ckpt = source as Checkpoint;
      this.vocab = Vocab.fromChars(ckpt.vocab);
      this.model = modelFromCheckpoint(ckpt, { maxBatch: options.rows ?? 1, maxSteps: 1, backend: options.backend ?? defaultBackend() });
    }
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
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

  /**
   * One sample: the prime's characters, then up to `length` generated ones. Without a prime, it starts
   * from a newline (or the first character of the vocabulary), not printed. Samples follow each other,
   * each on its own random stream: the i-th sample of a sampler seeded s (counting from 0) draws from
   * rowSeed(s, i), so it is what a sampler seeded s + i gives first.
   */
  *generate(): Generator<string> {
    for (const chunk of this.samples(1)) {
      yield* chunk.text;
      if (chunk.finish) this.finishReason = chunk.finish;
    }
  }

  /** The most probable continuation of the prime a beam of `width` finds (see beamSearch); `rows` ≥ width. */
  beam(width: number): BeamResult {
    return beamSearch(this.model, this.vocab, { width, prime: this.primeText().text, length: this.options.length ?? 1000, stop: this.options.stop });
  }

  /**
   * The next `count` samples, the very ones `count` calls of generate() give, stepped together as the rows
   * of one batched forward (see sampleSeries): sample 0's characters as they are drawn, each later
   * sample's as soon as the ones before it are out.
   */
  *samples(count: number): Generator<SeriesChunk> {
    const batch = new SampleBatch(this.model, this.vocab);
    const options = { ...this.options, prime: this.primeText().text, length: this.options.length ?? 1000 };
    const first = this.drawn;
    this.drawn += count;
    yield* sampleSeries(batch, options, this.seed, first, count);
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
