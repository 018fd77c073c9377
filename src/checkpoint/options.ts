import * as z from 'zod';
import { DEFAULT_FORGET_BIAS } from '../model/lstm.js';
import { CELL_TYPES, type ModelConfig } from '../model/model.js';
import { LR_SCHEDULES, OPTIMIZERS } from './names.js';

export { LR_SCHEDULES, OPTIMIZERS };

/**
 * The options of a training run, in one table: each one's flag, what it expects, its schema (type and
 * range), its default for a new run, what checkpoints written before it existed meant, and whether a
 * resumed run may change it. The command line parses its flags with these schemas, the library checks
 * a caller's options against them, and the checkpoint loader checks the saved config against them:
 * one description, so a value one of them accepts the others accept too.
 */

// z.number() accepts finite numbers only (no NaN, no ±Infinity).
export const values = {
  count: z.int().min(0),
  positiveInt: z.int().min(1),
  positive: z.number().positive(),
  nonNegative: z.number().min(0),
  /** A probability that is not certain: [0, 1). */
  fraction: z.number().min(0).lt(1),
  uint32: z.int().min(0).max(0xffffffff),
} as const;

/** How an option's text on the command line becomes a value, before its schema checks it. */
export type TextReader = (text: string) => unknown;

/** Whole numbers written as digits only ("1e3" and "2.0" are not counts). */
export const readInt: TextReader = (text) => (/^\s*\d+\s*$/.test(text) ? Number(text) : undefined);
export const readNumber: TextReader = (text) => (text.trim() === '' ? undefined : Number(text));
export const readText: TextReader = (text) => text;
/** A whole number, or `all` for no limit (null). */
const readIntOrAll: TextReader = (text) => (text.trim() === 'all' ? null : readInt(text));

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
/** A duration such as 90, 90s, 10m, 1h or 1h30m, in seconds. */
export const readDuration: TextReader = (value) => {
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smh])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]], 0);
};

export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  /** The command-line flag and its argument, e.g. `--seq-length <n>`. */
  flag: string;
  help: string;
  /** What a valid value is, in words: "--x must be …", "expected …". */
  expects: string;
  read: TextReader;
  schema: S;
  /** What a checkpoint written before the option existed meant by its absence. */
  before?: z.output<S>;
  /** Whether a resumed run may change it; the others would break the exact continuation. */
  resumable?: boolean;
}

const option = <S extends z.ZodType>(spec: OptionSpec<S>): OptionSpec<S> => spec;

const positiveIntOption = (flag: string, help: string, resumable = false) =>
  option({ flag, help, expects: 'a positive whole number', read: readInt, schema: values.positiveInt, resumable });
const nullable = <S extends z.ZodType>(spec: OptionSpec<S>) => option({ ...spec, schema: spec.schema.nullable(), before: null });

/** The model's shape and dropout: the options that make a ModelConfig (the vocabulary size comes from the corpus). */
export const MODEL_OPTIONS = {
  cell: option({ flag: '--model <cell>', help: 'recurrent cell', expects: `one of: ${CELL_TYPES.join(', ')}`, read: readText, schema: z.enum(CELL_TYPES as readonly ['lstm', 'gru', 'rnn']) }),
  layers: positiveIntOption('--layers <n>', 'recurrent layers'),
  hiddenSize: positiveIntOption('--hidden <n>', 'hidden units per layer'),
  dropout: option({ flag: '--dropout <p>', help: 'dropout between layers while training', expects: 'a number from 0 up to (not including) 1', read: readNumber, schema: values.fraction }),
};

/** How the run is asked to train. */
export const TRAINING_OPTIONS = {
  seqLength: positiveIntOption('--seq-length <n>', 'characters per stream per step (truncated BPTT length)'),
  batchSize: positiveIntOption('--batch-size <n>', 'parallel streams per step'),
  valFrac: option({ flag: '--val-frac <f>', help: 'the last fraction of the corpus (files in reading order) held out for validation', expects: 'between 0 and 0.5', read: readNumber, schema: z.number().min(0).max(0.5) }),
  optimizer: option({ flag: '--optimizer <name>', help: 'optimizer', expects: `one of: ${OPTIMIZERS.join(', ')}`, read: readText, schema: z.enum(OPTIMIZERS) }),
  lr: option({ flag: '--lr <rate>', help: 'learning rate', expects: 'a number greater than 0', read: readNumber, schema: values.positive, resumable: true }),
  lrSchedule: option({
    flag: '--lr-schedule <name>', expects: `one of: ${LR_SCHEDULES.join(', ')}`, read: readText, schema: z.enum(LR_SCHEDULES), before: 'exp',
    help: 'budget: warm up, hold, then decay over the last 30% to a floor at the end of the budget (the default with --time-limit, --max-iters or --max-epochs); exp: --lr-decay every epoch (the default without); constant',
  }),
  warmup: nullable(positiveIntOption('--warmup <iters>', 'warm-up iterations of the budget schedule (default: 2% of the budget, at most 100)', true)),
  lrDecay: option({ flag: '--lr-decay <factor>', help: 'multiply the learning rate by this every epoch after --lr-decay-after', expects: 'a number in (0, 1]', read: readNumber, schema: z.number().positive().max(1), resumable: true }),
  lrDecayAfter: option({ flag: '--lr-decay-after <epochs>', help: 'epochs before the learning rate starts to decay', expects: 'a number, 0 or more', read: readNumber, schema: values.nonNegative, resumable: true }),
  gradClip: option({ flag: '--grad-clip <norm>', help: 'clip the global gradient norm to this (0: off)', expects: 'a number, 0 (off) or more', read: readNumber, schema: values.nonNegative, resumable: true }),
  seed: option({ flag: '--seed <n>', help: 'random seed: the same seed and options give the same run', expects: 'a whole number from 0 to 4294967295', read: readInt, schema: values.uint32 }),
  /** Only used when a run starts. Every run before the option used 1. */
  forgetBias: option({ flag: '--forget-bias <b>', help: 'initial bias of the LSTM forget gates', expects: 'a number', read: readNumber, schema: z.number(), before: 1 }),
  /** Validation scores at most this many characters, in windows spread over the split (null: all of it). */
  valMaxChars: nullable(option({
    flag: '--val-max-chars <n>', help: 'score at most this many characters of the validation split at each evaluation (windows spread over it), or all',
    expects: 'a positive whole number, or all', read: readIntOrAll, schema: values.positiveInt, resumable: true,
  })),
  /** Stop when this many evaluations in a row have not improved on the best validation loss (null: never). */
  patience: nullable(positiveIntOption('--patience <evals>', 'stop when this many evaluations in a row have not improved the best validation loss', true)),
  maxEpochs: option({ flag: '--max-epochs <n>', help: 'stop after this many epochs in all (resumed runs included)', expects: 'a number greater than 0', read: readNumber, schema: values.positive.nullable(), resumable: true }),
  maxIters: option({
    flag: '--max-iters <n>', help: 'stop at this iteration in all (resumed runs included)', expects: 'a positive whole number', read: readInt,
    schema: values.positiveInt.nullable(), resumable: true,
  }),
  /** Seconds of training for one invocation (not the whole run). */
  timeLimit: option({ flag: '--time-limit <duration>', help: 'stop this invocation after e.g. 90s, 10m, 1h', expects: 'a duration such as 90s, 10m, 1h or 1h30m', read: readDuration, schema: values.positive.nullable(), resumable: true }),
  /**
   * The chance that a stream's carried state is zeroed before a batch, besides at every paragraph break
   * (0: neither; runs before the option had neither). Sampling and scoring start from a zero state, so
   * it must be one the model knows (BENCHMARKS.md, "Good starts").
   */
  freshState: option({
    flag: '--fresh-state <p>', help: "zero a stream's carried state at every paragraph break and, with this chance, before any batch, so that a fresh state is a familiar one (0: never)",
    expects: 'a number from 0 to 1', read: readNumber, schema: z.number().min(0).max(1), before: 0,
  }),
  evalEvery: positiveIntOption('--eval-every <n>', 'measure validation loss and write checkpoints every n iterations', true),
  /** Runs before the option recorded no samples. */
  sampleEvery: option({
    flag: '--sample-every <evals>', help: 'print and record in the checkpoint a 300-character sample every this many evaluations (0: never)',
    expects: 'a whole number, 0 or more', read: readInt, schema: values.count, before: 0, resumable: true,
  }),
};

export type ModelOptions = { -readonly [K in keyof typeof MODEL_OPTIONS]: z.output<(typeof MODEL_OPTIONS)[K]['schema']> };
export type TrainingOptionValues = { -readonly [K in keyof typeof TRAINING_OPTIONS]: z.output<(typeof TRAINING_OPTIONS)[K]['schema']> };
export type TrainingOptionKey = keyof typeof TRAINING_OPTIONS;
export type ModelOptionKey = keyof typeof MODEL_OPTIONS;

/** Every option by its key, for messages and checks. */
export const ALL_OPTIONS: Record<TrainingOptionKey | ModelOptionKey, OptionSpec> = { ...MODEL_OPTIONS, ...TRAINING_OPTIONS };

/** `--seq-length <n>` → `--seq-length`. */
export const flagName = (key: TrainingOptionKey | ModelOptionKey): string => ALL_OPTIONS[key].flag.split(' ')[0];

/** The schema a checkpoint's saved options are checked with: each option's, with what older checkpoints meant by its absence. */
export function savedSchema<T extends Record<string, OptionSpec>>(table: T): z.ZodObject<{ [K in keyof T]: T[K]['schema'] }> {
  const shape = Object.fromEntries(Object.entries(table).map(([key, spec]) => [key, spec.before !== undefined ? spec.schema.default(spec.before) : spec.schema]));
  return z.object(shape) as unknown as z.ZodObject<{ [K in keyof T]: T[K]['schema'] }>;
}

/**
 * Checks options against the table; returns the first problem as "--flag must be …", or null. The
 * library's callers are checked with it before anything is written, so no run saves a checkpoint
 * that the loader would refuse.
 */
export function optionProblem(given: Partial<Record<TrainingOptionKey | ModelOptionKey, unknown>>): string | null {
  for (const [key, value] of Object.entries(given) as [TrainingOptionKey | ModelOptionKey, unknown][]) {
    const spec = ALL_OPTIONS[key];
    if (spec && value !== undefined && !spec.schema.safeParse(value).success) return `${flagName(key)} must be ${spec.expects}`;
  }
  return null;
}

/** What the automatic choice picked, and from what. */
const autoChoiceSchema = z.object({
  layers: values.positiveInt,
  hiddenSize: values.positiveInt,
  dropout: values.fraction,
  batchSize: values.positiveInt,
  lr: values.positive,
  /** Training characters of the corpus and its vocabulary. */
  corpusChars: values.count,
  vocabSize: values.positiveInt,
  /** The budget it was chosen for: seconds, or training characters for an iteration or epoch budget. */
  budgetSeconds: values.positive.nullable(),
  budgetChars: values.count.nullable(),
  /** For a time budget, the training rate measured before choosing (floating-point operations per second). */
  flops: values.positive.nullable().default(null),
  /** The line printed when training starts. */
  message: z.string(),
});

/** A model as a checkpoint records it. */
export const modelSchema = savedSchema(MODEL_OPTIONS).extend({ vocabSize: values.positiveInt }) satisfies z.ZodType<ModelConfig>;

/** How a run was asked to train, as a checkpoint records it. */
export const trainingConfigSchema = savedSchema(TRAINING_OPTIONS).extend({
  /** The model, dropout and batch charnn chose for the corpus and the budget (null: the user's or the defaults). */
  autoChoice: autoChoiceSchema.nullable().default(null),
});

export type TrainingConfig = z.output<typeof trainingConfigSchema>;
export type AutoChoice = z.output<typeof autoChoiceSchema>;

/** The model defaults (the size without a budget; with one, the automatic choice). */
export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = { cell: 'lstm', hiddenSize: 128, layers: 2, dropout: 0 };

/**
 * Validation scores at most this many characters by default (in windows spread over the split): all of
 * it for corpora up to a few MB, and on big ones a bounded cost — about 2 s per evaluation at 2×128 —
 * instead of one that grows with the corpus (90 s for the split of 100 MB).
 */
export const DEFAULT_VAL_MAX_CHARS = 250_000;

/** A new run's options where the user gives none (a budget also brings the `budget` schedule and the automatic size). */
export const DEFAULT_CONFIG: TrainingConfig = {
  seqLength: 64,
  batchSize: 32,
  valFrac: 0.1,
  optimizer: 'adam',
  lr: 2e-3,
  lrSchedule: 'exp',
  warmup: null,
  lrDecay: 0.97,
  lrDecayAfter: 10,
  gradClip: 5,
  seed: 1,
  forgetBias: DEFAULT_FORGET_BIAS,
  valMaxChars: DEFAULT_VAL_MAX_CHARS,
  patience: null,
  maxEpochs: 50,
  maxIters: null,
  timeLimit: null,
  evalEvery: 200,
  sampleEvery: 5,
  freshState: 1 / 32,
  autoChoice: null,
};
