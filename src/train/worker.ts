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
const control = new Int32Array(setup.control, 0, CONTROL_SLOTS);
const failureMessage = new Uint8Array(setup.control, CONTROL_SLOTS * 4, FAILURE_MESSAGE_BYTES);
/** Writes an error where the main thread reads it. */
const record = (err: unknown) => {
  failureMessage.set(new TextEncoder().encode(String((err as Error)?.stack ?? err)).subarray(0, FAILURE_MESSAGE_BYTES));
};
/** A command that failed: this thread still answers, and the main thread reports the error. */
const fail = (err: unknown) => {
  record(err);
  Atomics.store(control, Slot.Failed, 1);
};
// However this thread ends (Exit, an error while setting up, a crash), the main thread, which may be
// waiting for an answer it will never get, learns of it at once.
process.on('exit', () => {
  Atomics.add(control, Slot.Gone, 1);
  Atomics.notify(control, Slot.Done);
});

/** This thread's model over the shared heap (built in the try at the end, so that its errors are reported). */
let model: Model;
function buildModel(): Model {
  const kernels = 'plan' in setup.heap
    ? new WasmKernels(setup.heap.plan, setup.floats, setup.index)
    : new JsKernels(new Float32Array(setup.heap.buffer));
  return new Model(setup.config, {
    maxBatch: setup.maxBatch, maxSteps: setup.seqLength, backend: setup.backend,
    worker: { index: setup.index, count: setup.count, rowOffset: setup.rowOffset, kernels },
  });
}
const io = ioViews(setup.io, setup.count, setup.maxBatch, setup.seqLength);
const inputs = io.inputs[setup.index], targets = io.targets[setup.index];
const { losses, sums, update } = io;
/** This thread's share of the streams of the current command (evaluation may use fewer than the training batch). */
const rows = () => sliceOf(setup.index, setup.count, Atomics.load(control, Slot.Batch)).rows;

/** Runs one command on this thread's share; an error is recorded for the main thread, which reports it. */
function run(command: number): void {
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
    fail(err);
  }
}

/** Answers the main thread's commands until it says Exit. */
function serve(): void {
  // The sequence starts at 0; commands the main thread sent before this thread started are not missed.
  let seen = 0;
  for (;;) {
    // The sequence, not the wake-up, says there is a new command. A wait can end with nothing new: when
    // this thread sees a new sequence before it sleeps, runs the command and sleeps again, the notify
    // that came with the command wakes it afterwards. Taking that wake-up for a command ran the last one
    // twice: a second answer hung the main thread, a second Reduce or Update would corrupt the weights.
    while (Atomics.load(control, Slot.Sequence) === seen) Atomics.wait(control, Slot.Sequence, seen);
    seen = Atomics.load(control, Slot.Sequence);
    const command = Atomics.load(control, Slot.Command);
    if (command === Command.Exit) return;
    run(command);
    Atomics.add(control, Slot.Done, 1);
    Atomics.notify(control, Slot.Done);
  }
}

try {
  model = buildModel();
  serve();
} catch (err) {
  record(err); // the thread ends: Gone tells the main thread, which reads this as the reason
  throw err;
}
