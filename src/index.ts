/**
 * charnn as a library: train, load, sample and evaluate without the command line.
 *
 *     import { loadCheckpoint, sample } from 'charnn';
 *     const ckpt = await loadCheckpoint('checkpoints/lighthouse/best.json');
 *     for await (const char of sample(ckpt, { temperature: 0.8, length: 200 })) process.stdout.write(char);
 */
export { loadCheckpoint, saveCheckpoint, findNewest } from './checkpoint/store.js';
export type { Checkpoint, TrainingConfig, TrainingState, HistoryPoint, TrainingSample } from './checkpoint/format.js';
export { modelFromCheckpoint } from './checkpoint/weights.js';
export { sample, Sampler, type SampleOptions } from './sample/sampler.js';
export { activations, traceActivations, type ActivationTrace, type ActivationOptions, type CharActivation, type Guess } from './inspect/activations.js';
export { train, type TrainOptions, type TrainEvent } from './train/trainer.js';
export { evaluate, evaluateCorpus, type Evaluation, type TextEvaluation } from './train/evaluate.js';
export { Vocab, type TokenArray } from './data/vocab.js';
export { readCorpus, DEFAULT_DOC_SEP, type CorpusTokens, type CorpusRecord, type ReadOptions } from './data/corpus.js';
export { Model, type ModelConfig, type CellType } from './model/model.js';
export { createKernels, defaultBackend, type BackendName, type Kernels } from './kernels/index.js';
export { CharnnError, UsageError, RuntimeFailure } from './util/errors.js';
