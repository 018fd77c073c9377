import path from 'node:path';
import fs from 'fs-extra';
import type { Checkpoint } from '../checkpoint/format.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL, flagName, optionProblem, TRAINING_OPTIONS, type TrainingConfig } from '../checkpoint/options.js';
import { BEST, LATEST, loadCheckpoint } from '../checkpoint/store.js';
import { readInputs, type CorpusTokens, type ReadOptions, type ReadProgress } from '../data/corpus.js';
import { corpusName, type InputList } from '../data/inputs.js';
import { changedSizes, corpusChange } from '../data/record.js';
import { describeChars, unigramEntropy, Vocab, type TokenArray } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import type { ModelConfig } from '../model/model.js';
import { UsageError } from '../util/errors.js';
import { chooseModel } from './autochoice.js';
import { measureTrainingRate } from './speed.js';
import type { Threads } from './threads.js';
import { DEFAULT_DOC_SEP } from '../data/corpus.js';

/** Where checkpoint folders go by default. */
export const CHECKPOINTS = 'checkpoints';

/** The options that give a run a budget, and so (by default) the budget learning-rate schedule. */
export const BUDGETS = ['maxIters', 'maxEpochs', 'timeLimit'] as const;

/** What a caller asks of a run's start (the part of TrainOptions this file reads). */
export interface StartRequest {
  /** Default: ./checkpoints/<corpus name>, or with `resume` a file, that file's folder. */
  checkpointDir?: string;
  /** Continue a run: true for <checkpointDir>/latest.json, or a checkpoint file. */
  resume?: string | true;
  /** Start from these weights (fine-tuning) with a fresh training state. */
  initFrom?: string;
  /** Start afresh even though the checkpoint folder already holds a run. */
  force?: boolean;
  /** The character between documents, null for none (default U+001E; on resume, the run's). */
  docSep?: string | null;
  /** Only the model options the user gave. */
  model?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  /** Only the training options the user gave. */
  config?: Partial<TrainingConfig>;
  backend: BackendName;
  /** Threads sharing each batch (threads.ts): a number, or 'auto'; unset, this thread only. */
  threads?: Threads;
}

/** How a run starts: a new model, a new run from a checkpoint's weights (--init-from), or a run continued (--resume). */
export type Start = { kind: 'fresh' } | { kind: 'init' | 'resume'; file: string; checkpoint: Checkpoint };

/** Everything decided about a run before its corpus is read. */
export interface StartPlan {
  start: Start;
  /** The user's options over the defaults (a new run) or over the resumed run's. */
  config: TrainingConfig;
  docSep: string | null;
  dir: string;
  latestFile: string;
  bestFile: string;
}

/** The folder a run writes to: the one given; a resumed file's own; else checkpoints/<corpus name>. */
export function checkpointFolder(request: StartRequest, named: readonly string[]): string {
  if (request.checkpointDir !== undefined) return request.checkpointDir;
  if (typeof request.resume === 'string') return path.dirname(request.resume);
  return path.join(CHECKPOINTS, corpusName([...named]));
}

/**
 * Decides how the run in `dir` starts, refusing with one line what cannot work: options out of range,
 * a run that would be overwritten or rolled back, a resume on other files or with other settings.
 */
export async function planStart(request: StartRequest, dir: string, inputs: InputList): Promise<StartPlan> {
  if (request.resume !== undefined && request.initFrom !== undefined) {
    throw new UsageError('--resume and --init-from cannot be used together: resume continues a run, --init-from starts a new one from its weights');
  }
  if (request.resume !== undefined && request.force) {
    throw new UsageError('--force starts a new run and --resume continues one; drop one of them');
  }
  const problem = optionProblem({ ...request.model, ...request.config });
  if (problem !== null) throw new UsageError(problem);
  const files = { dir, latestFile: path.join(dir, LATEST), bestFile: path.join(dir, BEST) };
  if (request.resume !== undefined) return resumePlan(request, request.resume === true ? files.latestFile : request.resume, inputs, files);

  const config = { ...DEFAULT_CONFIG, ...request.config };
  // A budget brings the schedule that ends with it, unless another is asked for.
  if (budgetGiven(request) && request.config?.lrSchedule === undefined) config.lrSchedule = 'budget';
  if (!request.force && (await fs.pathExists(files.latestFile))) {
    throw new UsageError(`${files.latestFile} already holds a training run; continue it with --resume, or start over with --force (or another --checkpoint-dir)`);
  }
  const docSep = request.docSep === undefined ? DEFAULT_DOC_SEP : request.docSep;
  if (request.initFrom === undefined) return { start: { kind: 'fresh' }, config, docSep, ...files };
  const checkpoint = await loadCheckpoint(request.initFrom);
  rejectShapeOptions(request, checkpoint, '--init-from');
  return { start: { kind: 'init', file: request.initFrom, checkpoint }, config, docSep, ...files };
}

async function resumePlan(request: StartRequest, file: string, inputs: InputList, files: Pick<StartPlan, 'dir' | 'latestFile' | 'bestFile'>): Promise<StartPlan> {
  if (request.resume === true && !(await fs.pathExists(file))) {
    throw new UsageError(`nothing to resume: ${file} does not exist; train without --resume first, or give --resume <checkpoint>`);
  }
  const checkpoint = await loadCheckpoint(file);
  // Files gone or resized are known before reading a byte.
  const changed = changedSizes(checkpoint.training.corpus, inputs);
  if (changed !== null) throw corpusChanged(file, changed);
  const { docSep } = checkpoint.training.corpus;
  if (request.docSep !== undefined && request.docSep !== docSep) {
    throw new UsageError(`--doc-sep cannot change when resuming (the run uses ${docSep === null ? 'none' : describeChars([docSep])}); drop it, or start a new run with --init-from ${file}`);
  }
  const saved = checkpoint.config;
  const given = request.config ?? {};
  for (const key of Object.keys(given) as (keyof typeof TRAINING_OPTIONS)[]) {
    if (!TRAINING_OPTIONS[key].resumable && given[key] !== saved[key]) {
      throw new UsageError(`${flagName(key)} cannot change when resuming (the run uses ${saved[key]}); drop it, or start a new run with --init-from ${file}`);
    }
  }
  rejectShapeOptions(request, checkpoint, '--resume');
  await refuseRollback(file, checkpoint, files.latestFile);
  return { start: { kind: 'resume', file, checkpoint }, config: { ...saved, ...given }, docSep, ...files };
}

/** A run resumed from another file must not overwrite a folder whose own run has gone further. */
async function refuseRollback(file: string, checkpoint: Checkpoint, latestFile: string): Promise<void> {
  if (path.resolve(file) === path.resolve(latestFile) || !(await fs.pathExists(latestFile))) return;
  let there: number;
  try {
    there = (await loadCheckpoint(latestFile)).training.iteration;
  } catch {
    return; // an unreadable latest.json holds no run to protect
  }
  const iteration = checkpoint.training.iteration;
  if (there > iteration) {
    throw new UsageError(`${latestFile} is at iteration ${there}, ahead of ${file} (iteration ${iteration}): resuming would roll that run back; ` +
      `continue it with --resume ${latestFile}, or write this one elsewhere with --checkpoint-dir <dir>`);
  }
}

function budgetGiven(request: StartRequest): boolean {
  return BUDGETS.some((key) => request.config?.[key] !== undefined);
}

/**
 * The run's model: the resumed one; the --init-from one (whose dropout may change, and whose vocabulary
 * grows by the characters of the corpus it does not know); for a new model the
 * options given, and with a budget and no size given the size (and batch and rate) chosen for the corpus
 * and the budget; else the defaults.
 */
export async function modelFor(plan: StartPlan, request: StartRequest, vocabSize: number, trainTokens: TokenArray): Promise<ModelConfig> {
  const { start, config } = plan;
  if (start.kind === 'resume') return start.checkpoint.model;
  if (start.kind === 'init') return { ...start.checkpoint.model, vocabSize, ...(request.model?.dropout !== undefined ? { dropout: request.model.dropout } : {}) };
  const model = { ...DEFAULT_MODEL, ...request.model, vocabSize };
  const given = request.model ?? {};
  if (budgetGiven(request) && given.layers === undefined && given.hiddenSize === undefined && given.dropout === undefined) {
    const flops = config.timeLimit === null ? null
      : await measureTrainingRate({ cell: model.cell, vocabSize, seqLength: config.seqLength, backend: request.backend, threads: request.threads });
    const choice = chooseModel({
      cell: model.cell, trainChars: trainTokens.length, entropy: unigramEntropy(trainTokens, vocabSize), vocabSize, seqLength: config.seqLength,
      batchSize: request.config?.batchSize ?? null, lr: request.config?.lr ?? null, seconds: config.timeLimit, maxIters: config.maxIters, maxEpochs: config.maxEpochs, flops,
    });
    Object.assign(model, { layers: choice.layers, hiddenSize: choice.hiddenSize, dropout: choice.dropout });
    config.batchSize = choice.batchSize;
    config.lr = choice.lr;
    config.autoChoice = choice;
  }
  return model;
}

/** A resumed run needs the very text it was trained on (with every character the model knows). */
export function checkCorpusFits(plan: StartPlan, corpus: CorpusTokens): void {
  const { start, docSep } = plan;
  if (start.kind === 'fresh') return;
  if (start.kind === 'resume') {
    const changed = corpusChange(start.checkpoint.training.corpus, corpus.record);
    if (changed !== null) throw corpusChanged(start.file, changed);
  }
  const missing = corpus.unknown.chars;
  if (missing.length > 0) {
    const separator = docSep !== null && missing.includes(docSep)
      ? ` (${describeChars([docSep])} is the document separator; choose one the model knows with --doc-sep, or --doc-sep none)` : '';
    throw new UsageError(`the corpus has ${missing.length} character(s) not in ${start.file}'s vocabulary: ${describeChars(missing)}${separator}; remove them or train a new model`);
  }
}

function corpusChanged(file: string, change: string): UsageError {
  return new UsageError(`${file} was trained on another corpus: ${change}; resuming needs the same text — to go on from its weights on this one, use --init-from ${file}`);
}

/** The model's shape comes from the checkpoint; a different one asked for on the command line is an error. */
function rejectShapeOptions(request: StartRequest, checkpoint: Checkpoint, how: string): void {
  const given = request.model ?? {};
  for (const key of ['cell', 'hiddenSize', 'layers'] as const) {
    if (given[key] !== undefined && given[key] !== checkpoint.model[key]) {
      throw new UsageError(`${flagName(key)} ${given[key]} does not match the checkpoint (${checkpoint.model[key]}); with ${how} the model shape comes from the checkpoint, so drop ${flagName(key)}`);
    }
  }
  if (how === '--resume' && given.dropout !== undefined && given.dropout !== checkpoint.model.dropout) {
    throw new UsageError(`--dropout cannot change when resuming (the run uses ${checkpoint.model.dropout}); drop it`);
  }
}

/**
 * Reads the corpus, with the resumed or starting checkpoint's vocabulary when there is one. A run from
 * --init-from's weights on a text with characters the model does not know reads it again with those
 * characters added at the end of the vocabulary (the model grows by them: see copyWeights).
 */
export async function readCorpus(plan: StartPlan, inputs: InputList, options: Pick<ReadOptions, 'stdin' | 'signal'> & {
  progressInterval?: number; onReading: (progress: ReadProgress & { type: 'reading' }) => void;
}): Promise<CorpusTokens> {
  let lastReading = 0;
  const read = (vocab: Vocab | undefined) => readInputs(inputs, {
    docSep: plan.docSep, vocab, stdin: options.stdin, signal: options.signal,
    onProgress: (p) => {
      if (p.seconds - lastReading < (options.progressInterval ?? 250) / 1000) return;
      lastReading = p.seconds;
      options.onReading({ type: 'reading', ...p });
    },
  });
  const { start } = plan;
  let corpus = await read(start.kind === 'fresh' ? undefined : Vocab.fromChars(start.checkpoint.vocab));
  if (start.kind === 'init' && corpus.unknown.chars.length > 0) {
    const added = [...corpus.unknown.chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    corpus = await read(Vocab.fromChars([...start.checkpoint.vocab, ...added]));
  }
  return corpus;
}
