import { UsageError } from '../util/errors.js';
import type { TokenArray } from './vocab.js';

/** Validation is the last `valFrac` of the tokens (as other tools do, so figures compare); training the rest. */
export function splitTrainVal(tokens: TokenArray, valFrac: number): { train: TokenArray; val: TokenArray } {
  const valCount = Math.floor(tokens.length * valFrac);
  const cut = tokens.length - valCount;
  return { train: tokens.subarray(0, cut), val: tokens.subarray(cut) };
}

/**
 * B contiguous streams over the training tokens for truncated BPTT: stream b is tokens[b·L, (b+1)·L]
 * with L = ⌊(n−1)/B⌋. A batch at cursor c takes positions [c, c+T) of every stream as inputs and
 * [c+1, c+T] as targets, time-major: inputs[t·B + b]. The trainer carries the hidden state from one
 * batch to the next; when fewer than T positions remain, the epoch ends and the cursor returns to 0.
 */
export class BatchStream {
  readonly streamLength: number;
  readonly batchesPerEpoch: number;
  /** Position within the streams of the next batch; saved in checkpoints. */
  cursor = 0;

  constructor(private readonly tokens: TokenArray, readonly batchSize: number, readonly seqLength: number) {
    BatchStream.check(tokens.length, batchSize, seqLength, 'training');
    this.streamLength = Math.floor((tokens.length - 1) / batchSize);
    this.batchesPerEpoch = Math.floor(this.streamLength / seqLength);
  }

  /** Fraction of the current epoch done. */
  get epochProgress(): number {
    return this.cursor / (this.batchesPerEpoch * this.seqLength);
  }

  /** Fills the next batch; returns true when it was the last of its epoch (the cursor is back at 0). */
  next(inputs: Int32Array, targets: Int32Array): boolean {
    const { batchSize: B, seqLength: T, streamLength: L, tokens } = this;
    if (this.cursor + T > L) this.cursor = 0;
    for (let b = 0; b < B; b++) {
      const start = b * L + this.cursor;
      for (let t = 0; t < T; t++) {
        inputs[t * B + b] = tokens[start + t];
        targets[t * B + b] = tokens[start + t + 1];
      }
    }
    this.cursor += T;
    if (this.cursor + T > L) {
      this.cursor = 0;
      return true;
    }
    return false;
  }

  /** Refuses a corpus whose streams cannot hold one batch, saying what to lower. */
  static check(tokenCount: number, batchSize: number, seqLength: number, what: 'training' | 'validation'): void {
    const streamLength = Math.floor((tokenCount - 1) / batchSize);
    if (streamLength >= seqLength) return;
    const maxBatch = Math.floor((tokenCount - 1) / seqLength);
    const fix = maxBatch >= 1
      ? `lower --batch-size to ${maxBatch} or less, or --seq-length to ${Math.max(1, streamLength)} or less`
      : `lower --seq-length to ${Math.max(1, tokenCount - 1)} or less (and --batch-size to 1)`;
    throw new UsageError(`the ${what} text (${tokenCount} characters) is too short for --batch-size ${batchSize} × --seq-length ${seqLength}; ${fix}, or use a longer corpus`);
  }
}

export interface EvalBatch {
  inputs: Int32Array;
  targets: Int32Array;
  /** Steps in this chunk (the last may be shorter than T). */
  steps: number;
  batchSize: number;
}

/**
 * The whole of `tokens` as B contiguous streams (fewer when the text is short) in chunks of up to T
 * steps, so each character of a stream after its first is scored once, with the state carried across
 * chunks. The last (n−1) mod B characters are not scored. The arrays are reused from chunk to chunk.
 */
export function* evalBatches(tokens: TokenArray, batchSize: number, seqLength: number): Generator<EvalBatch> {
  if (tokens.length < 2) return;
  const B = Math.min(batchSize, tokens.length - 1);
  const L = Math.floor((tokens.length - 1) / B);
  const inputs = new Int32Array(B * seqLength);
  const targets = new Int32Array(B * seqLength);
  for (let pos = 0; pos < L; pos += seqLength) {
    const steps = Math.min(seqLength, L - pos);
    for (let b = 0; b < B; b++) {
      const start = b * L + pos;
      for (let t = 0; t < steps; t++) {
        inputs[t * B + b] = tokens[start + t];
        targets[t * B + b] = tokens[start + t + 1];
      }
    }
    yield { inputs, targets, steps, batchSize: B };
  }
}
