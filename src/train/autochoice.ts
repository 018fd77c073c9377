import type { AutoChoice } from '../checkpoint/format.js';
import { describeParams, type CellType } from '../model/model.js';

/**
 * The automatic choice of model size, dropout and batch for a corpus and a budget, used when a run has a
 * budget and the user gave none of --layers, --hidden, --dropout. The rule and the measurements behind its
 * constants are in BENCHMARKS.md ("A model chosen for the corpus and the budget").
 *
 * 1. Width. For each candidate width (H = 64, 128, …, 1024 units, two layers) the budget is turned into
 *    training characters C: a time budget at the candidate's speed (a compute model: 6 floating-point
 *    operations per weight per character at the rate training reaches on this machine, measured before
 *    the choice by speed.ts, less the time evaluations take; every
 *    weight but the input matrix counts, which is a table look-up, not a product), an iteration budget as
 *    iterations × batch × sequence length, an epoch budget as epochs × corpus length; the smallest of those
 *    that apply (the default --max-epochs 50 is one). The choice is the widest candidate whose recurrent
 *    weights R (the layers' own matrices: neither the input table nor the output layer) still get
 *    NATS_PER_WEIGHT nats of text each: C·h ≥ K·R, where h is the unigram entropy of the training text
 *    (3.3 nats a character for English, 4.6 for Chinese), so a text that says more per character trains
 *    more weights per character. No cap on weights per character of the corpus: on corpora/lighthouse.txt
 *    (91k characters) 2×128 beat 2×64 and 1×128 over the same 50 epochs.
 * 2. Depth. Two layers, unless the vocabulary is more than DEPTH_VOCAB_SHARE of the width (V > 0.7·H): then
 *    one. On texts with hundreds or thousands of distinct characters one layer learned markedly faster,
 *    step for step, and costs about as much (the output layer is most of the work). At 128 units and
 *    for the same time two layers won on tinyshakespeare (65 distinct) and the King James Bible (72),
 *    one layer on Debian's English fortunes (112) and Russian fortunes (166): the boundary lies between
 *    72 and 112 at 128 units (BENCHMARKS.md, "The depth on English texts").
 * 3. Dropout from how far the chosen model can overfit the text: the passes it makes over it (E = C / corpus
 *    length) times its weights per character of the corpus (P / corpus length, P its compute weights). A
 *    small model reading the text a few times has nothing to fear (x = E·P/N below DROPOUT_FROM: no
 *    dropout); then DROPOUT_PER_DOUBLING more each time x doubles, at most DROPOUT_MAX, in steps of 0.05.
 * 4. Batch: 32 streams of 64 characters, fewer streams for a corpus too short to give each stream
 *    MIN_BATCHES_PER_EPOCH batches.
 * 5. Learning rate (the peak of the budget schedule): LR_AT_128 for 128 units, falling as 1/H for larger
 *    models (Adam's step for a wider layer should be smaller in proportion), at most LR_AT_128; --lr's
 *    default of 2e-3 (char-rnn's) learned markedly slower in short budgets.
 */
export const NATS_PER_WEIGHT = 33;
export const DROPOUT_FROM = 2;
export const DROPOUT_PER_DOUBLING = 0.1;
export const DROPOUT_MAX = 0.3;
export const LR_AT_128 = 6e-3;
export const DEPTH_VOCAB_SHARE = 0.7;
const HIDDEN_SIZES = [64, 128, 192, 256, 320, 384, 448, 512, 640, 768, 1024];
const BATCH = 32;
const MIN_BATCHES_PER_EPOCH = 8;
/** The share of a time budget left to training steps once evaluations have had theirs. */
const TRAINING_SHARE = 0.9;

export interface ChoiceInput {
  cell: CellType;
  /** Training characters (the corpus less its validation split), their unigram entropy (nats), the vocabulary. */
  trainChars: number;
  entropy: number;
  vocabSize: number;
  seqLength: number;
  /** The batch and learning rate the user gave, if any (they win). */
  batchSize: number | null;
  lr: number | null;
  /** Budgets: any that apply. */
  seconds: number | null;
  maxIters: number | null;
  maxEpochs: number | null;
  /** Floating-point operations per second training reaches here (speed.ts); needed for a time budget. */
  flops: number | null;
}

/** Weights that cost a product per character: all but the first layer's input matrix. */
export function computeWeights(cell: CellType, layers: number, hiddenSize: number, vocabSize: number): number {
  return sumParams(cell, layers, hiddenSize, vocabSize, (name) => name !== 'layer0.wx');
}

/** The recurrent layers' own weights: neither the input table (layer0.wx) nor the output layer. */
export function recurrentWeights(cell: CellType, layers: number, hiddenSize: number): number {
  return sumParams(cell, layers, hiddenSize, 1, (name) => name !== 'layer0.wx' && !name.startsWith('decoder.'));
}

function sumParams(cell: CellType, layers: number, hiddenSize: number, vocabSize: number, counts: (name: string) => boolean): number {
  let total = 0;
  for (const p of describeParams({ cell, layers, hiddenSize, vocabSize, dropout: 0 })) {
    if (counts(p.name)) total += p.size;
  }
  return total;
}

/** Training characters the budget buys a model with `weights` compute weights. */
export function budgetChars(input: ChoiceInput, batchSize: number, weights: number): number {
  const limits: number[] = [];
  if (input.seconds !== null) {
    if (input.flops === null) throw new Error('a time budget needs the measured training rate');
    const charsPerSecond = input.flops / (6 * weights);
    limits.push(input.seconds * charsPerSecond * TRAINING_SHARE);
  }
  if (input.maxIters !== null) limits.push(input.maxIters * batchSize * input.seqLength);
  if (input.maxEpochs !== null) limits.push(input.maxEpochs * input.trainChars);
  return limits.length > 0 ? Math.min(...limits) : Infinity;
}

export function chooseModel(input: ChoiceInput): AutoChoice {
  const batchSize = input.batchSize ?? Math.max(1, Math.min(BATCH, Math.floor((input.trainChars - 1) / (MIN_BATCHES_PER_EPOCH * input.seqLength))));
  let hiddenSize = HIDDEN_SIZES[0];
  for (const h of HIDDEN_SIZES.slice(1)) {
    const chars = budgetChars(input, batchSize, computeWeights(input.cell, 2, h, input.vocabSize));
    if (chars * input.entropy < NATS_PER_WEIGHT * recurrentWeights(input.cell, 2, h)) break;
    hiddenSize = h;
  }
  const layers = input.vocabSize > DEPTH_VOCAB_SHARE * hiddenSize ? 1 : 2;
  const weights = computeWeights(input.cell, layers, hiddenSize, input.vocabSize);
  const chars = budgetChars(input, batchSize, weights);
  const overfit = (chars / input.trainChars) * (weights / input.trainChars);
  const dropout = Math.round(Math.min(DROPOUT_MAX, Math.max(0, DROPOUT_PER_DOUBLING * Math.log2(overfit / DROPOUT_FROM))) * 20) / 20;
  const budget = input.seconds !== null ? `${formatSeconds(input.seconds)} at ${Math.round((input.flops ?? 0) / 1e9)} GFLOP/s` : input.maxIters !== null && (input.maxEpochs === null || input.maxIters * batchSize * input.seqLength <= input.maxEpochs * input.trainChars)
    ? `${input.maxIters} iterations` : `${input.maxEpochs} epochs`;
  const lr = input.lr ?? Number((LR_AT_128 * Math.min(1, 128 / hiddenSize)).toPrecision(2));
  const message = `chose ${layers}×${hiddenSize} ${input.cell.toUpperCase()}, dropout ${dropout}${input.batchSize === null ? `, batch ${batchSize}` : ''}` +
    `${input.lr === null ? `, lr ${lr}` : ''}, ` +
    `for ${formatChars(input.trainChars)} characters and ${budget}; give --layers/--hidden/--dropout to choose yourself`;
  return {
    layers, hiddenSize, dropout, batchSize, lr, corpusChars: input.trainChars, vocabSize: input.vocabSize,
    budgetSeconds: input.seconds, budgetChars: Number.isFinite(chars) ? Math.round(chars) : null, flops: input.seconds !== null ? input.flops : null, message,
  };
}

function formatChars(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return String(n);
}

function formatSeconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
  if (s % 60 === 0) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} seconds`;
}
