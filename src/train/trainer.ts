import fs from 'fs-extra';
import type { Checkpoint, HistoryPoint, TrainingState } from '../checkpoint/format.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL, DEFAULT_VAL_MAX_CHARS, type TrainingConfig } from '../checkpoint/options.js';
import { lockCheckpointFolder } from '../checkpoint/lock.js';
import { saveCheckpoint } from '../checkpoint/store.js';
import { captureCheckpoint, copyWeights, restoreTraining } from '../checkpoint/weights.js';
import { BatchStream, evalLayout, splitTrainVal, streamsToReset } from '../data/batches.js';
import { describeSkipped, type CorpusTokens, type ReadOptions } from '../data/corpus.js';
import { findInputs, STDIN, type InputList } from '../data/inputs.js';
import type { TokenArray } from '../data/vocab.js';
import { fileProblem } from '../util/atomic-file.js';
import { CharnnError, RuntimeFailure, UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { createEngine, ThreadFailure, trainingStep, type TrainingEngine } from './engine.js';
import { writeCorpusIndex } from './corpus-index.js';
import { evaluate } from './evaluate.js';
import { addSample, sampleDue, TRAINING_SAMPLE, TrainingSampler } from './samples.js';
import { iterationBudget, LearningRate, newCycle } from './schedule.js';
import { threadsFor } from './threads.js';
import { BUDGETS, checkCorpusFits, checkpointFolder, CHECKPOINTS, modelFor, planStart, readCorpus, type StartPlan, type StartRequest } from './start.js';

import type { StopReason, TrainEvent } from './events.js';

export { DEFAULT_CONFIG, DEFAULT_MODEL, DEFAULT_VAL_MAX_CHARS };
export type { StopReason, TrainEvent };

/** Training stops as diverged when the smoothed loss grows past this multiple of its start (char-rnn's rule). */
const DIVERGENCE_FACTOR = 3;

export interface TrainOptions extends StartRequest {
  /** A text file, a folder (read recursively), `-` for standard input, or several of them. */
  corpusPath: string | readonly string[];
  /** Globs choosing the files under folders (default: all). */
  include?: readonly string[];
  /** Standard input for `-` (default process.stdin). */
  stdin?: ReadOptions['stdin'];
  onEvent?: (event: TrainEvent) => void;
  /** Aborting (Ctrl-C) stops after the current iteration with a checkpoint. */
  signal?: AbortSignal;
  /** Emit an iteration event at most this often (ms). */
  progressInterval?: number;
  /** Write the corpus index (for sampling's copy guard) when training ends; default true. */
  index?: boolean;
}

type Done = Extract<TrainEvent, { type: 'done' }>;

/**
 * Trains (or continues training) a model on a corpus, writing <dir>/latest.json every --eval-every
 * iterations and at the end, and <dir>/best.json whenever the validation loss improves.
 */
export async function train(options: TrainOptions): Promise<Done> {
  const named = typeof options.corpusPath === 'string' ? [options.corpusPath] : [...options.corpusPath];
  const dir = checkpointFolder(options, named);
  // One run per folder, for the whole run, taken before looking at what the folder holds.
  const lock = lockCheckpointFolder(dir);
  try {
    if (lock.note !== null) options.onEvent?.({ type: 'warning', message: lock.note });
    // A folder is never read with the checkpoints in it.
    const inputs = await findInputs(named, options.include, [CHECKPOINTS, dir]);
    const plan = await planStart(options, dir, inputs);
    return await trainPlanned(options, named, inputs, plan);
  } finally {
    lock.release();
  }
}

/** What a run works on, fixed once it has started; `state` is where it stands, saved in every checkpoint. */
interface Run {
  options: TrainOptions;
  emit: (event: TrainEvent) => void;
  plan: StartPlan;
  config: TrainingConfig;
  engine: TrainingEngine;
  corpus: CorpusTokens;
  /** The tokens a paragraph break starts with: the newline and the document separator (-1: none). */
  breakTokens: { newline: number; separator: number };
  stream: BatchStream;
  valTokens: TokenArray;
  state: TrainingState;
  rng: Rng;
  schedule: LearningRate;
  sampler: TrainingSampler;
  /** The iteration of the last checkpoint written (-1: none yet). */
  lastSaved: number;
  /** The loss this invocation started from, but no less than a model that knows nothing (ln V). */
  startLoss: number | null;
}

async function trainPlanned(options: TrainOptions, named: string[], inputs: InputList, plan: StartPlan): Promise<Done> {
  const emit = options.onEvent ?? (() => {});
  const { config, start } = plan;

  // The data: read once, split into training streams and the held-out text.
  const readStart = performance.now();
  const corpus = await readCorpus(plan, inputs, { stdin: options.stdin, signal: options.signal, progressInterval: options.progressInterval, onReading: emit });
  if (corpus.skipped.length > 0) emit({ type: 'warning', message: describeSkipped(corpus.skipped) });
  checkCorpusFits(plan, corpus);
  const { train: trainTokens, val: valTokens } = splitTrainVal(corpus.tokens, config.valFrac);
  const readSeconds = (performance.now() - readStart) / 1000;
  const modelConfig = await modelFor(plan, options, corpus.vocab.size, trainTokens);
  BatchStream.check(trainTokens.length, config.batchSize, config.seqLength, 'training');
  if (config.valFrac > 0 && valTokens.length < 2) {
    throw new UsageError(`the validation split (last ${config.valFrac} of the corpus) is too short to measure; raise --val-frac or use a longer corpus`);
  }
  if (config.patience !== null && valTokens.length < 2) {
    throw new UsageError('--patience needs a validation loss to watch, and --val-frac 0 leaves none; drop --patience or give a --val-frac above 0');
  }
  const stream = new BatchStream(trainTokens, config.batchSize, config.seqLength);

  // The model: new, from --init-from's weights, or where the resumed run stopped.
  const engine = createEngine({
    config: modelConfig, batchSize: config.batchSize, seqLength: config.seqLength, backend: options.backend,
    threads: threadsFor(options.threads, modelConfig, config.batchSize, config.seqLength),
  });
  try {
    const state = start.kind === 'resume' ? resumeState(engine, start.checkpoint, corpus.record, options) : newState(engine, config, corpus.record, start.kind === 'init' ? start.checkpoint : null);
    stream.cursor = state.cursor;
    const startsCycle = config.lrSchedule === 'budget' && (state.schedule === null || newBudgetOnResume(options, config, state, stream.batchesPerEpoch));
    if (startsCycle) state.schedule = newCycle(config, stream.batchesPerEpoch, state.iteration, state.iteration === 0 ? 0 : state.lr, state.seconds);
    if (config.lrSchedule !== 'budget') state.schedule = null;
    const { B: valStreams, L: valLength } = evalLayout(valTokens.length, config.batchSize, config.valMaxChars);
    const valScored = valTokens.length >= 2 ? valStreams * valLength : 0;
    const run: Run = {
      options, emit, plan, config, engine, corpus, stream,
      breakTokens: { newline: corpus.vocab.indexOf('\n'), separator: corpus.record.docSep !== null ? corpus.vocab.indexOf(corpus.record.docSep) : -1 }, valTokens, state, rng: Rng.fromState(state.rng),
      schedule: new LearningRate(config, state.schedule, valScored, startsCycle),
      sampler: new TrainingSampler(modelConfig, corpus.vocab, options.backend),
      lastSaved: start.kind === 'resume' ? state.iteration : -1, startLoss: null,
    };
    emit({
      type: 'start', corpus: named.map((p) => (p === STDIN ? 'standard input' : p)).join(' '), files: corpus.record.files.length,
      bytes: corpus.record.files.reduce((sum, f) => sum + f.bytes, 0), readSeconds, chars: corpus.tokens.length, valChars: valTokens.length,
      valScored: valStreams * valLength, vocabSize: corpus.vocab.size, params: engine.model.paramCount, model: modelConfig, config, iteration: state.iteration,
      resumedFrom: start.kind === 'resume' ? start.file : null, addedChars: start.kind === 'init' ? corpus.vocab.chars.slice(start.checkpoint.vocab.length) : [], checkpointDir: plan.dir, backend: engine.model.k.name, threads: engine.threads, itersPerEpoch: stream.batchesPerEpoch,
    });
    warnCostlyValidation(run, valScored);
    return await trainingLoop(run);
  } catch (err) {
    if (!(err instanceof ThreadFailure)) throw err;
    // The weights may be half updated: nothing is saved, and the last checkpoint stays as it was.
    const kept = (await fs.pathExists(plan.latestFile)) ? `${plan.latestFile} is as it was at its last save; continue with --resume` : 'no checkpoint was written; start again';
    throw new RuntimeFailure(`training stopped: ${err.message}; ${kept} (--threads 1 trains without worker threads)`);
  } finally {
    await engine.close();
  }
}

/** The training loop: a batch, a step, now and then an evaluation and a checkpoint, until a stop. */
async function trainingLoop(run: Run): Promise<Done> {
  const { options, config, engine, stream, state, schedule } = run;
  const B = config.batchSize, T = config.seqLength;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const startTime = performance.now();
  const secondsBefore = state.seconds;
  const itersBefore = state.iteration;
  let lastEmit = 0;
  let reason: StopReason | null;
  for (;;) {
    reason = stopReason(run, performance.now() - startTime);
    if (reason !== null) break;
    // An iteration's time, for a time budget's horizon: everything from here on but the evaluations.
    const stepStart = performance.now();
    // Let signal handlers run between iterations (the step itself is synchronous).
    await new Promise((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) { reason = 'interrupted'; break; }

    state.lr = schedule.lr(state.iteration, state.lr, cycleSeconds(state));
    engine.resetRows(freshStreams(run));
    stream.next(inputs, targets);
    const dropout = engine.model.config.dropout > 0 ? { seed: config.seed, iteration: state.iteration } : null;
    const { loss, gradNorm } = trainingStep(engine, inputs, targets, dropout, config, state.lr, state.optimizerSteps + 1);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) throw diverged(run, state.iteration + 1, Number.isFinite(loss) ? `gradient norm ${gradNorm}` : `loss ${loss}`);
    const smoothLoss = state.smoothLoss === null ? loss : 0.95 * state.smoothLoss + 0.05 * loss;
    run.startLoss ??= Math.max(loss, Math.log(run.corpus.vocab.size));
    checkDivergence(run, 'loss', smoothLoss, state.iteration + 1);
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
    schedule.afterStep(state.iteration, (now - stepStart) / 1000, cycleSeconds(state));
    if (elapsedMs - lastEmit >= (options.progressInterval ?? 250) || state.iteration % config.evalEvery === 0) {
      lastEmit = elapsedMs;
      run.emit(progress(run, loss, ((state.iteration - itersBefore) * B * T) / (elapsedMs / 1000), elapsedMs / 1000));
    }
    if (state.iteration % config.evalEvery === 0) {
      const evalStart = performance.now();
      await evaluateAndSave(run, false);
      schedule.afterEval((performance.now() - evalStart) / 1000);
    }
  }

  if (run.lastSaved !== state.iteration) await evaluateAndSave(run, true);
  if (reason !== 'interrupted' && options.index !== false) writeIndex(run);
  const done: Done = {
    type: 'done', reason, iteration: state.iteration, epoch: epochOf(run), bestValLoss: state.bestValLoss, lastValLoss: state.lastValLoss,
    latest: run.plan.latestFile, best: (await fs.pathExists(run.plan.bestFile)) ? run.plan.bestFile : null,
  };
  run.emit(done);
  return done;
}

/**
 * Indexes the corpus for sampling's copy guard. The run has succeeded by now: an index that cannot be
 * written (a full disk, a corpus too large for memory) is a warning, and `charnn index` can write it later.
 */
function writeIndex(run: Run): void {
  const started = performance.now();
  try {
    const file = writeCorpusIndex(run.plan.dir, run.corpus);
    run.emit({ type: 'index', file, seconds: (performance.now() - started) / 1000 });
  } catch (err) {
    const problem = err instanceof CharnnError ? err.message : (err as NodeJS.ErrnoException).code !== undefined ? fileProblem(err as NodeJS.ErrnoException) : null;
    if (problem === null) throw err;
    run.emit({ type: 'warning', message: `the corpus index was not written (${problem}); sample --copies and --max-copy need it: charnn index builds it later` });
  }
}

/**
 * The streams that start the next batch from a zero state. Sampling and scoring start from one, so it
 * must be a familiar state: at a paragraph break (a blank line's second newline or the document
 * separator) and, at random, one stream in 1/--fresh-state (a hash of seed, iteration and stream, so
 * threads and resumed runs choose alike).
 */
function freshStreams({ stream, breakTokens, config, state }: Run): number[] {
  if (config.freshState === 0) return [];
  const breaks = stream.breaksAtCursor(breakTokens.newline, breakTokens.separator);
  return [...new Set([...breaks, ...streamsToReset(config.seed, state.iteration, config.batchSize, config.freshState)])];
}

/** Why the run stops before its next iteration, if it does. */
function stopReason(run: Run, elapsedMs: number): StopReason | null {
  const { config, state, schedule } = run;
  if (config.maxIters !== null && state.iteration >= config.maxIters) return 'max-iters';
  if (config.maxEpochs !== null && epochOf(run) >= config.maxEpochs) return 'max-epochs';
  if (config.timeLimit !== null && elapsedMs >= config.timeLimit * 1000) return 'time-limit';
  if (config.patience !== null && evaluationsSinceBest(state) >= config.patience) return 'patience';
  if (schedule.reachedHorizon(state.iteration)) return 'time-limit'; // a time budget's measured end
  return null;
}

/**
 * The progress event after an iteration. Its last iteration is where the run will end: a time budget's
 * horizon once measured (unknown before), else the iteration or epoch budget; the ETA counts down to it.
 */
function progress(run: Run, loss: number, charsPerSecond: number, elapsedSeconds: number): Extract<TrainEvent, { type: 'iteration' }> {
  const { state, config } = run;
  const lastIteration = run.schedule.cycle?.horizon ?? (config.timeLimit !== null ? null : iterationBudget(config, run.stream.batchesPerEpoch));
  let etaSeconds = lastIteration !== null ? (Math.max(0, lastIteration - state.iteration) * config.batchSize * config.seqLength) / charsPerSecond : null;
  if (config.timeLimit !== null) etaSeconds = Math.min(etaSeconds ?? Infinity, config.timeLimit - elapsedSeconds);
  return {
    type: 'iteration', iteration: state.iteration, lastIteration, epoch: epochOf(run), loss, smoothLoss: state.smoothLoss!, lr: state.lr,
    charsPerSecond, seconds: state.seconds, etaSeconds, lastValLoss: state.lastValLoss,
  };
}

/** Measures the validation loss, records the history and maybe a sample, and writes the checkpoints. */
async function evaluateAndSave(run: Run, last: boolean): Promise<void> {
  const { config, state, valTokens, plan } = run;
  let improved = false;
  if (valTokens.length >= 2) {
    const valLoss = evaluate(run.engine, valTokens, config.batchSize, config.seqLength, config.valMaxChars).loss;
    // Weights that have diverged must not replace the last good checkpoint.
    checkDivergence(run, 'validation loss', valLoss, state.iteration);
    state.lastValLoss = valLoss;
    improved = state.bestValLoss === null || valLoss < state.bestValLoss;
    if (improved) state.bestValLoss = valLoss;
    run.emit({ type: 'eval', iteration: state.iteration, epoch: epochOf(run), valLoss, bestValLoss: state.bestValLoss!, improved });
  }
  recordHistory(run);
  if (sampleDue(state.iteration, config.evalEvery, config.sampleEvery, last)) {
    const sample = { iteration: state.iteration, valLoss: state.lastValLoss, temperature: TRAINING_SAMPLE.temperature, text: run.sampler.sample(run.engine.model.weights) };
    state.samples = addSample(state.samples ?? [], sample);
    run.emit({ type: 'sample', iteration: sample.iteration, temperature: sample.temperature, text: sample.text });
  }
  // Without a validation split, the latest weights are the best we know. best.json goes first, so that
  // latest.json never records a best that best.json does not hold yet.
  await saveCheckpoint(improved || valTokens.length < 2 ? [plan.bestFile, plan.latestFile] : plan.latestFile, snapshot(run));
  run.lastSaved = state.iteration;
  run.emit({ type: 'checkpoint', iteration: state.iteration, file: plan.latestFile });
}

function snapshot(run: Run): Checkpoint {
  run.state.cursor = run.stream.cursor;
  run.state.rng = run.rng.state();
  return captureCheckpoint(run.engine.model, run.engine.saveState(), run.corpus.vocab.chars, run.config, run.state);
}

/** A new run's state, its model initialised from the seed (and for --init-from, given those weights). */
function newState(engine: TrainingEngine, config: TrainingConfig, corpus: TrainingState['corpus'], weightsFrom: Checkpoint | null): TrainingState {
  const rng = new Rng(config.seed);
  engine.model.initialize(rng, config.forgetBias);
  if (weightsFrom) copyWeights(engine.model, weightsFrom); // --init-from: the weights, nothing else
  engine.resetState();
  return {
    iteration: 0, epoch: 0, cursor: 0, rng: rng.state(), lr: config.lr, schedule: null, optimizerSteps: 0,
    smoothLoss: null, bestValLoss: null, lastValLoss: null, seconds: 0, history: [], corpus,
  };
}

/** A resumed run's state, with its weights, optimizer state and carried hidden state put back. */
function resumeState(engine: TrainingEngine, checkpoint: Checkpoint, corpus: TrainingState['corpus'], options: TrainOptions): TrainingState {
  engine.restoreState(restoreTraining(engine.model, checkpoint));
  const state = structuredClone(checkpoint.training);
  state.corpus = corpus; // the same text; runs from before several inputs gain the list of files
  if (options.config?.lr !== undefined) state.lr = options.config.lr;
  return state;
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

/**
 * Scoring a character is a forward pass, about a third of training on it; warns when validation scores
 * more characters than are trained on between two evaluations (over a third of the time goes to it).
 */
function warnCostlyValidation(run: Run, valScored: number): void {
  const trainedBetween = run.config.evalEvery * run.config.batchSize * run.config.seqLength;
  if (valScored <= trainedBetween) return;
  run.emit({
    type: 'warning',
    message: `validation scores ${valScored} characters every ${run.config.evalEvery} iterations, more than the ${trainedBetween} it trains on in between; ` +
      `--val-max-chars ${trainedBetween} or a larger --eval-every makes it cheaper`,
  });
}

/** Stops training as diverged when a loss is not finite or has grown past DIVERGENCE_FACTOR × its start. */
function checkDivergence(run: Run, what: string, loss: number, iteration: number): void {
  if (!Number.isFinite(loss)) throw diverged(run, iteration, `${what} ${loss}`);
  if (run.startLoss !== null && loss > DIVERGENCE_FACTOR * run.startLoss) {
    throw diverged(run, iteration, `${what} ${Number(loss.toPrecision(3))}, over ${DIVERGENCE_FACTOR}× the ${run.startLoss.toFixed(2)} it started at`);
  }
}

function diverged(run: Run, iteration: number, what: string): RuntimeFailure {
  const { lastSaved, plan, state } = run;
  const kept = lastSaved >= 0 ? `the last good checkpoint (iteration ${lastSaved}) is kept in ${plan.latestFile}` : 'no checkpoint was written';
  // A tenth of the rate that diverged, but no more than the default, which trains most corpora.
  const suggested = Number(Math.min(state.lr / 10, DEFAULT_CONFIG.lr).toPrecision(2));
  const again = lastSaved >= 0 ? ` (with --resume to continue from iteration ${lastSaved})` : '';
  return new RuntimeFailure(`training diverged at iteration ${iteration} (${what}); ${kept}; lower the learning rate${again}, e.g. --lr ${suggested}`);
}

function epochOf({ state, stream }: Pick<Run, 'state' | 'stream'>): number {
  return state.epoch + stream.epochProgress;
}

function cycleSeconds(state: TrainingState): number {
  return state.seconds - (state.schedule?.startSeconds ?? 0);
}

function recordHistory(run: Run): void {
  const { state } = run;
  const point: HistoryPoint = { iteration: state.iteration, epoch: epochOf(run), trainLoss: state.smoothLoss, valLoss: state.lastValLoss, seconds: state.seconds };
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
