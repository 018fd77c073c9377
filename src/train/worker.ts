import { workerData } from 'node:worker_threads';
import { JsKernels } from '../kernels/js.js';
import { WasmKernels } from '../kernels/wasm.js';
import { Model } from '../model/model.js';
import { Command, CONTROL_SLOTS, FAILURE_MESSAGE_BYTES, ioViews, reduceShare, sliceOf, Slot, updateShare, type WorkerSetup } from './engine.js';
import { OPTIMIZERS } from './optimizer.js';

/**
 * A data-parallel worker: it owns one slice of the batch and one share of the parameters. When the main
 * thread says so it runs forward and backward for its slice over the shared heap, sums its share of
 * every slice's gradients, applies the optimizer to its share, and reports through the control array.
 */
const setup = workerData as WorkerSetup;
const kernels = 'plan' in setup.heap
  ? new WasmKernels(setup.heap.plan, setup.floats, setup.index)
  : new JsKernels(new Float32Array(setup.heap.buffer));
const model = new Model(setup.config, {
  maxBatch: setup.maxBatch, maxSteps: setup.seqLength, backend: setup.backend,
  worker: { index: setup.index, count: setup.count, rowOffset: setup.rowOffset, kernels },
});
const control = new Int32Array(setup.control, 0, CONTROL_SLOTS);
const failureMessage = new Uint8Array(setup.control, CONTROL_SLOTS * 4, FAILURE_MESSAGE_BYTES);
const io = ioViews(setup.io, setup.count, setup.maxBatch, setup.seqLength);
const inputs = io.inputs[setup.index], targets = io.targets[setup.index];
const { losses, sums, update } = io;
/** This thread's share of the streams of the current command (evaluation may use fewer than the training batch). */
const rows = () => sliceOf(setup.index, setup.count, Atomics.load(control, Slot.Batch)).rows;

// The sequence starts at 0; commands the main thread sent before this thread started are not missed.
let seen = 0;
for (;;) {
  // Waits until the sequence moves on, checking it again every second: a wait that misses its notify
  // (a stale read, which the memory model allows) then costs a second instead of hanging the run (a
  // 2×128 run hung once with this thread asleep on a sequence the main thread had already advanced).
  while (Atomics.load(control, Slot.Sequence) === seen) Atomics.wait(control, Slot.Sequence, seen, 1000);
  seen = Atomics.load(control, Slot.Sequence);
  const command = Atomics.load(control, Slot.Command);
  if (command === Command.Exit) break;
  try {
    if (command === Command.Step) {
      const dropout = Atomics.load(control, Slot.Dropout) ? { seed: Atomics.load(control, Slot.Seed) >>> 0, iteration: Atomics.load(control, Slot.Iteration) } : null;
      model.zeroGradients();
      model.forward(inputs, setup.seqLength, rows(), dropout);
      losses[setup.index] = model.loss(targets);
      model.backward(inputs, targets, 1 / (setup.seqLength * setup.batchSize));
    } else if (command === Command.Reduce) {
      sums[setup.index] = reduceShare(model, setup.index, setup.count);
    } else if (command === Command.Update) {
      updateShare(model, setup.index, setup.count, OPTIMIZERS[Atomics.load(control, Slot.Optimizer)], update[0], update[1], update[2]);
    } else if (command === Command.Score) {
      const n = rows();
      losses[setup.index] = n > 0 ? model.score(inputs, targets, Atomics.load(control, Slot.Steps), n) : 0;
    } else if (command === Command.Carry) {
      model.carryState();
    } else if (command === Command.Reset) {
      model.resetState(rows());
    }
  } catch (err) {
    failureMessage.set(new TextEncoder().encode(String((err as Error)?.stack ?? err)).subarray(0, FAILURE_MESSAGE_BYTES));
    Atomics.store(control, Slot.Failed, 1);
  }
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}
