import path from 'node:path';
import fs from 'fs-extra';
import {
  optimizerTensorName, stateTensorName,
  type Checkpoint, type HistoryPoint, type Tensor, type TrainingConfig, type TrainingState,
} from '../checkpoint/format.js';
import { lockCheckpointFolder } from '../checkpoint/lock.js';
import { BEST, LATEST, loadCheckpoint, saveCheckpoint } from '../checkpoint/store.js';
import { copyWeights } from '../checkpoint/weights.js';
import { BatchStream, evalLayout, splitTrainVal } from '../data/batches.js';
import { DEFAULT_DOC_SEP, describeSkipped, readInputs, type CorpusRecord, type CorpusTokens, type ReadOptions } from '../data/corpus.js';
import { corpusName, findInputs, STDIN, type InputList } from '../data/inputs.js';
import { changedSizes, corpusChange } from '../data/record.js';
import { describeChars, unigramEntropy, Vocab, type TokenArray } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import type { ModelConfig } from '../model/model.js';
import { DEFAULT_FORGET_BIAS } from '../model/lstm.js';
import { RuntimeFailure, UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { createEngine, ThreadFailure, trainingStep, type TrainingEngine } from './engine.js';
import { evaluate } from './evaluate.js';
import { addSample, sampleDue, TRAINING_SAMPLE, TrainingSampler } from './samples.js';
import { chooseModel } from './autochoice.js';
import { iterationBudget, LearningRate, LR_SCHEDULES, newCycle } from './schedule.js';

/** Where checkpoint folders go by default. */
const CHECKPOINTS = 'checkpoints';

export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = { cell: 'lstm', hiddenSize: 128, layers: 2, dropout: 0 };

/**
 * Validation scores at most this many characters by default (in windows spread over the split): all of
 * it for corpora up to a few MB, and on big ones a bounded cost — about 2 s per evaluation at 2×128 —
 * instead of one that grows with the corpus (90 s for the split of 100 MB).
 */
export const DEFAULT_VAL_MAX_CHARS = 250_000;

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
  autoChoice: null,
};

/** Options that may change when a run is resumed; the rest would break the exact continuation. */
const RESUMABLE: ReadonlySet<keyof TrainingConfig> = new Set([
  'lr', 'lrDecay', 'lrDecayAfter', 'gradClip', 'maxEpochs', 'maxIters', 'timeLimit', 'evalEvery', 'valMaxChars', 'patience', 'warmup', 'sampleEvery',
]);

/** The options that give a run a budget, and so (by default) the budget learning-rate schedule. */
const BUDGETS = ['maxIters', 'maxEpochs', 'timeLimit'] as const;

/** The flag of each training option, for messages. */
export const OPTION_FLAGS: Record<keyof TrainingConfig | keyof Omit<ModelConfig, 'vocabSize'>, string> = {
  seqLength: '--seq-length', batchSize: '--batch-size', valFrac: '--val-frac', optimizer: '--optimizer',
  lr: '--lr', lrSchedule: '--lr-schedule', warmup: '--warmup', autoChoice: '--layers/--hidden', lrDecay: '--lr-decay', lrDecayAfter: '--lr-decay-after', gradClip: '--grad-clip', seed: '--seed', forgetBias: '--forget-bias',
  maxEpochs: '--max-epochs', maxIters: '--max-iters', timeLimit: '--time-limit', evalEvery: '--eval-every', sampleEvery: '--sample-every', valMaxChars: '--val-max-chars', patience: '--patience',
  cell: '--model', hiddenSize: '--hidden', layers: '--layers', dropout: '--dropout',
};

/** Training stops as diverged when the smoothed loss grows past this multiple of its start (char-rnn's rule). */
const DIVERGENCE_FACTOR = 3;

export type StopReason = 'max-iters' | 'max-epochs' | 'time-limit' | 'patience' | 'interrupted';

export type TrainEvent =
  | { type: 'reading'; bytes: number; totalBytes: number | null; seconds: number }
  | { type: 'start'; corpus: string; files: number; bytes: number; readSeconds: number; chars: number; valChars: number; valScored: number; vocabSize: number; params: number; model: ModelConfig; config: TrainingConfig;
      iteration: number; resumedFrom: string | null; checkpointDir: string; backend: BackendName; itersPerEpoch: number }
  | { type: 'iteration'; iteration: number; epoch: number; loss: number; smoothLoss: number; lr: number; charsPerSecond: number;
      seconds: number; etaSeconds: number | null; lastValLoss: number | null }
  | { type: 'eval'; iteration: number; epoch: number; valLoss: number; bestValLoss: number; improved: boolean }
  | { type: 'checkpoint'; iteration: number; file: string }
  | { type: 'sample'; iteration: number; temperature: number; text: string }
  | { type: 'warning'; message: string }
  | { type: 'done'; reason: StopReason; iteration: number; epoch: number; bestValLoss: number | null; lastValLoss: number | null;
      latest: string; best: string | null };

export interface TrainOptions {
  /** A text file, a folder (read recursively), `-` for standard input, or several of them. */
  corpusPath: string | readonly string[];
  /** Globs choosing the files under folders (default: all). */
  include?: readonly string[];
  /** The character between documents, null for none (default U+001E; on resume, the run's). */
  docSep?: string | null;
  /** Standard input for `-` (default process.stdin). */
  stdin?: ReadOptions['stdin'];
  /** Default: ./checkpoints/<corpus name>. */
  checkpointDir?: string;
  /** Continue a run: true for <checkpointDir>/latest.json, or a checkpoint file. */
  resume?: string | true;
  /** Start from these weights (fine-tuning) with a fresh training state. */
  initFrom?: string;
  /** Start afresh even though the checkpoint folder already holds a run. */
  force?: boolean;
  /** Only the model options the user gave. */
  model?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  /** Only the training options the user gave. */
  config?: Partial<TrainingConfig>;
  backend: BackendName;
  /** Worker threads for data-parallel training (1: this thread only). */
  threads?: number;
  onEvent?: (event: TrainEvent) => void;
  /** Aborting (Ctrl-C) stops after the current iteration with a checkpoint. */
  signal?: AbortSignal;
  /** Emit an iteration event at most this often (ms). */
  progressInterval?: number;
}

/**
 * Trains (or continues training) a model on a corpus, writing <dir>/latest.json every --eval-every
 * iterations and at the end, and <dir>/best.json whenever the validation loss improves.
 */
export async function train(options: TrainOptions): Promise<Extract<TrainEvent, { type: 'done' }>> {
  if (options.resume !== undefined && options.initFrom !== undefined) {
    throw new UsageError('--resume and --init-from cannot be used together: resume continues a run, --init-from starts a new one from its weights');
  }
  const named = typeof options.corpusPath === 'string' ? [options.corpusPath] : [...options.corpusPath];
  const checkpointDir = options.checkpointDir ?? path.join(CHECKPOINTS, corpusName(named));
  // One run per folder, for the whole run, taken before looking at what the folder holds.
  const lock = lockCheckpointFolder(checkpointDir);
  try {
    if (lock.note !== null) options.onEvent?.({ type: 'warning', message: lock.note });
    return await trainInFolder(options, named, checkpointDir);
  } finally {
    lock.release();
  }
}

async function trainInFolder(options: TrainOptions, named: string[], checkpointDir: string): Promise<Extract<TrainEvent, { type: 'done' }>> {
  const emit = options.onEvent ?? (() => {});
  // A folder is never read with the checkpoints in it.
  const inputs = await findInputs(named, options.include, [CHECKPOINTS, checkpointDir]);
  const latestFile = path.join(checkpointDir, LATEST);
  const bestFile = path.join(checkpointDir, BEST);

  const resumeFile = options.resume === true ? latestFile : options.resume;
  const setup = resumeFile !== undefined ? await resumeSetup(options, resumeFile, inputs) : await freshSetup(options, latestFile);
  const { config, checkpoint: start } = setup;
  const readStart = performance.now();
  let lastReading = 0;
  const corpus = await readInputs(inputs, {
    docSep: setup.docSep, vocab: start ? Vocab.fromChars(start.vocab) : undefined, stdin: options.stdin, signal: options.signal,
    onProgress: (p) => {
      if (p.seconds - lastReading < (options.progressInterval ?? 250) / 1000) return;
      lastReading = p.seconds;
      emit({ type: 'reading', ...p });
    },
  });
  if (corpus.skipped.length > 0) emit({ type: 'warning', message: describeSkipped(corpus.skipped) });
  const { vocab, tokens } = corpus;
  if (start) checkCorpusFits(start, corpus, resumeFile ?? options.initFrom!, resumeFile !== undefined, setup.docSep);
  const { train: trainTokens, val: valTokens } = splitTrainVal(tokens, config.valFrac);
  const modelConfig: ModelConfig = resumeFile !== undefined ? start!.model
    : start ? { ...start.model, ...(options.model?.dropout !== undefined ? { dropout: options.model.dropout } : {}) }
    : newModel(options, config, vocab.size, trainTokens);
  validateModel(modelConfig);
  const readSeconds = (performance.now() - readStart) / 1000;

  BatchStream.check(trainTokens.length, config.batchSize, config.seqLength, 'training');
  if (config.valFrac > 0 && valTokens.length < 2) {
    throw new UsageError(`the validation split (last ${config.valFrac} of the corpus) is too short to measure; raise --val-frac or use a longer corpus`);
  }
  if (config.patience !== null && valTokens.length < 2) {
    throw new UsageError('--patience needs a validation loss to watch, and --val-frac 0 leaves none; drop --patience or give a --val-frac above 0');
  }
  const stream = new BatchStream(trainTokens, config.batchSize, config.seqLength);

  const engine = createEngine({
    config: modelConfig, batchSize: config.batchSize, seqLength: config.seqLength, backend: options.backend, threads: options.threads ?? 1,
  });
  try {
    return await runTraining(options, engine, {
      modelConfig, config, vocab, start, named, corpus: corpus.record, readSeconds, tokens, valTokens, stream, checkpointDir, latestFile, bestFile,
    });
  } catch (err) {
    if (!(err instanceof ThreadFailure)) throw err;
    // The weights may be half updated: nothing is saved, and the last checkpoint stays as it was.
    const kept = (await fs.pathExists(latestFile)) ? `${latestFile} is as it was at its last save; continue with --resume` : 'no checkpoint was written; start again';
    throw new RuntimeFailure(`training stopped: ${err.message}; ${kept} (--threads 1 trains without worker threads)`);
  } finally {
    await engine.close();
  }
}

interface Run {
  modelConfig: ModelConfig;
  config: TrainingConfig;
  vocab: Vocab;
  start: Checkpoint | null;
  /** The inputs as the user named them. */
  named: string[];
  corpus: CorpusRecord & { files: NonNullable<CorpusRecord['files']> };
  readSeconds: number;
  tokens: TokenArray;
  valTokens: TokenArray;
  stream: BatchStream;
  checkpointDir: string;
  latestFile: string;
  bestFile: string;
}

async function runTraining(options: TrainOptions, engine: TrainingEngine, run: Run): Promise<Extract<TrainEvent, { type: 'done' }>> {
  const emit = options.onEvent ?? (() => {});
  const { modelConfig, config, vocab, start, named, corpus, readSeconds, tokens, valTokens, stream, checkpointDir, latestFile, bestFile } = run;
  const model = engine.model;
  const B = config.batchSize, T = config.seqLength;
  let state: TrainingState;
  if (start && options.resume !== undefined) {
    restoreTraining(engine, start);
    state = structuredClone(start.training);
    state.corpus = corpus; // the same text; runs from before several inputs gain the list of files
    if (options.config?.lr !== undefined) state.lr = config.lr;
    stream.cursor = state.cursor;
  } else {
    const rng = new Rng(config.seed);
    model.initialize(rng, config.forgetBias);
    if (start) copyWeights(model, start); // --init-from: the weights, nothing else
    engine.resetState();
    state = {
      iteration: 0, epoch: 0, cursor: 0, rng: rng.state(), lr: config.lr, schedule: null, optimizerSteps: 0,
      smoothLoss: null, bestValLoss: null, lastValLoss: null, seconds: 0, history: [],
      corpus,
    };
  }
  const rng = Rng.fromState(state.rng);
  const startsCycle = config.lrSchedule === 'budget' && (state.schedule === null || newBudgetOnResume(options, config, state, stream.batchesPerEpoch));
  if (startsCycle) state.schedule = newCycle(config, stream.batchesPerEpoch, state.iteration, state.iteration === 0 ? 0 : state.lr, state.seconds);
  if (config.lrSchedule !== 'budget') state.schedule = null;

  const { B: valStreams, L: valLength } = evalLayout(valTokens.length, B, config.valMaxChars);
  const valScored = valStreams * valLength;
  emit({
    type: 'start', corpus: named.map((p) => (p === STDIN ? 'standard input' : p)).join(' '), files: corpus.files.length, bytes: corpus.files.reduce((sum, f) => sum + f.bytes, 0), readSeconds,
    chars: tokens.length, valChars: valTokens.length, valScored, vocabSize: vocab.size, params: model.paramCount, model: modelConfig,
    config, iteration: state.iteration, resumedFrom: options.resume !== undefined ? (start ? sourceOf(options.resume, latestFile) : null) : null,
    checkpointDir, backend: model.k.name, itersPerEpoch: stream.batchesPerEpoch,
  });

  // Scoring a character is a forward pass, about a third of training on it; warn when validation scores
  // more characters than are trained on between two evaluations (over a third of the time goes to it).
  const schedule = new LearningRate(config, state.schedule, valTokens.length >= 2 ? valScored : 0, startsCycle);
  const cycleSeconds = () => state.seconds - (state.schedule?.startSeconds ?? 0);
  const trainedBetween = config.evalEvery * B * T;
  if (valScored > trainedBetween) {
    emit({
      type: 'warning',
      message: `validation scores ${valScored} characters every ${config.evalEvery} iterations, more than the ${trainedBetween} it trains on in between; ` +
        `--val-max-chars ${trainedBetween} or a larger --eval-every makes it cheaper`,
    });
  }

  const snapshot = (): Checkpoint => {
    state.cursor = stream.cursor;
    state.rng = rng.state();
    return captureCheckpoint(engine, vocab, config, state);
  };
  // The loss this invocation started from, but no less than a model that knows nothing (ln V): a resumed
  // run whose first batch happens to be easy is not taken for diverging.
  let startLoss: number | null = null;
  let lastSavedIteration = start && options.resume !== undefined ? state.iteration : -1;
  /** Stops training as diverged when a loss is not finite or has grown past DIVERGENCE_FACTOR × its start. */
  const checkDivergence = (what: string, loss: number, iteration: number) => {
    if (!Number.isFinite(loss)) throw diverged(iteration, `${what} ${loss}`, latestFile, lastSavedIteration, state.lr);
    if (startLoss !== null && loss > DIVERGENCE_FACTOR * startLoss) {
      throw diverged(iteration, `${what} ${Number(loss.toPrecision(3))}, over ${DIVERGENCE_FACTOR}× the ${startLoss.toFixed(2)} it started at`,
        latestFile, lastSavedIteration, state.lr);
    }
  };
  const sampler = new TrainingSampler(modelConfig, vocab, options.backend);
  const evaluateAndSave = async (last: boolean): Promise<void> => {
    let improved = false;
    if (valTokens.length >= 2) {
      const valLoss = evaluate(engine, valTokens, B, T, config.valMaxChars).loss;
      // Weights that have diverged must not replace the last good checkpoint.
      checkDivergence('validation loss', valLoss, state.iteration);
      state.lastValLoss = valLoss;
      improved = state.bestValLoss === null || valLoss < state.bestValLoss;
      if (improved) state.bestValLoss = valLoss;
      emit({ type: 'eval', iteration: state.iteration, epoch: epochOf(state, stream), valLoss, bestValLoss: state.bestValLoss!, improved });
    }
    recordHistory(state, stream);
    if (sampleDue(state.iteration, config.evalEvery, config.sampleEvery, last)) {
      const sample = { iteration: state.iteration, valLoss: state.lastValLoss, temperature: TRAINING_SAMPLE.temperature, text: sampler.sample(model.weights) };
      state.samples = addSample(state.samples ?? [], sample);
      emit({ type: 'sample', iteration: sample.iteration, temperature: sample.temperature, text: sample.text });
    }
    // Without a validation split, the latest weights are the best we know. best.json goes first, so that
    // latest.json never records a best that best.json does not hold yet.
    await saveCheckpoint(improved || valTokens.length < 2 ? [bestFile, latestFile] : latestFile, snapshot());
    emit({ type: 'checkpoint', iteration: state.iteration, file: latestFile });
  };

  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const startTime = performance.now();
  const secondsBefore = state.seconds;
  const itersBefore = state.iteration;
  let lastEmit = 0;
  let reason: StopReason;
  const timeLimitMs = config.timeLimit !== null ? config.timeLimit * 1000 : Infinity;
  const totalIters = iterationBudget(config, stream.batchesPerEpoch);

  for (;;) {
    if (config.maxIters !== null && state.iteration >= config.maxIters) { reason = 'max-iters'; break; }
    if (config.maxEpochs !== null && epochOf(state, stream) >= config.maxEpochs) { reason = 'max-epochs'; break; }
    if (performance.now() - startTime >= timeLimitMs) { reason = 'time-limit'; break; }
    if (config.patience !== null && evaluationsSinceBest(state) >= config.patience) { reason = 'patience'; break; }
    if (schedule.reachedHorizon(state.iteration)) { reason = 'time-limit'; break; } // a time budget's measured end
    // An iteration's time, for a time budget's horizon: everything from here on but the evaluations.
    const stepStart = performance.now();
    // Let signal handlers run between iterations (the step itself is synchronous).
    await new Promise((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) { reason = 'interrupted'; break; }

    state.lr = schedule.lr(state.iteration, state.lr, cycleSeconds());
    stream.next(inputs, targets);
    const dropout = modelConfig.dropout > 0 ? { seed: config.seed, iteration: state.iteration } : null;
    const { loss, gradNorm } = trainingStep(engine, inputs, targets, dropout, config, state.lr, state.optimizerSteps + 1);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = Number.isFinite(loss) ? `gradient norm ${gradNorm}` : `loss ${loss}`;
      throw diverged(state.iteration + 1, what, latestFile, lastSavedIteration, state.lr);
    }
    const smoothLoss = state.smoothLoss === null ? loss : 0.95 * state.smoothLoss + 0.05 * loss;
    startLoss ??= Math.max(loss, Math.log(vocab.size));
    checkDivergence('loss', smoothLoss, state.iteration + 1);
    state.optimizerSteps++;
    engine.carryState();
    state.iteration++;
    state.smoothLoss = smoothLoss;
    if (stream.cursor === 0) {
      // The streams wrapped: a new epoch starts from a zero state, and the learning rate may decay.
      state.epoch++;
      engine.resetState();
      state.lr = schedule.afterEpoch(state.epoch, state.lr);
    }

    const now = performance.now();
    const elapsedMs = now - startTime;
    state.seconds = secondsBefore + elapsedMs / 1000;
    schedule.afterStep(state.iteration, (now - stepStart) / 1000, cycleSeconds());
    const charsPerSecond = ((state.iteration - itersBefore) * B * T) / (elapsedMs / 1000);
    if (elapsedMs - lastEmit >= (options.progressInterval ?? 250) || state.iteration % config.evalEvery === 0) {
      lastEmit = elapsedMs;
      const left = totalIters !== null ? Math.max(0, totalIters - state.iteration) : null;
      let etaSeconds = left !== null ? (left * B * T) / charsPerSecond : null;
      if (config.timeLimit !== null) etaSeconds = Math.min(etaSeconds ?? Infinity, config.timeLimit - elapsedMs / 1000);
      emit({
        type: 'iteration', iteration: state.iteration, epoch: epochOf(state, stream), loss, smoothLoss: state.smoothLoss,
        lr: state.lr, charsPerSecond, seconds: state.seconds, etaSeconds, lastValLoss: state.lastValLoss,
      });
    }
    if (state.iteration % config.evalEvery === 0) {
      const evalStart = performance.now();
      await evaluateAndSave(false);
      lastSavedIteration = state.iteration;
      schedule.afterEval((performance.now() - evalStart) / 1000);
    }
  }

  if (lastSavedIteration !== state.iteration) await evaluateAndSave(true);
  const bestExists = await fs.pathExists(bestFile);
  const done = {
    type: 'done' as const, reason, iteration: state.iteration, epoch: epochOf(state, stream),
    bestValLoss: state.bestValLoss, lastValLoss: state.lastValLoss, latest: latestFile, best: bestExists ? bestFile : null,
  };
  emit(done);
  return done;
}

/**
 * Whether a resumed budget run was given a new budget: --time-limit, or --max-iters/--max-epochs that move
 * the end of its iteration budget. A new budget starts a new cycle (warm-up back to --lr, decay to the
 * floor at the new end); otherwise the run continues its cycle.
 */
function newBudgetOnResume(options: TrainOptions, config: TrainingConfig, state: TrainingState, itersPerEpoch: number): boolean {
  const given = options.config ?? {};
  if (options.resume === undefined || !BUDGETS.some((key) => given[key] !== undefined)) return false;
  if (given.timeLimit !== undefined) return true;
  return iterationBudget(config, itersPerEpoch) !== state.schedule!.iterationLimit;
}

interface Setup {
  config: TrainingConfig;
  /** The run to resume, or the weights to start from; null for a new model. */
  checkpoint: Checkpoint | null;
  docSep: string | null;
}

async function freshSetup(options: TrainOptions, latestFile: string): Promise<Setup> {
  const config = { ...DEFAULT_CONFIG, ...options.config };
  // A budget brings the schedule that ends with it, unless another is asked for.
  const budgetGiven = BUDGETS.some((key) => options.config?.[key] !== undefined);
  if (budgetGiven && options.config?.lrSchedule === undefined) config.lrSchedule = 'budget';
  validateConfig(config);
  if (!options.force && (await fs.pathExists(latestFile))) {
    throw new UsageError(`${latestFile} already holds a training run; continue it with --resume, or start over with --force (or another --checkpoint-dir)`);
  }
  const docSep = options.docSep === undefined ? DEFAULT_DOC_SEP : options.docSep;
  if (options.initFrom === undefined) return { config, checkpoint: null, docSep };
  const checkpoint = await loadCheckpoint(options.initFrom);
  rejectShapeOptions(options, checkpoint, '--init-from');
  return { config, checkpoint, docSep };
}

/**
 * A new model's shape: the options given; with a budget and no size given, the size (and batch) chosen
 * for the corpus and the budget; else the defaults.
 */
function newModel(options: TrainOptions, config: TrainingConfig, vocabSize: number, trainTokens: TokenArray): ModelConfig {
  const model = { ...DEFAULT_MODEL, ...options.model, vocabSize };
  const given = options.model ?? {};
  const budgetGiven = BUDGETS.some((key) => options.config?.[key] !== undefined);
  if (budgetGiven && given.layers === undefined && given.hiddenSize === undefined && given.dropout === undefined) {
    const choice = chooseModel({
      cell: model.cell, trainChars: trainTokens.length, entropy: unigramEntropy(trainTokens, vocabSize), vocabSize, seqLength: config.seqLength,
      batchSize: options.config?.batchSize ?? null, lr: options.config?.lr ?? null, seconds: config.timeLimit, maxIters: config.maxIters, maxEpochs: config.maxEpochs,
      backend: options.backend, threads: options.threads ?? 1,
    });
    Object.assign(model, { layers: choice.layers, hiddenSize: choice.hiddenSize, dropout: choice.dropout });
    config.batchSize = choice.batchSize;
    config.lr = choice.lr;
    config.autoChoice = choice;
  }
  return model;
}

async function resumeSetup(options: TrainOptions, file: string, inputs: InputList): Promise<Setup> {
  if (options.resume === true && !(await fs.pathExists(file))) {
    throw new UsageError(`nothing to resume: ${file} does not exist; train without --resume first, or give --resume <checkpoint>`);
  }
  const checkpoint = await loadCheckpoint(file);
  // Files gone or resized are known before reading a byte.
  const changed = changedSizes(checkpoint.training.corpus, inputs);
  if (changed !== null) throw corpusChanged(file, changed);
  const recordedSep = checkpoint.training.corpus.docSep === undefined ? DEFAULT_DOC_SEP : checkpoint.training.corpus.docSep;
  if (options.docSep !== undefined && options.docSep !== recordedSep) {
    throw new UsageError(`--doc-sep cannot change when resuming (the run uses ${recordedSep === null ? 'none' : describeChars([recordedSep])}); drop it, or start a new run with --init-from ${file}`);
  }
  // Options added since the checkpoint was written have the value such runs used (the format's defaults).
  const saved = checkpoint.config;
  const given = options.config ?? {};
  for (const key of Object.keys(given) as (keyof TrainingConfig)[]) {
    if (!RESUMABLE.has(key) && given[key] !== saved[key]) {
      throw new UsageError(`${OPTION_FLAGS[key]} cannot change when resuming (the run uses ${saved[key]}); drop it, or start a new run with --init-from ${file}`);
    }
  }
  rejectShapeOptions(options, checkpoint, '--resume');
  const config = { ...saved, ...given };
  validateConfig(config);
  return { config, checkpoint, docSep: recordedSep };
}

/**
 * A resumed run needs the very text it was trained on; a run started from other weights needs a corpus
 * whose characters the model knows.
 */
function checkCorpusFits(checkpoint: Checkpoint, corpus: CorpusTokens, file: string, resuming: boolean, docSep: string | null): void {
  if (resuming) {
    const changed = corpusChange(checkpoint.training.corpus, corpus.record);
    if (changed !== null) throw corpusChanged(file, changed);
  }
  const missing = corpus.unknown.chars;
  if (missing.length > 0) {
    const separator = docSep !== null && missing.includes(docSep)
      ? ` (${describeChars([docSep])} is the document separator; choose one the model knows with --doc-sep, or --doc-sep none)` : '';
    throw new UsageError(`the corpus has ${missing.length} character(s) not in ${file}'s vocabulary: ${describeChars(missing)}${separator}; remove them or train a new model`);
  }
}

function corpusChanged(file: string, change: string): UsageError {
  return new UsageError(`${file} was trained on another corpus: ${change}; resuming needs the same text — to go on from its weights on this one, use --init-from ${file}`);
}

/** The model's shape comes from the checkpoint; a different one asked for on the command line is an error. */
function rejectShapeOptions(options: TrainOptions, checkpoint: Checkpoint, how: string): void {
  const given = options.model ?? {};
  for (const key of ['cell', 'hiddenSize', 'layers'] as const) {
    if (given[key] !== undefined && given[key] !== checkpoint.model[key]) {
      throw new UsageError(`${OPTION_FLAGS[key]} ${given[key]} does not match the checkpoint (${checkpoint.model[key]}); with ${how} the model shape comes from the checkpoint, so drop ${OPTION_FLAGS[key]}`);
    }
  }
  if (how === '--resume' && given.dropout !== undefined && given.dropout !== checkpoint.model.dropout) {
    throw new UsageError(`--dropout cannot change when resuming (the run uses ${checkpoint.model.dropout}); drop it`);
  }
}

export function validateModel(model: ModelConfig): void {
  if (!Number.isInteger(model.hiddenSize) || model.hiddenSize < 1) throw new UsageError('--hidden must be a positive integer');
  if (!Number.isInteger(model.layers) || model.layers < 1) throw new UsageError('--layers must be a positive integer');
  if (!(model.dropout >= 0 && model.dropout < 1)) throw new UsageError('--dropout must be at least 0 and below 1');
}

export function validateConfig(c: TrainingConfig): void {
  const positiveInt = (v: number | null, key: keyof TrainingConfig) => {
    if (v !== null && (!Number.isInteger(v) || v < 1)) throw new UsageError(`${OPTION_FLAGS[key]} must be a positive integer`);
  };
  positiveInt(c.seqLength, 'seqLength');
  positiveInt(c.batchSize, 'batchSize');
  positiveInt(c.evalEvery, 'evalEvery');
  positiveInt(c.maxIters, 'maxIters');
  positiveInt(c.valMaxChars, 'valMaxChars');
  positiveInt(c.patience, 'patience');
  if (!(Number.isInteger(c.sampleEvery) && c.sampleEvery >= 0)) throw new UsageError('--sample-every must be a whole number, 0 (off) or more');
  positiveInt(c.warmup, 'warmup');
  if (c.maxEpochs !== null && !(c.maxEpochs > 0)) throw new UsageError('--max-epochs must be a positive number');
  if (!(c.valFrac >= 0 && c.valFrac <= 0.5)) throw new UsageError('--val-frac must be between 0 and 0.5');
  if (!(c.lr > 0)) throw new UsageError('--lr must be a positive number');
  if (!LR_SCHEDULES.includes(c.lrSchedule)) throw new UsageError(`--lr-schedule must be one of ${LR_SCHEDULES.join(', ')}`);
  if (!(c.lrDecay > 0 && c.lrDecay <= 1)) throw new UsageError('--lr-decay must be in (0, 1]');
  if (!(c.lrDecayAfter >= 0)) throw new UsageError('--lr-decay-after must be 0 or more');
  if (!(c.gradClip >= 0)) throw new UsageError('--grad-clip must be 0 (off) or more');
  if (c.timeLimit !== null && !(c.timeLimit > 0)) throw new UsageError('--time-limit must be positive, e.g. 90s, 10m or 1h');
}

function epochOf(state: TrainingState, stream: BatchStream): number {
  return state.epoch + stream.epochProgress;
}

function recordHistory(state: TrainingState, stream: BatchStream): void {
  const point: HistoryPoint = {
    iteration: state.iteration, epoch: epochOf(state, stream), trainLoss: state.smoothLoss,
    valLoss: state.lastValLoss, seconds: state.seconds,
  };
  const last = state.history[state.history.length - 1];
  if (last && last.iteration === state.iteration) state.history[state.history.length - 1] = point;
  else state.history.push(point);
}

/** Evaluations since the one that set the best validation loss (each history point is one evaluation). */
function evaluationsSinceBest(state: TrainingState): number {
  if (state.bestValLoss === null) return 0;
  let since = 0;
  for (let i = state.history.length - 1; i >= 0 && state.history[i].valLoss !== state.bestValLoss; i--) since++;
  return since;
}

function sourceOf(resume: string | true, latestFile: string): string {
  return resume === true ? latestFile : resume;
}

function diverged(iteration: number, what: string, latestFile: string, lastSaved: number, lr: number): RuntimeFailure {
  const kept = lastSaved >= 0 ? `the last good checkpoint (iteration ${lastSaved}) is kept in ${latestFile}` : 'no checkpoint was written';
  // A tenth of the rate that diverged, but no more than the default, which trains most corpora.
  const suggested = Number(Math.min(lr / 10, DEFAULT_CONFIG.lr).toPrecision(2));
  const again = lastSaved >= 0 ? ` (with --resume to continue from iteration ${lastSaved})` : '';
  return new RuntimeFailure(`training diverged at iteration ${iteration} (${what}); ${kept}; lower the learning rate${again}, e.g. --lr ${suggested}`);
}

/** Everything of the model a checkpoint holds: weights, optimizer state and the carried hidden state. */
function captureCheckpoint(engine: TrainingEngine, vocab: Vocab, config: TrainingConfig, state: TrainingState): Checkpoint {
  const model = engine.model;
  const tensors = new Map<string, Tensor>();
  const heap = model.k.heap;
  for (const p of model.params) tensors.set(p.name, { shape: [...p.shape], data: heap.slice(p.offset, p.offset + p.size) });
  for (const index of [0, 1] as const) {
    const region = model.optimizerState(index);
    for (const p of model.params) {
      tensors.set(optimizerTensorName(index, p.name), { shape: [...p.shape], data: region.slice(p.offset, p.offset + p.size) });
    }
  }
  engine.saveState().forEach((data, i) => {
    tensors.set(stateTensorName(Math.floor(i / statesPerLayer(model)), i % statesPerLayer(model)), {
      shape: [config.batchSize, model.config.hiddenSize], data,
    });
  });
  return { model: model.config, vocab: [...vocab.chars], config, training: structuredClone(state), tensors };
}

function statesPerLayer(model: TrainingEngine['model']): number {
  return model.layers[0].states.length;
}

function restoreTraining(engine: TrainingEngine, ckpt: Checkpoint): void {
  const model = engine.model;
  copyWeights(model, ckpt);
  for (const index of [0, 1] as const) {
    const region = model.optimizerState(index);
    for (const p of model.params) {
      const t = ckpt.tensors.get(optimizerTensorName(index, p.name));
      if (!t || t.data.length !== p.size) throw new UsageError(`checkpoint has no optimizer state for ${p.name}; resume needs a checkpoint written by charnn train`);
      region.set(t.data, p.offset);
    }
  }
  const perLayer = statesPerLayer(model);
  const saved = Array.from({ length: model.layers.length * perLayer }, (_, i) => {
    const t = ckpt.tensors.get(stateTensorName(Math.floor(i / perLayer), i % perLayer));
    const size = ckpt.config.batchSize * model.config.hiddenSize;
    if (!t || t.data.length !== size) throw new UsageError(`checkpoint has no hidden state for layer ${Math.floor(i / perLayer)}; resume needs a checkpoint written by charnn train`);
    return t.data;
  });
  engine.restoreState(saved);
}
