import { Worker } from 'node:worker_threads';
import type { TrainingConfig } from '../checkpoint/format.js';
import { JsKernels } from '../kernels/js.js';
import type { BackendName, Kernels } from '../kernels/index.js';
import { createWasmMemory, WasmKernels, type WasmMemoryPlan } from '../kernels/wasm.js';
import { Model, type DropoutKey, type ModelConfig } from '../model/model.js';
import { RuntimeFailure } from '../util/errors.js';
import type { Scorer } from './evaluate.js';
import { clipScale, OPTIMIZERS, optimizerStep, sumOfSquares, type OptimizerName } from './optimizer.js';

/**
 * What the training loop asks of the machinery that computes gradients and applies them: one model on
 * this thread, or the batch split over worker threads that share the heap (data parallelism). Either
 * way `model` holds the weights and optimizer state that checkpoints save, and after lossAndGradients
 * its gradients are those of the whole batch.
 */
export interface TrainingEngine extends Scorer {
  readonly model: Model;
  readonly threads: number;
  /** Forward and backward over the batch (time-major [T·B]); returns the summed loss in nats. */
  lossAndGradients(inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): number;
  /** Σ g² over the batch's gradients (after lossAndGradients). */
  gradientSumOfSquares(): number;
  /** The optimizer's update number `step` from `gradScale` × the batch's gradients. */
  update(optimizer: OptimizerName, lr: number, step: number, gradScale: number): void;
  /** Zeroes the carried state of `batch` streams (default: the training batch). saveState() holds the whole batch's. */
  resetState(batch?: number): void;
  close(): Promise<void>;
}

/**
 * One optimisation step: the gradients of the batch, clipped to a global norm, applied by the optimizer
 * as update number `step`. Returns the mean loss (nats/char) and the gradient norm before clipping;
 * when either is not finite nothing is applied, and the caller decides what to do.
 */
export function trainingStep(
  engine: TrainingEngine, inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null,
  config: Pick<TrainingConfig, 'optimizer' | 'gradClip' | 'batchSize' | 'seqLength'>, lr: number, step: number,
): { loss: number; gradNorm: number } {
  const loss = engine.lossAndGradients(inputs, targets, dropout) / (config.batchSize * config.seqLength);
  if (!Number.isFinite(loss)) return { loss, gradNorm: NaN };
  const gradNorm = Math.sqrt(engine.gradientSumOfSquares());
  if (!Number.isFinite(gradNorm)) return { loss, gradNorm };
  engine.update(config.optimizer, lr, step, clipScale(gradNorm, config.gradClip));
  return { loss, gradNorm };
}

/**
 * Thread `index` of `count` sums the threads' gradients over its share of the parameters into thread
 * 0's (adding them in thread order) and returns Σ g² over that share of the sum.
 */
export function reduceShare(model: Model, index: number, count: number): number {
  const { start, rows } = sliceOf(index, count, model.paramRegion);
  const total = model.gradientsOf(0).subarray(start, start + rows);
  for (let w = 1; w < count; w++) {
    const part = model.gradientsOf(w).subarray(start, start + rows);
    for (let i = 0; i < rows; i++) total[i] += part[i];
  }
  return sumOfSquares(total);
}

/** Thread `index` of `count` applies the optimizer to its share of the parameters, from thread 0's gradients. */
export function updateShare(model: Model, index: number, count: number, optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
  const { start, rows } = sliceOf(index, count, model.paramRegion);
  const share = (a: Float32Array) => a.subarray(start, start + rows);
  optimizerStep(optimizer, {
    weights: share(model.weights), grads: share(model.gradientsOf(0)),
    state0: share(model.optimizerState(0)), state1: share(model.optimizerState(1)),
  }, lr, step, gradScale);
}

export interface EngineOptions {
  config: ModelConfig;
  batchSize: number;
  seqLength: number;
  backend: BackendName;
  threads: number;
}

export function createEngine(options: EngineOptions): TrainingEngine {
  const threads = Math.max(1, Math.min(options.threads, options.batchSize));
  return threads === 1 ? new SingleThread(options) : new DataParallel({ ...options, threads });
}

class SingleThread implements TrainingEngine {
  readonly model: Model;
  readonly threads = 1;

  constructor(private readonly o: EngineOptions) {
    this.model = new Model(o.config, { maxBatch: o.batchSize, maxSteps: o.seqLength, backend: o.backend });
  }

  get maxBatch(): number {
    return this.o.batchSize;
  }

  get maxSteps(): number {
    return this.o.seqLength;
  }

  score(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): number {
    return this.model.score(inputs, targets, steps, batch);
  }

  lossAndGradients(inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): number {
    const { model, o } = this;
    model.zeroGradients();
    model.forward(inputs, o.seqLength, o.batchSize, dropout);
    const loss = model.loss(targets);
    model.backward(inputs, targets, 1 / (o.batchSize * o.seqLength));
    return loss;
  }

  gradientSumOfSquares(): number {
    return reduceShare(this.model, 0, 1);
  }

  update(optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
    updateShare(this.model, 0, 1, optimizer, lr, step, gradScale);
  }

  carryState(): void {
    this.model.carryState();
  }

  resetState(batch = this.o.batchSize): void {
    this.model.resetState(batch);
  }

  saveState(): Float32Array[] {
    return this.model.saveState(this.o.batchSize);
  }

  restoreState(saved: readonly Float32Array[]): void {
    this.model.restoreState(saved);
  }

  async close(): Promise<void> {}
}

/** Commands to the workers, in the control array. */
export const Command = { Step: 1, Reduce: 2, Update: 3, Score: 4, Carry: 5, Reset: 6, Exit: 7 } as const;
type Command = (typeof Command)[keyof typeof Command];
/**
 * Slots of the control array (Int32); a worker that fails sets Failed and writes its message after the
 * slots, and a worker thread that ends, for whatever reason, adds one to Gone. Batch and Steps give the
 * size of a Score or Reset; each thread takes its share of the streams. Optimizer is the index in
 * OPTIMIZERS for an Update (whose numbers are in the io buffer, see ioViews).
 */
export const Slot = { Sequence: 0, Done: 1, Command: 2, Dropout: 3, Seed: 4, Iteration: 5, Failed: 6, Batch: 7, Steps: 8, Optimizer: 9, Gone: 10 } as const;
const CONTROL_SLOTS = 11;

/**
 * The least time the main thread waits for the workers' answer to one command before it gives up on
 * them as stuck; 30 times what its own share of the command took is added (a step of a large model on
 * a loaded machine is slow, not stuck). CHARNN_STALL_SECONDS sets it (the fault tests make it short).
 */
const STALL_SECONDS = Number(process.env.CHARNN_STALL_SECONDS) || 60;

/** A worker thread that died or stopped answering: training cannot go on, and its weights are not to be saved. */
export class ThreadFailure extends RuntimeFailure {}

/**
 * Thread `index` of `count`'s contiguous share of `batch` items (possibly none): the streams it runs, or
 * the parameters it reduces and updates.
 */
export function sliceOf(index: number, count: number, batch: number): { start: number; rows: number } {
  const start = Math.floor((index * batch) / count);
  return { start, rows: Math.floor(((index + 1) * batch) / count) - start };
}
export const FAILURE_MESSAGE_BYTES = 1024;

/** What a worker thread needs to build its share of the model (see worker.ts). */
export interface WorkerSetup {
  config: ModelConfig;
  backend: BackendName;
  /** The shared heap: a wasm memory plan, or a SharedArrayBuffer for the js backend. */
  heap: { plan: WasmMemoryPlan } | { buffer: SharedArrayBuffer };
  floats: number;
  index: number;
  count: number;
  rowOffset: number;
  /** The whole batch (the loss is averaged over it). */
  batchSize: number;
  maxBatch: number;
  seqLength: number;
  control: SharedArrayBuffer;
  /** Per worker: inputs and targets [T·rows] each (Int32), its loss and Σ g² (Float64); see ioViews. */
  io: SharedArrayBuffer;
}

/** Bytes of the shared io buffer (see ioViews). */
function ioBytes(count: number, maxBatch: number, seqLength: number): number {
  return count * 2 * maxBatch * seqLength * 4 + (2 * count + 3) * 8;
}

/**
 * The shared io buffer as both sides read it: per worker its inputs and targets (maxBatch·T ints each),
 * then Float64s: per worker its loss, per worker its share's Σ g², and an Update's lr, step and scale.
 */
export function ioViews(io: SharedArrayBuffer, count: number, maxBatch: number, seqLength: number) {
  const ints = maxBatch * seqLength;
  const numbers = count * 2 * ints * 4; // a multiple of 8: the Float64s start here
  const intsOf = (w: number, which: 0 | 1) => new Int32Array(io, (2 * w + which) * ints * 4, ints);
  return {
    inputs: Array.from({ length: count }, (_, w) => intsOf(w, 0)),
    targets: Array.from({ length: count }, (_, w) => intsOf(w, 1)),
    losses: new Float64Array(io, numbers, count),
    sums: new Float64Array(io, numbers + count * 8, count),
    /** [lr, step, gradScale] of an Update. */
    update: new Float64Array(io, numbers + 2 * count * 8, 3),
  };
}

/**
 * The batch split into `threads` slices of contiguous streams. This thread runs slice 0 with the main
 * model; worker threads run the others with models over the same heap. The weights and optimizer
 * state exist once; each slice has its own gradients. After each step every thread sums a share of the
 * parameters' gradients into the main model's, and later applies the optimizer to that share.
 */
class DataParallel implements TrainingEngine {
  readonly model: Model;
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private readonly io: ReturnType<typeof ioViews>;
  private readonly failureMessage: Uint8Array;
  /** Set when a worker died or stopped answering: close() then ends the workers instead of asking them to. */
  private broken = false;

  constructor(private readonly o: EngineOptions) {
    const W = (this.threads = o.threads);
    const B = o.batchSize, T = o.seqLength;
    const maxBatch = Math.ceil(B / W);
    const floats = Model.heapFloats(o.config, maxBatch, T, W);
    let kernels: Kernels;
    let heap: WorkerSetup['heap'];
    if (o.backend === 'wasm') {
      const plan = createWasmMemory(floats, W);
      kernels = new WasmKernels(plan, floats, 0);
      heap = { plan };
    } else {
      const buffer = new SharedArrayBuffer(floats * 4);
      kernels = new JsKernels(new Float32Array(buffer));
      heap = { buffer };
    }
    this.model = new Model(o.config, { maxBatch, maxSteps: T, backend: o.backend, worker: { index: 0, count: W, rowOffset: 0, kernels } });

    const control = new SharedArrayBuffer(CONTROL_SLOTS * 4 + FAILURE_MESSAGE_BYTES);
    this.control = new Int32Array(control, 0, CONTROL_SLOTS);
    this.failureMessage = new Uint8Array(control, CONTROL_SLOTS * 4);
    const io = new SharedArrayBuffer(ioBytes(W, maxBatch, T));
    this.io = ioViews(io, W, maxBatch, T);
    for (let w = 1; w < W; w++) {
      const setup: WorkerSetup = {
        config: o.config, backend: o.backend, heap, floats, index: w, count: W, rowOffset: sliceOf(w, W, B).start,
        batchSize: B, maxBatch, seqLength: T, control, io,
      };
      const worker = new Worker(new URL('../../dist/train/worker.js', import.meta.url), { workerData: setup });
      // What went wrong reaches run() through the control array; the event must not end the process.
      worker.on('error', () => {});
      this.workers.push(worker);
    }
  }

  get maxBatch(): number {
    return this.o.batchSize;
  }

  get maxSteps(): number {
    return this.o.seqLength;
  }

  /** Runs a command on every worker thread and on this one, and waits for all of them. */
  private run(command: Command, here: () => void, dropout: DropoutKey | null = null, batch = this.o.batchSize, steps = this.o.seqLength): void {
    const c = this.control;
    Atomics.store(c, Slot.Done, 0);
    Atomics.store(c, Slot.Command, command);
    Atomics.store(c, Slot.Dropout, dropout ? 1 : 0);
    Atomics.store(c, Slot.Seed, dropout?.seed ?? 0);
    Atomics.store(c, Slot.Iteration, dropout?.iteration ?? 0);
    Atomics.store(c, Slot.Batch, batch);
    Atomics.store(c, Slot.Steps, steps);
    const issued = performance.now();
    Atomics.add(c, Slot.Sequence, 1);
    Atomics.notify(c, Slot.Sequence);
    here();
    const stallMs = STALL_SECONDS * 1000 + 30 * (performance.now() - issued);
    for (;;) {
      const done = Atomics.load(c, Slot.Done);
      if (done === this.workers.length) break;
      if (done > this.workers.length) throw new Error(`${done} answers to one command from ${this.workers.length} training threads`);
      if (Atomics.load(c, Slot.Gone) > 0) {
        this.broken = true;
        const reason = this.failure().split('\n')[0];
        throw new ThreadFailure(`a training thread ended unexpectedly${reason ? `: ${reason}` : ''}`);
      }
      const waited = Atomics.wait(c, Slot.Done, done, 1000) === 'timed-out' ? performance.now() - issued : 0;
      if (waited > stallMs) {
        this.broken = true;
        throw new ThreadFailure(`a training thread has not answered for ${Math.round(waited / 1000)} s and is taken for stuck`);
      }
    }
    if (Atomics.load(c, Slot.Failed) !== 0) {
      const text = this.failure();
      throw Object.assign(new Error(`a training thread failed: ${text.split('\n')[0]}`), { stack: text });
    }
  }

  /** What a worker that failed wrote: its error's stack. */
  private failure(): string {
    return new TextDecoder().decode(this.failureMessage.slice()).replace(/\0+$/, '');
  }

  /** This thread's share of `batch` streams (the training batch unless given). */
  private slice(w: number, batch = this.o.batchSize): { start: number; rows: number } {
    return sliceOf(w, this.threads, batch);
  }

  /** Gives every slice its streams' columns of a time-major [steps·batch] batch. */
  private shareOut(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): void {
    for (let w = 0; w < this.threads; w++) {
      const { start, rows } = this.slice(w, batch);
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < rows; b++) {
          this.io.inputs[w][t * rows + b] = inputs[t * batch + start + b];
          this.io.targets[w][t * rows + b] = targets[t * batch + start + b];
        }
      }
    }
  }

  lossAndGradients(inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): number {
    const B = this.o.batchSize, T = this.o.seqLength, scale = 1 / (B * T);
    this.shareOut(inputs, targets, T, B);
    const rows0 = this.slice(0).rows;
    this.run(Command.Step, () => {
      const m = this.model;
      m.zeroGradients();
      m.forward(this.io.inputs[0], T, rows0, dropout);
      this.io.losses[0] = m.loss(this.io.targets[0]);
      m.backward(this.io.inputs[0], this.io.targets[0], scale);
    }, dropout);
    this.run(Command.Reduce, () => {
      this.io.sums[0] = reduceShare(this.model, 0, this.threads);
    });
    let loss = 0;
    for (let w = 0; w < this.threads; w++) loss += this.io.losses[w];
    return loss;
  }

  gradientSumOfSquares(): number {
    let sum = 0;
    for (let w = 0; w < this.threads; w++) sum += this.io.sums[w];
    return sum;
  }

  update(optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
    this.io.update.set([lr, step, gradScale]);
    Atomics.store(this.control, Slot.Optimizer, OPTIMIZERS.indexOf(optimizer));
    this.run(Command.Update, () => updateShare(this.model, 0, this.threads, optimizer, lr, step, gradScale));
  }

  /** Evaluation: each thread scores its share of the `batch` streams (a thread may have none). */
  score(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): number {
    this.shareOut(inputs, targets, steps, batch);
    const rows0 = this.slice(0, batch).rows;
    this.run(Command.Score, () => {
      this.io.losses[0] = rows0 > 0 ? this.model.score(this.io.inputs[0], this.io.targets[0], steps, rows0) : 0;
    }, null, batch, steps);
    let loss = 0;
    for (let w = 0; w < this.threads; w++) loss += this.io.losses[w];
    return loss;
  }

  carryState(): void {
    this.run(Command.Carry, () => this.model.carryState());
  }

  resetState(batch = this.o.batchSize): void {
    this.run(Command.Reset, () => this.model.resetState(this.slice(0, batch).rows), null, batch);
  }

  /** The state blocks of every slice sit at the same place in each slice's arena. */
  private blocks(): number[] {
    return this.model.layers.flatMap((layer) => layer.states.map((s) => s.base));
  }

  saveState(): Float32Array[] {
    const H = this.o.config.hiddenSize, heap = this.model.k.heap;
    return this.blocks().map((base) => {
      const out = new Float32Array(this.o.batchSize * H);
      for (let w = 0; w < this.threads; w++) {
        const { start, rows } = this.slice(w), at = base + w * this.model.workerStride;
        out.set(heap.subarray(at, at + rows * H), start * H);
      }
      return out;
    });
  }

  restoreState(saved: readonly Float32Array[]): void {
    const H = this.o.config.hiddenSize, heap = this.model.k.heap;
    this.blocks().forEach((base, i) => {
      for (let w = 0; w < this.threads; w++) {
        const { start, rows } = this.slice(w);
        heap.set(saved[i].subarray(start * H, (start + rows) * H), base + w * this.model.workerStride);
      }
    });
  }

  async close(): Promise<void> {
    if (this.broken) {
      await Promise.all(this.workers.map((w) => w.terminate()));
      return;
    }
    Atomics.store(this.control, Slot.Command, Command.Exit);
    Atomics.add(this.control, Slot.Sequence, 1);
    Atomics.notify(this.control, Slot.Sequence);
    await Promise.all(this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}

export { CONTROL_SLOTS };
