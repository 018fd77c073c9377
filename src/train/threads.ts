import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../model/model.js';
import { computeWeights } from './autochoice.js';

/** How many threads share a batch: a number, or 'auto' (threadsFor). */
export type Threads = number | 'auto';

/**
 * The floating-point operations of a training step (6 per compute weight per character) below which a
 * second thread costs more than it gains: the step is too short for its waits. Measured with `charnn bench`
 * on the native backend, one thread against two, alternated, on the project's 2-core machine:
 *   1×16, batch 32×64 (25 MFLOP): one thread 1.6× as fast;  1×128, batch 4×16 (28 MFLOP): level;
 *   1×32, batch 32×64 (74 MFLOP): level;  2×128, batch 4×16 (78 MFLOP): two threads 1.25–1.4×;
 *   1×128, batch 8×32 (110 MFLOP): two 1.2–1.5×;  1×64, batch 32×64 (245 MFLOP): two 1.3–1.4×.
 * Every size of the automatic choice is far above it; a toy model or a test's is below.
 */
export const SHARED_STEP_FLOPS = 50e6;

/**
 * The threads a run uses: `threads` as given; 'auto', one per core unless a step is too small to share
 * (SHARED_STEP_FLOPS); unset (a library caller), this thread only.
 */
export function threadsFor(threads: Threads | undefined, model: Omit<ModelConfig, 'dropout'>, batchSize: number, seqLength: number, cores = availableParallelism()): number {
  if (threads === undefined) return 1;
  if (threads !== 'auto') return threads;
  const stepFlops = 6 * computeWeights(model.cell, model.layers, model.hiddenSize, model.vocabSize) * batchSize * seqLength;
  return stepFlops < SHARED_STEP_FLOPS ? 1 : cores;
}
