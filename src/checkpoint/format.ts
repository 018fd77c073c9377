import type { CorpusRecord } from '../data/corpus.js';
import { CELL_TYPES, describeParams, type ModelConfig } from '../model/model.js';
import { UsageError } from '../util/errors.js';
import type { RngState } from '../util/rng.js';

/**
 * The checkpoint: one JSON document, versioned. Tensors are base64 of little-endian float32, so weights
 * round-trip exactly. Everything a run needs to continue exactly is here: weights, optimizer state,
 * the carried hidden state, the RNG, the data cursor, counters and history.
 */
export const FORMAT = 'charnn-checkpoint';
export const VERSION = 1;

/** How the run was asked to train (the options of `charnn train`). */
export interface TrainingConfig {
  seqLength: number;
  batchSize: number;
  valFrac: number;
  optimizer: 'adam' | 'rmsprop' | 'sgd';
  lr: number;
  /** How the learning rate moves: `budget` (warm-up, then cosine to a floor at the budget's end), `exp` (char-rnn's decay) or `constant`. */
  lrSchedule: 'budget' | 'exp' | 'constant';
  /** Warm-up iterations of the budget schedule (null: 2% of the budget, at most 100). */
  warmup: number | null;
  lrDecay: number;
  /** Epochs after which the learning rate starts decaying (once per epoch). */
  lrDecayAfter: number;
  gradClip: number;
  seed: number;
  /** Initial bias of the LSTM's forget gates (only used when a run starts). */
  forgetBias: number;
  /** Validation scores at most this many characters, the first of the split (null: all of it). */
  valMaxChars: number | null;
  /** Stop when this many evaluations in a row have not improved on the best validation loss (null: never). */
  patience: number | null;
  maxEpochs: number | null;
  maxIters: number | null;
  /** Seconds of training for one invocation (not the whole run). */
  timeLimit: number | null;
  evalEvery: number;
  /** Record a sample every this many evaluations (0: never). */
  sampleEvery: number;
  /** The model, dropout and batch charnn chose for the corpus and the budget (null: the user's or the defaults). */
  autoChoice: AutoChoice | null;
}

/** What the automatic choice picked, and from what. */
export interface AutoChoice {
  layers: number;
  hiddenSize: number;
  dropout: number;
  batchSize: number;
  lr: number;
  /** Training characters of the corpus and its vocabulary. */
  corpusChars: number;
  vocabSize: number;
  /** The budget it was chosen for: seconds, or training characters for an iteration or epoch budget. */
  budgetSeconds: number | null;
  budgetChars: number | null;
  /** The line printed when training starts. */
  message: string;
}

/**
 * One cycle of the budget schedule: warm-up from `from` to --lr over `warmup` iterations from `start`, then
 * a cosine down to the floor at `horizon`. A fresh run has one cycle from iteration 0; a resume with a new
 * budget starts another.
 */
export interface ScheduleCycle {
  start: number;
  /** training.seconds when the cycle started. */
  startSeconds: number;
  /** Learning rate warm-up starts from (0 for a fresh run). */
  from: number;
  /** Warm-up iterations (null: a time budget still warming up, over its first 2%). */
  warmup: number | null;
  /** The iteration the rate reaches its floor and the run stops (null: a time budget not yet measured). */
  horizon: number | null;
  /** A time budget's seconds (null: an iteration or epoch budget). */
  seconds: number | null;
  /** The iteration the iteration or epoch budgets end at, if any (caps a time budget's horizon). */
  iterationLimit: number | null;
}

export interface HistoryPoint {
  iteration: number;
  /** Fractional epochs completed. */
  epoch: number;
  /** Smoothed training loss, nats/char. */
  trainLoss: number;
  /** Validation loss, nats/char, when measured at this iteration. */
  valLoss: number | null;
  /** Seconds of training so far. */
  seconds: number;
}

/** A short sample recorded at an evaluation while training (`--sample-every`), from a fixed start and seed. */
export interface TrainingSample {
  iteration: number;
  /** The validation loss measured at that evaluation, nats/char. */
  valLoss: number | null;
  temperature: number;
  text: string;
}

/** Where training stands. */
export interface TrainingState {
  iteration: number;
  /** Whole epochs completed. */
  epoch: number;
  /** Position of the batch cursor within the training streams. */
  cursor: number;
  rng: RngState;
  /** The learning rate now (after decay). */
  lr: number;
  /** The budget schedule's current cycle (null with the `exp` and `constant` schedules). */
  schedule: ScheduleCycle | null;
  /** Optimizer updates made (Adam's bias correction). */
  optimizerSteps: number;
  smoothLoss: number | null;
  bestValLoss: number | null;
  lastValLoss: number | null;
  seconds: number;
  history: HistoryPoint[];
  /** Samples recorded while training, oldest first, thinned to at most a few dozen (absent in older checkpoints). */
  samples?: TrainingSample[];
  /** The text trained on: its files and hashes, to refuse resuming on another. */
  corpus: CorpusRecord;
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  model: ModelConfig;
  vocab: string[];
  config: TrainingConfig;
  training: TrainingState;
  /** Weights by parameter name; `adam.0/NAME`-style optimizer state and `state/…` hidden state too. */
  tensors: Map<string, Tensor>;
}

/** Names of the extra tensors beside the weights. */
export const optimizerTensorName = (index: 0 | 1, param: string): string => `optimizer${index}/${param}`;
export const stateTensorName = (layer: number, which: number): string => `state/layer${layer}.${which === 0 ? 'h' : 'c'}`;

export function encodeFloat32(data: Float32Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

export function decodeFloat32(base64: string, what: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % 4 !== 0) throw new UsageError(`${what} is not whole float32 values`);
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function serializeCheckpoint(ckpt: Checkpoint): string {
  const tensors: Record<string, { shape: number[]; data: string }> = {};
  for (const [name, t] of ckpt.tensors) tensors[name] = { shape: t.shape, data: encodeFloat32(t.data) };
  return JSON.stringify({
    format: FORMAT,
    version: VERSION,
    savedAt: new Date().toISOString(),
    model: ckpt.model,
    vocab: ckpt.vocab,
    config: ckpt.config,
    training: ckpt.training,
    tensors,
  });
}

/**
 * Parses and validates a checkpoint document; `source` names it in messages. Every problem is a
 * one-line UsageError naming what is wrong.
 */
export function parseCheckpoint(text: string, source: string): Checkpoint {
  const fail = (problem: string): never => {
    throw new UsageError(`${source}: ${problem}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const trimmed = text.trimEnd();
    fail(trimmed.startsWith('{') && !trimmed.endsWith('}')
      ? 'the checkpoint is truncated (incomplete JSON); use another checkpoint, e.g. best.json or latest.json'
      : 'not JSON, so not a charnn checkpoint');
  }
  if (!isObject(doc) || doc.format !== FORMAT) return fail('not a charnn checkpoint (no "format": "charnn-checkpoint")');
  if (doc.version !== VERSION) {
    return fail(`unknown checkpoint version ${JSON.stringify(doc.version)}; this charnn reads version ${VERSION} — upgrade charnn`);
  }
  const model = checkModelConfig(doc.model, fail);
  const vocab = doc.vocab;
  if (!Array.isArray(vocab) || vocab.length !== model.vocabSize || !vocab.every((c) => typeof c === 'string' && [...c].length === 1)) {
    fail(`"vocab" must list ${model.vocabSize} single characters`);
  }
  if (new Set(vocab as string[]).size !== (vocab as string[]).length) fail('"vocab" has duplicate characters');
  if (!isObject(doc.config)) fail('missing "config"');
  if (!isObject(doc.training)) fail('missing "training"');
  const training = doc.training as unknown as TrainingState;
  for (const key of ['iteration', 'epoch', 'cursor', 'lr', 'optimizerSteps', 'seconds'] as const) {
    if (typeof training[key] !== 'number' || !Number.isFinite(training[key])) fail(`"training.${key}" must be a number`);
  }
  if (!Array.isArray(training.rng) || training.rng.length !== 4) fail('"training.rng" must be four numbers');
  if (!Array.isArray(training.history)) fail('"training.history" must be an array');
  if (training.samples !== undefined && !(Array.isArray(training.samples) && training.samples.every(isTrainingSample))) {
    fail('"training.samples" must be a list of { iteration, valLoss, temperature, text }');
  }
  if (!isObject(doc.tensors)) fail('missing "tensors"');

  const raw = doc.tensors as Record<string, unknown>;
  const tensors = new Map<string, Tensor>();
  for (const [name, value] of Object.entries(raw)) {
    if (!isObject(value) || !Array.isArray(value.shape) || typeof value.data !== 'string') fail(`tensor ${name} must have "shape" and base64 "data"`);
    const t = value as { shape: number[]; data: string };
    const data = decodeFloat32(t.data, `${source}: tensor ${name}`);
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) fail(`tensor ${name} has ${data.length} values, its shape [${t.shape}] needs ${expected}`);
    tensors.set(name, { shape: t.shape, data });
  }
  for (const p of describeParams(model)) {
    const t = tensors.get(p.name);
    if (!t) fail(`missing tensor ${p.name}`);
    if (t!.shape.join(',') !== p.shape.join(',')) fail(`tensor ${p.name} has shape [${t!.shape}], the model needs [${p.shape}]`);
    const bad = t!.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`tensor ${p.name} holds ${t!.data[bad]} at index ${bad}; the weights are corrupt — use an earlier checkpoint`);
  }
  return { model, vocab: vocab as string[], config: doc.config as unknown as TrainingConfig, training, tensors };
}

function checkModelConfig(value: unknown, fail: (problem: string) => never): ModelConfig {
  if (!isObject(value)) return fail('missing "model"');
  const m = value as unknown as ModelConfig;
  if (!CELL_TYPES.includes(m.cell)) fail(`"model.cell" must be one of ${CELL_TYPES.join(', ')}`);
  for (const key of ['vocabSize', 'hiddenSize', 'layers'] as const) {
    if (!Number.isInteger(m[key]) || m[key] < 1) fail(`"model.${key}" must be a positive integer`);
  }
  if (typeof m.dropout !== 'number' || !(m.dropout >= 0 && m.dropout < 1)) fail('"model.dropout" must be in [0, 1)');
  return { cell: m.cell, vocabSize: m.vocabSize, hiddenSize: m.hiddenSize, layers: m.layers, dropout: m.dropout };
}

function isTrainingSample(v: unknown): boolean {
  return isObject(v) && Number.isFinite(v.iteration) && (v.valLoss === null || Number.isFinite(v.valLoss)) &&
    Number.isFinite(v.temperature) && typeof v.text === 'string';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
