import { UsageError } from '../util/errors.js';
import { hashKey, uniformAt } from '../util/rng.js';
import type { TokenArray } from './vocab.js';

/**
 * Validation is the last ⌊n·valFrac⌋ tokens (as other tools do, so figures compare); training the rest.
 * Both are views of `tokens`, not copies.
 */
export function splitTrainVal(tokens: TokenArray, valFrac: number): { train: TokenArray; val: TokenArray } {
  if (!(valFrac >= 0 && valFrac <= 0.5)) throw new UsageError(`--val-frac must be between 0 and 0.5 (got ${valFrac})`);
  const cut = tokens.length - Math.floor(tokens.length * valFrac);
  return { train: tokens.subarray(0, cut), val: tokens.subarray(cut) };
}

/**
 * B contiguous streams over the training tokens for truncated BPTT. With L = ⌊(n−1)/B⌋, stream b holds
 * tokens[b·L ..= (b+1)·L] (neighbours share one token), that is L positions p whose input is
 * tokens[b·L + p] and whose target is tokens[b·L + p + 1].
 *
 * A batch taken at cursor c holds positions [c, c+T) of every stream, time-major:
 * inputs[t·B + b] = tokens[b·L + c + t], targets[t·B + b] = tokens[b·L + c + t + 1].
 * The cursor then advances by T; when fewer than T positions remain (c + 2T > L) it returns to 0 at once,
 * so an epoch is ⌊L/T⌋ batches and `cursor === 0` after `next()` means an epoch has just been completed.
 * The trainer carries the hidden state from one batch to the next within an epoch.
 */
export class BatchStream {
  /** L: positions per stream. */
  readonly streamLength: number;
  /** Batches in one pass over the streams: ⌊L/T⌋. */
  readonly batchesPerEpoch: number;
  private position = 0;

  constructor(private readonly tokens: TokenArray, readonly batchSize: number, readonly seqLength: number) {
    BatchStream.check(tokens.length, batchSize, seqLength, 'training');
    this.streamLength = Math.floor((tokens.length - 1) / batchSize);
    this.batchesPerEpoch = Math.floor(this.streamLength / seqLength);
  }

  /**
   * Position within the streams of the next batch; saved in checkpoints and set again on resume.
   * Any whole number from 0 to L − T is a place a batch can start.
   */
  get cursor(): number {
    return this.position;
  }

  set cursor(value: number) {
    const last = this.streamLength - this.seqLength;
    if (!Number.isInteger(value) || value < 0 || value > last) {
      throw new UsageError(`"training.cursor" ${value} is outside the training streams (0 to ${last}); the checkpoint does not match this corpus and --batch-size/--seq-length`);
    }
    this.position = value;
  }

  /** Fraction of the current epoch done: cursor / (T·batchesPerEpoch), in [0, 1). */
  get epochProgress(): number {
    return this.position / (this.batchesPerEpoch * this.seqLength);
  }

  /**
   * Fills `inputs` and `targets` ([T, B], length T·B) with the batch at the cursor and advances it.
   * Returns true when this batch starts an epoch (it was taken at cursor 0: the first batch of a run and
   * every batch after a wrap), so the caller must run it from a zero hidden state.
   */
  next(inputs: Int32Array, targets: Int32Array): boolean {
    const startsEpoch = this.position === 0;
    fillBatch(this.tokens, this.batchSize, this.streamLength, this.position, this.seqLength, inputs, targets);
    this.position += this.seqLength;
    if (this.position + this.seqLength > this.streamLength) this.position = 0;
    return startsEpoch;
  }

  /**
   * Streams whose next batch (at the cursor) begins at a paragraph break: its first input is the
   * document separator, or a newline that ends a blank line (so its first target starts a paragraph).
   * A token of -1 never matches.
   */
  breaksAtCursor(newline: number, separator: number): number[] {
    const streams: number[] = [];
    for (let b = 0; b < this.batchSize; b++) {
      const at = b * this.streamLength + this.position;
      const first = this.tokens[at];
      if (first === separator || (first === newline && at > 0 && this.tokens[at - 1] === newline)) streams.push(b);
    }
    return streams;
  }

  /**
   * Refuses sizes with which a stream cannot hold one batch (L < T, i.e. a stream has fewer than T+1
   * tokens), saying what to lower and to what.
   */
  static check(tokenCount: number, batchSize: number, seqLength: number, what: 'training' | 'validation'): void {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a positive whole number (got ${batchSize})`);
    if (!Number.isInteger(seqLength) || seqLength < 1) throw new UsageError(`--seq-length must be a positive whole number (got ${seqLength})`);
    const pairs = tokenCount - 1; // characters that have a character before them to predict from
    const streamLength = Math.floor(pairs / batchSize);
    if (streamLength >= seqLength) return;
    const longer = what === 'training' ? 'use a longer corpus' : 'raise --val-frac';
    if (pairs < 1) throw new UsageError(`the ${what} text has ${Math.max(0, tokenCount)} character(s); it needs at least 2 — ${longer}`);
    // The largest batch size that leaves T positions per stream, and the longest sequence at this batch size.
    const maxBatch = Math.floor(pairs / seqLength);
    const fixes: string[] = [];
    if (maxBatch >= 1) fixes.push(`lower --batch-size to ${maxBatch}`);
    if (streamLength >= 1) fixes.push(`lower --seq-length to ${streamLength}`);
    if (fixes.length === 0) fixes.push(`lower --batch-size to 1 and --seq-length to ${pairs}`);
    throw new UsageError(
      `the ${what} text (${tokenCount} characters) is too short for --batch-size ${batchSize} × --seq-length ${seqLength}: ` +
      `each stream has ${streamLength} of the ${seqLength} steps a batch needs; ${fixes.join(', or ')}, or ${longer}`,
    );
  }
}

/** Tells the choice of streams to reset apart from the dropout masks drawn from the same seed and iteration. */
const RESET_KEY = 0x5eed0001;

/**
 * The streams whose carried state is zeroed before the batch of `iteration`: each of the B streams
 * independently with probability p, from a hash of (seed, iteration, stream) alone, so that a resumed
 * run and any number of threads make the same choice.
 */
export function streamsToReset(seed: number, iteration: number, batchSize: number, probability: number): number[] {
  const key = hashKey(seed, iteration, RESET_KEY, 0);
  const streams: number[] = [];
  for (let b = 0; b < batchSize; b++) if (uniformAt(key, b) < probability) streams.push(b);
  return streams;
}

export interface EvalBatch {
  /** [T, B] time-major; only the first steps·B entries belong to this chunk. */
  inputs: Int32Array;
  targets: Int32Array;
  /** Steps in this chunk: T, except that the last may be shorter. */
  steps: number;
  /** Streams: the batch size asked for, or fewer when the text is short. */
  batchSize: number;
}

/**
 * `tokens` as B contiguous streams laid out as in BatchStream (B lowered to n−1 when the text is short),
 * in chunks of up to T steps, for scoring with the state carried from chunk to chunk. Stream b starts at
 * b·S with S = ⌊(n−1)/B⌋ and scores its first L = min(S, ⌊maxChars/B⌋) positions: all of the text when
 * maxChars is null (the last (n−1) mod B tokens, fewer than B, are not scored), else B windows spread
 * evenly over it, so a capped score still samples the whole text. Yields nothing when n < 2. The same
 * arrays are reused for every chunk.
 */
export function* evalBatches(tokens: TokenArray, batchSize: number, seqLength: number, maxChars: number | null = null): Generator<EvalBatch> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && Number.isInteger(seqLength) && seqLength >= 1)) {
    throw new RangeError(`evalBatches needs a positive batch size and sequence length (got ${batchSize} and ${seqLength})`);
  }
  if (tokens.length < 2) return;
  const { B, stride, L } = evalLayout(tokens.length, batchSize, maxChars);
  const inputs = new Int32Array(B * seqLength);
  const targets = new Int32Array(B * seqLength);
  for (let position = 0; position < L; position += seqLength) {
    const steps = Math.min(seqLength, L - position);
    fillBatch(tokens, B, stride, position, steps, inputs, targets);
    yield { inputs, targets, steps, batchSize: B };
  }
}

/** The streams evalBatches reads from n tokens; B·L characters are scored. */
export function evalLayout(n: number, batchSize: number, maxChars: number | null): { B: number; stride: number; L: number } {
  if (n < 2) return { B: 0, stride: 0, L: 0 };
  const B = Math.min(batchSize, n - 1, maxChars ?? Infinity);
  const stride = Math.floor((n - 1) / B);
  return { B, stride, L: Math.min(stride, maxChars === null ? Infinity : Math.floor(maxChars / B)) };
}

/** inputs[t·B + b] = tokens[b·stride + position + t], targets one token later, for t < steps. */
function fillBatch(
  tokens: TokenArray, B: number, stride: number, position: number, steps: number, inputs: Int32Array, targets: Int32Array,
): void {
  for (let b = 0; b < B; b++) {
    const start = b * stride + position;
    for (let t = 0; t < steps; t++) {
      inputs[t * B + b] = tokens[start + t];
      targets[t * B + b] = tokens[start + t + 1];
    }
  }
}
