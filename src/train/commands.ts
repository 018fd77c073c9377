import { JsKernels } from '../kernels/js.js';
import { NativeKernels } from '../kernels/native.js';
import { WasmKernels } from '../kernels/wasm.js';
import { Model, type DropoutKey } from '../model/model.js';
import { OPTIMIZERS, optimizerStep, sumOfSquares, type OptimizerName } from './optimizer.js';
import { claimShard, controlViews, Command, ioViews, readDropout, sliceOf, Slot, type IoShape, type IoViews, type WorkerSetup } from './protocol.js';

/**
 * The engine's commands, each written once and run by every thread: the worker threads in their loop
 * (worker.ts) and the main thread (engine.ts), which with one thread runs them alone over one shard,
 * the whole batch. A command's work comes in shards that the threads claim one at a time until none is
 * left (claimShard): shard s is the s-th contiguous slice of the batch's streams (sliceOf), or of the
 * parameters for Reduce and Update. Every shard has its own arena (activations, carried state) and
 * gradients on the shared heap, and answers in its own entries of the io buffer; the engine adds the
 * answers in shard order, so the result is the same whichever thread ran a shard.
 */
export interface Thread extends IoShape {
  /** A model per shard, all through this thread's kernels: the weights and optimizer state they share, each shard's gradients and arena. */
  models: Model[];
  control: Int32Array;
  io: IoViews;
}

/** A shard's columns of the batch (time-major): its inputs and targets. */
export type Columns = (shard: number) => readonly [Int32Array, Int32Array];

/** The shards' columns as the main thread shares them out in the io buffer. */
export function ioColumns(io: IoViews): Columns {
  return (s) => [io.inputs[s], io.targets[s]];
}

/** The thread a worker's setup describes (or the main thread's, with index 0), over the shared heap. */
export function threadOf(setup: WorkerSetup): Thread {
  const { index, shards, batchSize, maxBatch, seqLength, heap } = setup;
  const kernels = 'plan' in heap ? new WasmKernels(heap.plan, setup.floats, index)
    : setup.backend === 'native' ? new NativeKernels(new Float32Array(heap.buffer)) : new JsKernels(new Float32Array(heap.buffer));
  const models = Array.from({ length: shards }, (_, s) => new Model(setup.config, {
    maxBatch, maxSteps: seqLength, backend: setup.backend, shard: { index: s, rowOffset: sliceOf(s, shards, batchSize).start, kernels },
  }));
  return { models, shards, batchSize, maxBatch, seqLength, control: controlViews(setup.control).control, io: ioViews(setup.io, setup) };
}

/** Runs the shards of `command` this thread claims, with the arguments the main thread wrote in the control array and the io buffer. */
export function runCommand(thread: Thread, command: number, columns: Columns): void {
  const { control, io } = thread;
  const each = (run: (shard: number) => void) => {
    for (let s = claimShard(control); s < thread.shards; s = claimShard(control)) run(s);
  };
  switch (command) {
    case Command.Step: {
      const dropout = readDropout(control);
      return each((s) => step(thread, s, ...columns(s), dropout));
    }
    case Command.Reduce:
      return each((s) => reduce(thread, s));
    case Command.Update: {
      const optimizer = OPTIMIZERS[Atomics.load(control, Slot.Optimizer)], [lr, number, gradScale] = io.update;
      return each((s) => update(thread, s, optimizer, lr, number, gradScale));
    }
    case Command.Score: {
      const steps = Atomics.load(control, Slot.Steps), batch = Atomics.load(control, Slot.Batch);
      return each((s) => score(thread, s, ...columns(s), steps, batch));
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/**
 * Forward and backward over shard `s`'s streams of the training batch, into its own gradients, scaled
 * for the mean over the whole batch; its summed loss (nats) goes to io.losses.
 */
function step(thread: Thread, s: number, inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): void {
  const { batchSize, seqLength } = thread, model = thread.models[s];
  model.zeroGradients();
  model.forward(inputs, seqLength, sliceOf(s, thread.shards, batchSize).rows, dropout);
  thread.io.losses[s] = model.loss(targets);
  model.backward(inputs, targets, 1 / (batchSize * seqLength));
}

/**
 * Sums the shards' gradients over share `s` of the parameters into shard 0's (adding them in shard
 * order); Σ g² of that share of the sum goes to io.sums.
 */
function reduce(thread: Thread, s: number): void {
  const model = thread.models[0];
  const { start, rows } = sliceOf(s, thread.shards, model.paramRegion);
  const total = model.gradientsOf(0).subarray(start, start + rows);
  for (let w = 1; w < thread.shards; w++) {
    const part = model.gradientsOf(w).subarray(start, start + rows);
    for (let i = 0; i < rows; i++) total[i] += part[i];
  }
  thread.io.sums[s] = sumOfSquares(total);
}

/** Applies the optimizer's update number `step` to share `s` of the parameters, from shard 0's gradients. */
function update(thread: Thread, s: number, optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
  const model = thread.models[0];
  const { start, rows } = sliceOf(s, thread.shards, model.paramRegion);
  const share = (a: Float32Array) => a.subarray(start, start + rows);
  optimizerStep(optimizer, {
    weights: share(model.weights), grads: share(model.gradientsOf(0)),
    state0: share(model.optimizerState(0)), state1: share(model.optimizerState(1)),
  }, lr, step, gradScale);
}

/** Forward without dropout over shard `s`'s streams of `batch` (perhaps none); the summed loss to io.losses. */
function score(thread: Thread, s: number, inputs: Int32Array, targets: Int32Array, steps: number, batch: number): void {
  const rows = sliceOf(s, thread.shards, batch).rows;
  thread.io.losses[s] = rows > 0 ? thread.models[s].score(inputs, targets, steps, rows) : 0;
}
