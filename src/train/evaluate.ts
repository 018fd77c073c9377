import type { Checkpoint } from '../checkpoint/format.js';
import { modelFromCheckpoint } from '../checkpoint/weights.js';
import { evalBatches } from '../data/batches.js';
import { readCorpus, type ReadOptions } from '../data/corpus.js';
import type { SkippedFile } from '../data/inputs.js';
import { Vocab, type TokenArray } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import { UsageError } from '../util/errors.js';

export interface Evaluation {
  /** Mean cross-entropy in nats per character. */
  loss: number;
  /** Characters scored. */
  chars: number;
}

/**
 * What evaluation runs on: a Model on this thread, or a TrainingEngine, which spreads the streams over
 * its threads. Both keep a carried state that evaluation puts back when it is done.
 */
export interface Scorer {
  readonly maxBatch: number;
  readonly maxSteps: number;
  /** Forward without dropout over `batch` streams of `steps` steps (time-major); the summed loss in nats. */
  score(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): number;
  resetState(batch: number): void;
  carryState(): void;
  saveState(): Float32Array[];
  restoreState(saved: readonly Float32Array[]): void;
}

/**
 * Cross-entropy on a token array, read as contiguous streams with the state carried from chunk to
 * chunk, no dropout: all of it, or at most `maxChars` characters in windows spread over it (evalBatches).
 * The carried training state is put back afterwards.
 */
export function evaluate(scorer: Scorer, tokens: TokenArray, batchSize: number, seqLength: number, maxChars: number | null = null): Evaluation {
  let total = 0;
  let chars = 0;
  let saved: Float32Array[] | null = null;
  for (const { inputs, targets, steps, batchSize: batch } of evalBatches(tokens, Math.min(batchSize, scorer.maxBatch), Math.min(seqLength, scorer.maxSteps), maxChars)) {
    if (saved === null) {
      saved = scorer.saveState();
      scorer.resetState(batch);
    } else {
      scorer.carryState();
    }
    total += scorer.score(inputs, targets, steps, batch);
    chars += steps * batch;
  }
  if (saved) scorer.restoreState(saved);
  return { loss: chars > 0 ? total / chars : NaN, chars };
}

export interface TextEvaluation {
  /** What was named: files, folders, `-`. */
  inputs: string[];
  /** Documents read (files that were skipped are not counted). */
  files: number;
  /** Mean cross-entropy over the scored characters. */
  lossNats: number;
  lossBits: number;
  /** Characters scored. */
  chars: number;
  /** Occurrences of characters outside the vocabulary, left out of the score. */
  unknownChars: number;
  /** Those characters, distinct. */
  unknown: string[];
  /** Files found but not read: not UTF-8 text, unreadable. */
  skipped: SkippedFile[];
}

const EVAL_BATCH = 32;
const EVAL_STEPS = 64;

/**
 * The model's loss on files, folders or standard input, read as training reads them (with the
 * checkpoint's document separator between documents, when its vocabulary has it). Characters outside
 * the vocabulary are counted, reported and left out; the rest is read as up to 32 contiguous streams
 * (so a few characters at stream starts are predicted from a fresh state, as in validation).
 */
export async function evaluateCorpus(
  ckpt: Checkpoint, inputs: string[], backend: BackendName, options: Pick<ReadOptions, 'stdin' | 'onProgress'> & { include?: string[] } = {},
): Promise<TextEvaluation> {
  const vocab = Vocab.fromChars(ckpt.vocab);
  const separator = ckpt.training.corpus.docSep;
  const docSep = separator !== null && vocab.indexOf(separator) >= 0 ? separator : null;
  const corpus = await readCorpus(inputs, { ...options, vocab, docSep });
  if (corpus.tokens.length < 2) throw new UsageError(`${inputs.join(' ')} has fewer than two characters the model knows; nothing to score`);
  const model = modelFromCheckpoint(ckpt, { maxBatch: EVAL_BATCH, maxSteps: EVAL_STEPS, backend });
  const { loss, chars } = evaluate(model, corpus.tokens, EVAL_BATCH, EVAL_STEPS);
  return {
    inputs, files: corpus.record.files.length, lossNats: loss, lossBits: loss / Math.LN2, chars,
    unknownChars: corpus.unknown.count, unknown: corpus.unknown.chars, skipped: corpus.skipped,
  };
}
