import type { CopyIndex } from '../data/copy-index.js';
import type { Vocab } from '../data/vocab.js';
import type { Model } from '../model/model.js';
import type { Rng } from '../util/rng.js';
import { Draw, logProbabilities, type DrawOptions } from './draw.js';

/** One stream of a SampleBatch: where it starts, how long it runs, how it draws. */
export interface RowOptions extends DrawOptions {
  /** Text that warms the state first, every character in the vocabulary; empty: start from the start token. */
  prime: string;
  /** Characters to generate (the prime not counted); Infinity for an endless stream. */
  length: number;
  /** End the row as soon as its generated text ends with one of these (included in its pieces). */
  stop?: readonly string[];
  /** The row's own random stream (`rowSeed` gives the seeds of a request's rows). */
  rng: Rng;
  /** Report the prime's characters as pieces before the generated ones. */
  echo?: boolean;
  /**
   * Report log-probabilities with each piece: the piece's own and those of the `logprobs` most likely
   * characters at its position (null: none). With echo, the prime's characters are scored too, from the
   * second on (the first has nothing before it).
   */
  logprobs?: number | null;
  /** The copy guard: never emit a span of more than `maxCopy` characters that occurs in the index's text. */
  guard?: { index: CopyIndex; maxCopy: number };
}

/** A character a row produced, with its log-probabilities when they were asked for. */
export interface Piece {
  char: string;
  /** Part of the prime (echo), not generated. */
  prompt: boolean;
  logprob: number | null;
  /** The most likely characters at this position and their log-probabilities, most likely first. */
  top: [string, number][] | null;
}

/** `copy`: every character the row could draw next would have made a copy longer than the guard allows. */
export type FinishReason = 'stop' | 'length' | 'copy';

/** Row i of a request with seed s draws from seed s + i, so row 0 is what `charnn sample --seed s` gives. */
export function rowSeed(seed: number, index: number): number {
  return (seed + index) >>> 0;
}

/**
 * A stream's progress: the prime's tokens fed one per step, then one drawn character per step, each fed
 * back in, until `length` characters or a stop string. It produces pieces that its owner takes.
 */
export class SampleRow {
  /** Null while running; why it ended once it has. */
  finishReason: FinishReason | null = null;
  /** Characters generated so far (the prime not counted). */
  generated = 0;
  /** Its row in the batch's state while it is in the batch, else -1. */
  slot = -1;
  private readonly feeds: Int32Array; // the start token and the prime's tokens (a scored prime: its tokens alone)
  private fed = 0;
  private next = 0; // the token to feed once the prime is fed
  private readonly draw: Draw;
  private readonly stops: readonly string[];
  private readonly keep: number; // characters of tail the longest stop string needs
  private tail = '';
  private pieces: Piece[] = [];
  private readonly guard: CopyGuard | null;

  constructor(private readonly vocab: Vocab, private readonly options: RowOptions) {
    const prime = [...options.prime];
    // A sample starts as a paragraph does in training: the start token (a newline), not shown, read from a
    // zero state, then the prime. A scored prime is scored from the zero state, as charnn eval scores.
    const tokens = prime.map((c) => vocab.indexOf(c));
    this.feeds = Int32Array.from(this.scored && prime.length > 0 ? tokens : [vocab.startToken, ...tokens]);
    this.draw = new Draw(vocab.size, options, options.rng);
    this.stops = (options.stop ?? []).filter((s) => s.length > 0);
    this.keep = Math.max(0, ...this.stops.map((s) => s.length));
    this.guard = options.guard ? new CopyGuard(vocab, options.guard.index, options.guard.maxCopy, prime) : null;
    if (options.echo) {
      // Scored, the prime's characters after the first come with their scores as the steps reach them.
      for (const char of this.scored ? prime.slice(0, 1) : prime) this.pieces.push({ char, prompt: true, logprob: null, top: null });
    }
    // Nothing to generate: done at once, unless prime characters after the first still wait for their scores.
    if (options.length === 0 && !(this.scored && prime.length > 1)) this.finishReason = 'length';
  }

  get done(): boolean {
    return this.finishReason !== null;
  }

  /** The pieces produced since the last call. */
  take(): Piece[] {
    const taken = this.pieces;
    if (taken.length > 0) this.pieces = [];
    return taken;
  }

  /** Whether the prime is scored: echoed with log-probabilities. */
  private get scored(): boolean {
    return this.options.echo === true && this.options.logprobs != null;
  }

  /** The token this row feeds at the next step. */
  input(): number {
    return this.fed < this.feeds.length ? this.feeds[this.fed] : this.next;
  }

  /** Reads the logits [V] its input led to: scores the next prime character, or draws a new one. */
  advance(heap: Float32Array, logits: number): void {
    if (this.fed < this.feeds.length && ++this.fed < this.feeds.length) {
      if (this.scored) this.pieces.push(this.piece(this.feeds[this.fed], heap, logits, true));
      // Without generation, the score ends where the prime does: its last character needs no step.
      if (this.options.length === 0 && this.fed === this.feeds.length - 1) this.finishReason = 'length';
      return;
    }
    const token = this.draw.pick(heap, logits, this.guard?.banned() ?? null);
    if (token < 0) {
      this.finishReason = 'copy';
      return;
    }
    this.guard?.push(token);
    const piece = this.piece(token, heap, logits, false);
    this.pieces.push(piece);
    this.generated++;
    if (this.keep > 0) {
      this.tail = (this.tail + piece.char).slice(-this.keep * 2);
      if (this.stops.some((s) => this.tail.endsWith(s))) this.finishReason = 'stop';
    }
    if (this.finishReason === null && this.generated >= this.options.length) this.finishReason = 'length';
    this.next = token;
  }

  private piece(token: number, heap: Float32Array, logits: number, prompt: boolean): Piece {
    const chars = this.vocab.chars;
    const { logprobs = null } = this.options;
    if (logprobs === null) return { char: chars[token], prompt, logprob: null, top: null };
    const scores = logProbabilities(heap, logits, this.vocab.size, token, logprobs);
    return { char: chars[token], prompt, logprob: scores.logprob, top: scores.top.map(([j, lp]) => [chars[j], lp]) };
  }
}

/**
 * What a row may not draw next: the characters that would end a span of maxCopy + 1 characters found in
 * the corpus, that is, those that follow the row's last maxCopy characters (prime included) somewhere in
 * it. The index has the corpus's own token numbers: the model's map through the characters.
 */
class CopyGuard {
  private readonly toIndex: Int32Array; // model token → index token (-1: a character the corpus lacks)
  private readonly context: Int32Array; // the last maxCopy characters, as index tokens, oldest first
  private filled = 0;
  private readonly follows: Uint8Array;
  private readonly ban: Uint8Array;

  constructor(vocab: Vocab, private readonly index: CopyIndex, private readonly maxCopy: number, prime: readonly string[]) {
    this.toIndex = Int32Array.from(vocab.chars, (c) => index.vocab.indexOf(c));
    this.context = new Int32Array(maxCopy);
    this.follows = new Uint8Array(index.vocab.size);
    this.ban = new Uint8Array(vocab.size);
    for (const c of prime) this.push(vocab.indexOf(c));
  }

  push(token: number): void {
    if (this.filled === this.maxCopy) this.context.copyWithin(0, 1);
    else this.filled++;
    this.context[this.filled - 1] = this.toIndex[token];
  }

  banned(): Uint8Array | null {
    if (this.filled < this.maxCopy) return null;
    this.index.followers(this.context, 0, this.maxCopy, this.follows);
    for (let t = 0; t < this.ban.length; t++) this.ban[t] = this.toIndex[t] >= 0 ? this.follows[this.toIndex[t]] : 0;
    return this.ban;
  }
}

/**
 * Many independent streams stepped together: each step is ONE forward of the model over all rows (batch
 * B, one time step), and each row then draws from its own logits with its own options and random stream.
 * A row's recurrent state (h, and c for an LSTM, per layer) is its row of the model's carried state, so
 * rows can join and leave between steps: a new row starts from a zero state in the next free row, and a
 * leaving row's place is taken by the last row (the state rows stay packed, [B, H] from the start).
 * The kernels compute every row of a product alike whatever B is, so a row gives exactly the text it
 * would give alone (test/sample-batch.test.ts checks it against serial Samplers).
 */
export class SampleBatch {
  private readonly rows: SampleRow[] = [];
  private readonly inputs: Int32Array;

  /** `model` is sized for the rows (maxBatch) and one step (maxSteps). */
  constructor(private readonly model: Model, readonly vocab: Vocab) {
    this.inputs = new Int32Array(model.maxBatch);
  }

  /** Rows that can be stepped together. */
  get capacity(): number {
    return this.model.maxBatch;
  }

  /** Rows in the batch now. */
  get size(): number {
    return this.rows.length;
  }

  /** A new row, in the batch from the next step (unless it has nothing to do). The batch must have room. */
  add(options: RowOptions): SampleRow {
    const row = new SampleRow(this.vocab, options);
    if (row.done) return row;
    if (this.rows.length >= this.capacity) throw new RangeError(`the batch is full (${this.capacity} rows)`);
    row.slot = this.rows.length;
    this.rows.push(row);
    this.model.resetStateRow(row.slot);
    return row;
  }

  /** Takes a row out of the batch (finished, or no longer wanted); the last row moves into its place. */
  remove(row: SampleRow): void {
    if (row.slot < 0) return;
    const last = this.rows.pop()!;
    if (last !== row) {
      this.model.selectStateRows(this.rows.map((_, r) => (r === row.slot ? last.slot : r)));
      this.rows[row.slot] = last;
      last.slot = row.slot;
    }
    row.slot = -1;
  }

  /** One forward of every row; returns the rows stepped. Rows that finished have left the batch. */
  step(): SampleRow[] {
    const stepped = this.rows.slice();
    const B = stepped.length;
    if (B === 0) return stepped;
    for (let b = 0; b < B; b++) this.inputs[b] = stepped[b].input();
    const logits = this.model.forward(this.inputs, 1, B, null);
    this.model.carryState();
    const V = this.vocab.size, heap = this.model.k.heap;
    for (let b = 0; b < B; b++) stepped[b].advance(heap, logits + b * V);
    for (const row of stepped) if (row.done) this.remove(row);
    return stepped;
  }
}
