import { describe, expect, it } from 'vitest';
import type { BackendName } from '../src/kernels/index.js';
import { nativeUnavailableReason } from '../src/kernels/native.js';
import { createEngine, trainingStep, type TrainingEngine } from '../src/train/engine.js';
import { evaluate } from '../src/train/evaluate.js';
import { CONTROL_SLOTS, Slot } from '../src/train/protocol.js';
import { Rng } from '../src/util/rng.js';

/**
 * With worker threads the batch is cut into fixed shards that the threads claim one at a time, and
 * their answers are added in shard order: the weights must not depend on which thread ran which shard.
 * The engine runs the built dist/train/worker.js (`npm test` builds it first).
 */
const BATCH = 7; // 2 shards of 3 and 4 streams, 3 of 2, 2 and 3
const STEPS = 5;
const HIDDEN = 8;
const config = { cell: 'lstm' as const, vocabSize: 6, hiddenSize: HIDDEN, layers: 2, dropout: 0.25 };
const stepConfig = { optimizer: 'adam' as const, gradClip: 0.5, batchSize: BATCH, seqLength: STEPS };
const BACKENDS: BackendName[] = nativeUnavailableReason() === undefined ? ['js', 'wasm', 'native'] : ['js', 'wasm'];

async function withEngine<T>(backend: BackendName, threads: number, use: (engine: TrainingEngine) => T): Promise<T> {
  const engine = createEngine({ config, batchSize: BATCH, seqLength: STEPS, backend, threads });
  try {
    expect(engine.threads).toBe(threads);
    return use(engine);
  } finally {
    await engine.close();
  }
}

/** What a run leaves that must be the same to the bit: weights, optimizer state, carried state, losses. */
interface Outcome {
  tensors: Uint32Array[];
  losses: number[];
}

const bits = (a: Float32Array) => new Uint32Array(a.slice().buffer);

/**
 * Training as the trainer does it, on a seeded batch each iteration: dropout on, some streams reset
 * before a step, the state carried, and a validation pass (fewer streams than shards) in the middle.
 * `beforeStep` may change the carried state before each step.
 */
function train(engine: TrainingEngine, iterations: number, beforeStep: (engine: TrainingEngine, iteration: number) => void = resetSome): Outcome {
  const rng = new Rng(7);
  const tokens = (n: number) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * config.vocabSize));
  engine.model.initialize(new Rng(3));
  engine.resetState();
  const losses: number[] = [];
  for (let iteration = 0; iteration < iterations; iteration++) {
    beforeStep(engine, iteration);
    const { loss, gradNorm } = trainingStep(engine, tokens(BATCH * STEPS), tokens(BATCH * STEPS), { seed: 11, iteration }, stepConfig, 0.02, iteration + 1);
    losses.push(loss, gradNorm);
    engine.carryState();
    if (iteration === 1) losses.push(evaluate(engine, Uint8Array.from(tokens(40)), 3, 4).loss);
  }
  const { model } = engine;
  return { tensors: [model.weights, model.optimizerState(0), model.optimizerState(1), ...engine.saveState()].map(bits), losses };
}

/** Streams 1 and 5 (in two shards) start afresh before the third step. */
function resetSome(engine: TrainingEngine, iteration: number): void {
  if (iteration === 2) engine.resetRows([1, 5]);
}

/**
 * Makes this (the main) thread claim no shard: before its first claim of each command it waits for a
 * worker's answer, which a worker gives once no shard is left to claim. Undone when `run` returns.
 */
async function mainThreadIdle<T>(run: () => Promise<T>): Promise<{ result: T; claims: number[] }> {
  const { add, wait } = Atomics, claims: number[] = [];
  Atomics.add = function (array: Int32Array, index: number, value: number) {
    if (array.length === CONTROL_SLOTS && index === Slot.Claimed) {
      while (Atomics.load(array, Slot.Done) === 0) wait(array, Slot.Done, 0, 100);
      const claimed = add(array, index, value);
      claims.push(claimed);
      return claimed;
    }
    return add(array, index, value);
  } as typeof Atomics.add;
  try {
    return { result: await run(), claims };
  } finally {
    Atomics.add = add;
  }
}

describe.each(BACKENDS)('shards on %s', (backend) => {
  it.each([2, 3])('a shard gives the same result whichever thread runs it: the workers running every shard change no bit, %i threads', async (threads) => {
    const shared = await withEngine(backend, threads, (e) => train(e, 4));
    const { result: idle, claims } = await mainThreadIdle(() => withEngine(backend, threads, (e) => train(e, 4)));
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.every((claimed) => claimed >= threads), 'the main thread claimed a shard').toBe(true);
    expect(idle).toEqual(shared);
  });

  it('resetRows before a step is the step from that state with those rows zeroed', async () => {
    const zeroedByHand = (engine: TrainingEngine, iteration: number) => {
      if (iteration !== 2) return;
      const saved = engine.saveState();
      for (const block of saved) for (const row of [1, 5]) block.fill(0, row * HIDDEN, (row + 1) * HIDDEN);
      engine.restoreState(saved);
    };
    const [reset, byHand] = await Promise.all([resetSome, zeroedByHand].map((before) => withEngine(backend, 2, (e) => train(e, 4, before))));
    expect(byHand).toEqual(reset);
  });

  it('the carried state saves as [batch × H] blocks in stream order and restores into any number of threads', async () => {
    const saved = await withEngine(backend, 2, (e) => {
      train(e, 2);
      return e.saveState();
    });
    expect(saved.map((block) => block.length)).toEqual(Array(2 * config.layers).fill(BATCH * HIDDEN));
    for (const threads of [1, 3]) {
      const restored = await withEngine(backend, threads, (e) => {
        e.restoreState(saved);
        return e.saveState();
      });
      expect(restored.map(bits), `${threads} thread(s)`).toEqual(saved.map(bits));
    }
  });
});
