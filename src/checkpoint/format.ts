import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { CorpusRecord } from '../data/corpus.js';
import { describeChars, notOneCharacter } from '../data/vocab.js';
import { describeParams, type ModelConfig } from '../model/model.js';
import { modelSchema, trainingConfigSchema, type TrainingConfig } from './options.js';
import { UsageError } from '../util/errors.js';

/**
 * The checkpoint: one JSON document, versioned. Tensors are base64 of little-endian float32, so weights
 * round-trip exactly. Everything a run needs to continue exactly is here: weights, optimizer state,
 * the carried hidden state, the RNG, the data cursor, counters and history.
 *
 * The schemas below are the one description of the document: the TypeScript types come from them, and
 * loading checks every field against them (type, range), then the fields against each other (shapes,
 * vocabulary, counters). A field added later is `.optional()` or has a `.default()` saying what
 * checkpoints written before it meant, so they still load; fields this version does not know are ignored.
 */
export const FORMAT = 'charnn-checkpoint';
export const VERSION = 1;

export { OPTIMIZERS, LR_SCHEDULES, type TrainingConfig, type AutoChoice } from './options.js';

// z.number() accepts finite numbers only (no NaN, no ±Infinity).
const count = z.int().min(0);
const positive = z.number().positive();
const nonNegative = z.number().min(0);
/** Cross-entropy in nats/char. */
const loss = z.number().min(0);
const uint32 = z.int().min(0).max(0xffffffff);

/**
 * One cycle of the budget schedule: warm-up from `from` to --lr over `warmup` iterations from `start`, then
 * the decay to the floor at `horizon`. A fresh run has one cycle from iteration 0; a resume with a new
 * budget starts another.
 */
const scheduleCycleSchema = z.object({
  start: count,
  /** training.seconds when the cycle started. */
  startSeconds: nonNegative,
  /** Learning rate warm-up starts from (0 for a fresh run). */
  from: nonNegative,
  /** Warm-up iterations (null: a time budget still warming up, over its first 2%). */
  warmup: count.nullable(),
  /** The iteration the rate reaches its floor and the run stops (null: a time budget not yet measured). */
  horizon: count.nullable(),
  /** A time budget's seconds (null: an iteration or epoch budget). */
  seconds: positive.nullable(),
  /** The iteration the iteration or epoch budgets end at, if any (caps a time budget's horizon). */
  iterationLimit: count.nullable(),
});

const historyPointSchema = z.object({
  iteration: count,
  /** Fractional epochs completed. */
  epoch: nonNegative,
  /** Smoothed training loss, nats/char (null when no iteration had run yet). */
  trainLoss: loss.nullable(),
  /** Validation loss, nats/char, when measured at this iteration. */
  valLoss: loss.nullable(),
  /** Seconds of training so far. */
  seconds: nonNegative,
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex');

/**
 * See CorpusRecord: the files and docSep fields came with several inputs, skipped after them. Runs
 * from before read one file with no separator, so a missing docSep is null (none), here once for all
 * readers of the record; so is "", which `--doc-sep none` recorded until the command line passed null.
 */
const corpusSchema = z.object({
  name: z.string(),
  chars: count,
  sha256: z.union([sha256, z.literal('')]),
  files: z.array(z.object({ path: z.string(), bytes: count, sha256 })).optional(),
  docSep: z.string().nullable().optional().transform((sep) => sep || null),
  skipped: z.array(z.string()).optional(),
}) satisfies z.ZodType<CorpusRecord>;

/** A short sample recorded at an evaluation while training (`--sample-every`), from a fixed start and seed. */
const trainingSampleSchema = z.object({
  iteration: count,
  /** The validation loss measured at that evaluation, nats/char. */
  valLoss: loss.nullable(),
  temperature: positive,
  text: z.string(),
});

/** Where training stands. */
const trainingStateSchema = z.object({
  iteration: count,
  /** Whole epochs completed. */
  epoch: count,
  /** Position of the batch cursor within the training streams. */
  cursor: count,
  /** xoshiro128** state: four 32-bit words. */
  rng: z.tuple([uint32, uint32, uint32, uint32]),
  /** The learning rate now (after decay). */
  lr: positive,
  /** The budget schedule's current cycle (null with the `exp` and `constant` schedules, and before schedules existed). */
  schedule: scheduleCycleSchema.nullable().default(null),
  /** Optimizer updates made (Adam's bias correction). */
  optimizerSteps: count,
  smoothLoss: loss.nullable(),
  bestValLoss: loss.nullable(),
  lastValLoss: loss.nullable(),
  seconds: nonNegative,
  history: z.array(historyPointSchema),
  /** Samples recorded while training, oldest first, thinned to at most a few dozen (absent in older checkpoints). */
  samples: z.array(trainingSampleSchema).optional(),
  /** The text trained on: its files and hashes, to refuse resuming on another. */
  corpus: corpusSchema,
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const tensorSchema = z.object({ shape: z.array(count), data: z.string().regex(BASE64, 'must be base64') });

const documentSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  savedAt: z.string().optional(),
  model: modelSchema,
  vocab: z.array(z.string()),
  config: trainingConfigSchema,
  training: trainingStateSchema,
  /** sha256 of every tensor's name, shape and bytes (see tensorChecksum); absent in checkpoints written before it. */
  tensorsSha256: z.string().optional(),
  tensors: z.record(z.string(), tensorSchema),
});

export type HistoryPoint = z.output<typeof historyPointSchema>;
export type TrainingState = z.output<typeof trainingStateSchema>;
export type ScheduleCycle = z.output<typeof scheduleCycleSchema>;
export type TrainingSample = z.output<typeof trainingSampleSchema>;

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  model: ModelConfig;
  vocab: string[];
  config: TrainingConfig;
  training: TrainingState;
  /** Weights by parameter name; `optimizer0/NAME`-style optimizer state and `state/…` hidden state too. */
  tensors: Map<string, Tensor>;
}

/** Names of the extra tensors beside the weights. */
export const optimizerTensorName = (index: 0 | 1, param: string): string => `optimizer${index}/${param}`;
export const stateTensorName = (layer: number, which: number): string => `state/layer${layer}.${which === 0 ? 'h' : 'c'}`;
const STATE_TENSOR = /^state\/layer(\d+)\.[hc]$/;

function bytesOf(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** sha256 over the tensors in name order: each one's name, shape and little-endian float32 bytes. */
export function tensorChecksum(tensors: ReadonlyMap<string, Tensor>): string {
  const hash = createHash('sha256');
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    hash.update(`${name}\0${t.shape.join(',')}\0`).update(bytesOf(t.data));
  }
  return hash.digest('hex');
}

export function serializeCheckpoint(ckpt: Checkpoint): string {
  const tensors: Record<string, { shape: number[]; data: string }> = {};
  for (const [name, t] of ckpt.tensors) tensors[name] = { shape: t.shape, data: bytesOf(t.data).toString('base64') };
  return JSON.stringify({
    format: FORMAT,
    version: VERSION,
    savedAt: new Date().toISOString(),
    model: ckpt.model,
    vocab: ckpt.vocab,
    config: ckpt.config,
    training: ckpt.training,
    tensorsSha256: tensorChecksum(ckpt.tensors),
    tensors,
  });
}

/**
 * Parses and validates a checkpoint document; `source` names it in messages. Every problem is a
 * one-line UsageError naming the field that is wrong.
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
  const header = doc as { format?: unknown; version?: unknown } | null;
  if (typeof header !== 'object' || header === null || header.format !== FORMAT) {
    return fail('not a charnn checkpoint (no "format": "charnn-checkpoint")');
  }
  if (header.version !== VERSION) {
    return fail(`unknown checkpoint version ${JSON.stringify(header.version)}; this charnn reads version ${VERSION} — upgrade charnn`);
  }
  // jitless: zod would otherwise compile a checking function for the schema (new Function), which pays
  // only when one process checks many documents; a command loads one or two (about 10 ms less a start).
  const parsed = documentSchema.safeParse(doc, { reportInput: true, jitless: true });
  if (!parsed.success) return fail(`${describeIssue(parsed.error.issues[0])}; fix it or use another checkpoint`);
  const { model, vocab, config, training } = parsed.data;
  const damaged = (problem: string): never => fail(`${problem}; use another checkpoint`);

  if (vocab.length !== model.vocabSize) fail(`"vocab" has ${vocab.length} characters, "model.vocabSize" says ${model.vocabSize}`);
  const notOne = vocab.findIndex((c) => notOneCharacter(c) !== null);
  if (notOne >= 0) damaged(`"vocab[${notOne}]" must be one character, found ${describeChars([vocab[notOne]])} (${notOneCharacter(vocab[notOne])})`);
  if (new Set(vocab).size !== vocab.length) fail('"vocab" lists a character twice');
  checkTraining(training, config, fail);

  // Each layer has at least three tensors: a bound on "model.layers" before describing the model by it.
  const rawTensors = Object.entries(parsed.data.tensors);
  if (model.layers * 3 + 2 > rawTensors.length) fail(`"model.layers" is ${model.layers}, but there are only ${rawTensors.length} tensors`);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of rawTensors) {
    const bytes = Buffer.from(t.data, 'base64');
    const values = t.shape.reduce((a, b) => a * b, 1);
    if (bytes.length !== values * 4) damaged(`tensor ${name} holds ${bytes.length} bytes, its shape [${t.shape}] needs ${values * 4}`);
    const data = new Float32Array(values);
    new Uint8Array(data.buffer).set(bytes);
    tensors.set(name, { shape: t.shape, data });
  }
  if (parsed.data.tensorsSha256 !== undefined && parsed.data.tensorsSha256 !== tensorChecksum(tensors)) {
    fail('corrupt: checksum mismatch — use another checkpoint');
  }
  checkTensors(tensors, model, config, fail);
  return { model, vocab, config, training, tensors };
}

/** Training counters against each other and the config. */
function checkTraining(t: TrainingState, config: TrainingConfig, fail: (problem: string) => never): void {
  if (t.epoch > t.iteration) fail(`"training.epoch" (${t.epoch}) exceeds "training.iteration" (${t.iteration}); every epoch takes an iteration`);
  if (t.optimizerSteps > t.iteration) fail(`"training.optimizerSteps" (${t.optimizerSteps}) exceeds "training.iteration" (${t.iteration})`);
  if (t.rng.every((word) => word === 0)) fail('"training.rng" is all zeros, which xoshiro128** cannot leave');
  // The cursor is a position within one of batchSize streams that share the corpus.
  if (t.cursor * config.batchSize > t.corpus.chars) {
    fail(`"training.cursor" (${t.cursor}) is past the end of the training streams (${t.corpus.chars} characters in ${config.batchSize} streams)`);
  }
  if ((t.bestValLoss === null) !== (t.lastValLoss === null)) fail('"training.bestValLoss" and "training.lastValLoss" must both be set or both be null');
  if (t.bestValLoss !== null && t.bestValLoss > t.lastValLoss!) fail(`"training.bestValLoss" (${t.bestValLoss}) is worse than "training.lastValLoss" (${t.lastValLoss})`);
  const late = t.history.findIndex((h, i) => h.iteration > t.iteration || (i > 0 && h.iteration < t.history[i - 1].iteration));
  if (late >= 0) fail(`"training.history[${late}].iteration" (${t.history[late].iteration}) is out of order or past "training.iteration" (${t.iteration})`);
}

/** Every weight present with the model's shape; optimizer and hidden state, when present, too; all finite. */
function checkTensors(tensors: ReadonlyMap<string, Tensor>, model: ModelConfig, config: TrainingConfig, fail: (problem: string) => never): void {
  const finite = (name: string, t: Tensor, nonNegative = false) => {
    const bad = t.data.findIndex((v) => !Number.isFinite(v) || (nonNegative && v < 0));
    if (bad >= 0) fail(`tensor ${name} holds ${t.data[bad]} at index ${bad}; the checkpoint is corrupt — use an earlier checkpoint`);
  };
  const shaped = (name: string, t: Tensor | undefined, shape: readonly number[]): Tensor => {
    if (!t) return fail(`missing tensor ${name}`);
    if (t.shape.join(',') !== shape.join(',')) fail(`tensor ${name} has shape [${t.shape}], the model needs [${shape}]`);
    return t;
  };
  const params = describeParams(model);
  for (const p of params) finite(p.name, shaped(p.name, tensors.get(p.name), p.shape));
  for (const index of [0, 1] as const) {
    const present = params.filter((p) => tensors.has(optimizerTensorName(index, p.name))).length;
    if (present === 0) continue;
    // Adam's second moment and RMSprop's mean square are sums of squares.
    const squares = (config.optimizer === 'adam' && index === 1) || (config.optimizer === 'rmsprop' && index === 0);
    for (const p of params) {
      const name = optimizerTensorName(index, p.name);
      finite(name, shaped(name, tensors.get(name), p.shape), squares);
    }
  }
  for (const [name, t] of tensors) {
    const layer = STATE_TENSOR.exec(name);
    if (!layer) continue;
    if (Number(layer[1]) >= model.layers) fail(`tensor ${name} is for a layer the ${model.layers}-layer model does not have`);
    finite(name, shaped(name, t, [config.batchSize, model.hiddenSize]));
  }
}

/** `"training.lr": too small: expected number to be >0 (found -1)` */
function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`)).join('');
  if (issue.code === 'invalid_type' && issue.input === undefined) return `"${field}" is missing`;
  let found = jsonPrefix(issue.input, 40);
  if (found.length > 40) found = `${found.slice(0, 40)}…`;
  return `"${field}": ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)} (found ${found})`;
}

/**
 * The value as JSON, or its first `limit` characters and more when it is longer. Only that much is
 * walked, so a value nested a million arrays deep (which JSON.stringify would overflow the stack on)
 * costs no more than a short one.
 */
function jsonPrefix(value: unknown, limit: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  const array = Array.isArray(value);
  let json = array ? '[' : '{';
  for (const key in value) {
    if (json.length > limit) return json;
    if (json.length > 1) json += ',';
    if (!array) json += `${JSON.stringify(key)}:`;
    json += jsonPrefix((value as Record<string, unknown>)[key], limit - json.length);
  }
  return json + (array ? ']' : '}');
}
