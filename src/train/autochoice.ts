import type { AutoChoice } from '../checkpoint/format.js';
import type { BackendName } from '../kernels/index.js';
import { describeParams, type CellType } from '../model/model.js';

/**
 * The automatic choice of model size, dropout and batch for a corpus and a budget, used when a run has a
 * budget and the user gave none of --layers, --hidden, --dropout. The rule and the measurements behind its
 * constants are in BENCHMARKS.md ("A model chosen for the corpus and the budget").
 *
 * 1. Size. For each candidate (2 layers of H = 64, 128, …, 1024 units) the budget is turned into training
 *    characters C: a time budget at the candidate's speed (a compute model: 6 floating-point operations per
 *    weight per character at the machine's rate, less the time evaluations take), an iteration budget as
 *    iterations × batch × sequence length, an epoch budget as epochs × corpus length; the smallest of those
 *    that apply (the default --max-epochs 50 is one). The choice is the largest candidate that still sees
 *    CHARS_PER_WEIGHT characters for every weight it has (C ≥ K·P: a bigger one would be undertrained in
 *    the time). Weights count without the input matrix, which is a table look-up, not a product. No cap on
 *    weights per character of the corpus: on corpora/lighthouse.txt (91k characters) 2×128 beat 2×64 and
 *    1×128 over the same 50 epochs although it has 2.3 weights a character.
 * 2. Dropout from how far the chosen model can overfit the text: the passes it makes over it (E = C / corpus
 *    length) times its weights per character of the corpus (P / corpus length). A small model reading the
 *    text a few times has nothing to fear (x = E·P/N below DROPOUT_FROM: no dropout); then
 *    DROPOUT_PER_DOUBLING more each time x doubles, at most DROPOUT_MAX, in steps of 0.05.
 * 3. Batch: 32 streams of 64 characters, fewer streams for a corpus too short to give each stream
 *    MIN_BATCHES_PER_EPOCH batches.
 * 4. Learning rate (the peak of the budget schedule): LR_AT_128 for 128 units, falling as 1/H for larger
 *    models (Adam's step for a wider layer should be smaller in proportion), at most LR_AT_128; --lr's
 *    default of 2e-3 (char-rnn's) learned markedly slower in short budgets.
 */
export const CHARS_PER_WEIGHT = 10;
export const DROPOUT_FROM = 2;
export const DROPOUT_PER_DOUBLING = 0.1;
export const DROPOUT_MAX = 0.3;
export const LR_AT_128 = 6e-3;
const HIDDEN_SIZES = [64, 128, 192, 256, 320, 384, 448, 512, 640, 768, 1024];
const LAYERS = 2;
const BATCH = 32;
const MIN_BATCHES_PER_EPOCH = 8;
/**
 * Floating-point rate of training per thread, measured with `charnn bench` on this project's machine
 * (about 100 GFLOP/s on 2 threads with the wasm kernels, BENCHMARKS.md); the share of time left to training
 * steps once evaluations have had theirs.
 */
const FLOPS_PER_THREAD: Record<BackendName, number> = { wasm: 50e9, js: 2e9 };
const TRAINING_SHARE = 0.9;

export interface ChoiceInput {
  cell: CellType;
  /** Training characters (the corpus less its validation split) and the vocabulary. */
  trainChars: number;
  vocabSize: number;
  seqLength: number;
  /** The batch and learning rate the user gave, if any (they win). */
  batchSize: number | null;
  lr: number | null;
  /** Budgets: any that apply. */
  seconds: number | null;
  maxIters: number | null;
  maxEpochs: number | null;
  backend: BackendName;
  threads: number;
}

/** Weights that cost a product per character: all but the first layer's input matrix. */
export function computeWeights(cell: CellType, layers: number, hiddenSize: number, vocabSize: number): number {
  let total = 0;
  for (const p of describeParams({ cell, layers, hiddenSize, vocabSize, dropout: 0 })) {
    if (p.name !== 'layer0.wx') total += p.size;
  }
  return total;
}

/** Training characters the budget buys a model with `weights` compute weights. */
export function budgetChars(input: ChoiceInput, batchSize: number, weights: number): number {
  const limits: number[] = [];
  if (input.seconds !== null) {
    const charsPerSecond = (FLOPS_PER_THREAD[input.backend] * input.threads) / (6 * weights);
    limits.push(input.seconds * charsPerSecond * TRAINING_SHARE);
  }
  if (input.maxIters !== null) limits.push(input.maxIters * batchSize * input.seqLength);
  if (input.maxEpochs !== null) limits.push(input.maxEpochs * input.trainChars);
  return limits.length > 0 ? Math.min(...limits) : Infinity;
}

export function chooseModel(input: ChoiceInput): AutoChoice {
  const batchSize = input.batchSize ?? Math.max(1, Math.min(BATCH, Math.floor((input.trainChars - 1) / (MIN_BATCHES_PER_EPOCH * input.seqLength))));
  let hiddenSize = HIDDEN_SIZES[0];
  let chars = 0;
  let weights = 0;
  for (const h of HIDDEN_SIZES) {
    const w = computeWeights(input.cell, LAYERS, h, input.vocabSize);
    const c = budgetChars(input, batchSize, w);
    if (h !== HIDDEN_SIZES[0] && c < CHARS_PER_WEIGHT * w) break;
    hiddenSize = h;
    chars = c;
    weights = w;
  }
  const overfit = (chars / input.trainChars) * (weights / input.trainChars);
  const dropout = Math.round(Math.min(DROPOUT_MAX, Math.max(0, DROPOUT_PER_DOUBLING * Math.log2(overfit / DROPOUT_FROM))) * 20) / 20;
  const budget = input.seconds !== null ? formatSeconds(input.seconds) : input.maxIters !== null && (input.maxEpochs === null || input.maxIters * batchSize * input.seqLength <= input.maxEpochs * input.trainChars)
    ? `${input.maxIters} iterations` : `${input.maxEpochs} epochs`;
  const lr = input.lr ?? Number((LR_AT_128 * Math.min(1, 128 / hiddenSize)).toPrecision(2));
  const message = `chose ${LAYERS}×${hiddenSize} ${input.cell.toUpperCase()}, dropout ${dropout}${input.batchSize === null ? `, batch ${batchSize}` : ''}` +
    `${input.lr === null ? `, lr ${lr}` : ''}, ` +
    `for ${formatChars(input.trainChars)} characters and ${budget}; give --layers/--hidden/--dropout to choose yourself`;
  return {
    layers: LAYERS, hiddenSize, dropout, batchSize, lr, corpusChars: input.trainChars, vocabSize: input.vocabSize,
    budgetSeconds: input.seconds, budgetChars: Number.isFinite(chars) ? Math.round(chars) : null, message,
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
