import { JsKernels } from '../kernels/js.js';
import { NativeKernels } from '../kernels/native.js';
import { WasmKernels } from '../kernels/wasm.js';
import { Model, type DropoutKey } from '../model/model.js';
import { OPTIMIZERS, optimizerStep, sumOfSquares, type OptimizerName } from './optimizer.js';
import { controlViews, Command, ioViews, readDropout, sliceOf, Slot, type IoShape, type IoViews, type WorkerSetup } from './protocol.js';

/**
 * The engine's commands, each written once and run by every thread on its own share: the worker threads
 * in their loop (worker.ts), the main thread for slice 0 (engine.ts), and with one thread by the main
 * thread alone. A thread's share is its slice of the batch's streams (sliceOf) and its share of the
 * parameters; what it answers goes to its entries of the io buffer.
 */
export interface Thread extends IoShape {
  /** This thread's model: the weights and optimizer state shared by all, its own gradients and arena. */
  model: Model;
  /** Which of the `count` threads this is. */
  index: number;
  control: Int32Array;
  io: IoViews;
}

/** The thread a worker's setup describes (or the main thread's, with index 0), over the shared heap. */
export function threadOf(setup: WorkerSetup): Thread {
  const { index, count, batchSize, maxBatch, seqLength, heap } = setup;
  const kernels = 'plan' in heap ? new WasmKernels(heap.plan, setup.floats, index)
    : setup.backend === 'native' ? new NativeKernels(new Float32Array(heap.buffer)) : new JsKernels(new Float32Array(heap.buffer));
  const model = new Model(setup.config, {
    maxBatch, maxSteps: seqLength, backend: setup.backend,
    worker: { index, count, rowOffset: sliceOf(index, count, batchSize).start, kernels },
  });
  return { model, index, count, batchSize, maxBatch, seqLength, control: controlViews(setup.control).control, io: ioViews(setup.io, setup) };
}

/**
 * Runs `command` on this thread's share, with the arguments the main thread wrote in the control array
 * and the io buffer. `inputs` and `targets` are this thread's columns of the batch (time-major).
 */
export function runCommand(thread: Thread, command: number, inputs: Int32Array, targets: Int32Array): void {
  const { control, io } = thread;
  switch (command) {
    case Command.Step:
      return step(thread, inputs, targets, readDropout(control));
    case Command.Reduce:
      return reduce(thread);
    case Command.Update:
      return update(thread, OPTIMIZERS[Atomics.load(control, Slot.Optimizer)], io.update[0], io.update[1], io.update[2]);
    case Command.Score:
      return score(thread, inputs, targets, Atomics.load(control, Slot.Steps), Atomics.load(control, Slot.Batch));
    case Command.Carry:
      return thread.model.carryState();
    case Command.Reset:
      return thread.model.resetState(sliceOf(thread.index, thread.count, Atomics.load(control, Slot.Batch)).rows);
    case Command.ResetRows:
      return resetRows(thread, io.resetRows);
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/**
 * Forward and backward over this thread's streams of the training batch, into its own gradients, scaled
 * for the mean over the whole batch; its summed loss (nats) goes to io.losses.
 */
function step(thread: Thread, inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): void {
  const { model, batchSize, seqLength } = thread;
  model.zeroGradients();
  model.forward(inputs, seqLength, trainingRows(thread).rows, dropout);
  thread.io.losses[thread.index] = model.loss(targets);
  model.backward(inputs, targets, 1 / (batchSize * seqLength));
}

/**
 * Sums the threads' gradients over this thread's share of the parameters into thread 0's (adding them in
 * thread order); Σ g² of that share of the sum goes to io.sums.
 */
function reduce(thread: Thread): void {
  const { model, index, count } = thread;
  const { start, rows } = sliceOf(index, count, model.paramRegion);
  const total = model.gradientsOf(0).subarray(start, start + rows);
  for (let w = 1; w < count; w++) {
    const part = model.gradientsOf(w).subarray(start, start + rows);
    for (let i = 0; i < rows; i++) total[i] += part[i];
  }
  thread.io.sums[index] = sumOfSquares(total);
}

/** Applies the optimizer's update number `step` to this thread's share of the parameters, from thread 0's gradients. */
function update(thread: Thread, optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
  const { model } = thread;
  const { start, rows } = sliceOf(thread.index, thread.count, model.paramRegion);
  const share = (a: Float32Array) => a.subarray(start, start + rows);
  optimizerStep(optimizer, {
    weights: share(model.weights), grads: share(model.gradientsOf(0)),
    state0: share(model.optimizerState(0)), state1: share(model.optimizerState(1)),
  }, lr, step, gradScale);
}

/** Forward without dropout over this thread's share of `batch` streams (perhaps none); the summed loss to io.losses. */
function score(thread: Thread, inputs: Int32Array, targets: Int32Array, steps: number, batch: number): void {
  const rows = sliceOf(thread.index, thread.count, batch).rows;
  thread.io.losses[thread.index] = rows > 0 ? thread.model.score(inputs, targets, steps, rows) : 0;
}

/** Zeroes the carried state (every layer's h, and c) of the training streams marked in `mask` [batchSize] that this thread runs. */
function resetRows(thread: Thread, mask: Uint8Array): void {
  const { start, rows } = trainingRows(thread);
  for (let b = 0; b < rows; b++) if (mask[start + b]) thread.model.resetStateRow(b);
}

/** This thread's streams of the training batch. */
function trainingRows(thread: Thread): { start: number; rows: number } {
  return sliceOf(thread.index, thread.count, thread.batchSize);
}
