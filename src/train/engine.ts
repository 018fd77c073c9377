import { Worker } from 'node:worker_threads';
import type { TrainingConfig } from '../checkpoint/format.js';
import type { BackendName } from '../kernels/index.js';
import { createWasmMemory } from '../kernels/wasm.js';
import { Model, type DropoutKey, type ModelConfig } from '../model/model.js';
import { RuntimeFailure } from '../util/errors.js';
import { runCommand, threadOf, type Thread } from './commands.js';
import type { Scorer } from './evaluate.js';
import { clipScale, OPTIMIZERS, type OptimizerName } from './optimizer.js';
import {
  announce, Command, controlViews, createControl, createIo, ioViews, readFailure, sliceOf, Slot, writeDropout,
  type IoViews, type WorkerSetup,
} from './protocol.js';

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
  /** Zeroes the carried state (every layer's h, and c) of just these streams of the training batch. */
  resetRows(rows: readonly number[]): void;
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

export interface EngineOptions {
  config: ModelConfig;
  batchSize: number;
  seqLength: number;
  backend: BackendName;
  threads: number;
}

export function createEngine(options: EngineOptions): TrainingEngine {
  return new Engine({ ...options, threads: Math.max(1, Math.min(options.threads, options.batchSize)) });
}

/**
 * The least time the main thread waits for the workers' answer to one command before it gives up on
 * them as stuck; 30 times what its own share of the command took is added (a step of a large model on
 * a loaded machine is slow, not stuck). CHARNN_STALL_SECONDS sets it (the fault tests make it short).
 */
const STALL_SECONDS = Number(process.env.CHARNN_STALL_SECONDS) || 60;

/** A worker thread that died or stopped answering: training cannot go on, and its weights are not to be saved. */
export class ThreadFailure extends RuntimeFailure {}

/**
 * The batch split into `threads` slices of contiguous streams (data parallelism). This thread runs
 * slice 0; worker threads run the others with models over the same heap. The weights and optimizer
 * state exist once; each slice has its own gradients. After each step every thread sums a share of the
 * parameters' gradients into the main model's, and later applies the optimizer to that share. Every
 * thread runs the same commands (commands.ts); with one thread there are no workers, and this thread
 * runs them over the whole batch on a heap of its own.
 */
class Engine implements TrainingEngine {
  readonly model: Model;
  readonly threads: number;
  private readonly here: Thread;
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private readonly io: IoViews;
  private readonly failureMessage: Uint8Array;
  /** Set when a worker died or stopped answering: close() then ends the workers instead of asking them to. */
  private broken = false;

  constructor(private readonly o: EngineOptions) {
    const count = (this.threads = o.threads);
    const shape = { count, batchSize: o.batchSize, maxBatch: Math.ceil(o.batchSize / count), seqLength: o.seqLength };
    const control = createControl(), io = createIo(shape);
    ({ control: this.control, failureMessage: this.failureMessage } = controlViews(control));
    this.io = ioViews(io, shape);
    if (count === 1) {
      this.model = new Model(o.config, { maxBatch: o.batchSize, maxSteps: o.seqLength, backend: o.backend });
      this.here = { ...shape, model: this.model, index: 0, control: this.control, io: this.io };
      return;
    }
    const floats = Model.heapFloats(o.config, shape.maxBatch, o.seqLength, count);
    const heap = o.backend === 'wasm' ? { plan: createWasmMemory(floats, count) } : { buffer: new SharedArrayBuffer(floats * 4) };
    const setup: WorkerSetup = { ...shape, config: o.config, backend: o.backend, heap, floats, index: 0, control, io };
    this.here = threadOf(setup);
    this.model = this.here.model;
    for (let index = 1; index < count; index++) {
      const worker = new Worker(new URL('../../dist/train/worker.js', import.meta.url), { workerData: { ...setup, index } });
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

  /**
   * Runs a command (its arguments written before) on every worker thread and on this one, and waits for
   * all of them. `inputs` and `targets` are this thread's columns of the batch.
   */
  private run(command: Command, inputs: Int32Array = this.io.inputs[0], targets: Int32Array = this.io.targets[0]): void {
    const c = this.control;
    const issued = performance.now();
    announce(c, command);
    runCommand(this.here, command, inputs, targets);
    const stallMs = STALL_SECONDS * 1000 + 30 * (performance.now() - issued);
    for (;;) {
      const done = Atomics.load(c, Slot.Done);
      if (done === this.workers.length) break;
      if (done > this.workers.length) throw new Error(`${done} answers to one command from ${this.workers.length} training threads`);
      if (Atomics.load(c, Slot.Gone) > 0) {
        this.broken = true;
        const reason = readFailure(this.failureMessage).split('\n')[0];
        throw new ThreadFailure(`a training thread ended unexpectedly${reason ? `: ${reason}` : ''}`);
      }
      const waited = Atomics.wait(c, Slot.Done, done, 1000) === 'timed-out' ? performance.now() - issued : 0;
      if (waited > stallMs) {
        this.broken = true;
        throw new ThreadFailure(`a training thread has not answered for ${Math.round(waited / 1000)} s and is taken for stuck`);
      }
    }
    if (Atomics.load(c, Slot.Failed) !== 0) {
      const text = readFailure(this.failureMessage);
      throw Object.assign(new Error(`a training thread failed: ${text.split('\n')[0]}`), { stack: text });
    }
  }

  /**
   * Gives every thread its streams' columns of a time-major [steps·batch] batch, and returns this
   * thread's: with one thread, the batch itself (no copy).
   */
  private shareOut(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): [Int32Array, Int32Array] {
    if (this.threads === 1) return [inputs, targets];
    for (let w = 0; w < this.threads; w++) {
      const { start, rows } = sliceOf(w, this.threads, batch);
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < rows; b++) {
          this.io.inputs[w][t * rows + b] = inputs[t * batch + start + b];
          this.io.targets[w][t * rows + b] = targets[t * batch + start + b];
        }
      }
    }
    return [this.io.inputs[0], this.io.targets[0]];
  }

  lossAndGradients(inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): number {
    writeDropout(this.control, dropout);
    this.run(Command.Step, ...this.shareOut(inputs, targets, this.o.seqLength, this.o.batchSize));
    this.run(Command.Reduce);
    return total(this.io.losses);
  }

  gradientSumOfSquares(): number {
    return total(this.io.sums);
  }

  update(optimizer: OptimizerName, lr: number, step: number, gradScale: number): void {
    this.io.update.set([lr, step, gradScale]);
    Atomics.store(this.control, Slot.Optimizer, OPTIMIZERS.indexOf(optimizer));
    this.run(Command.Update);
  }

  /** Evaluation: each thread scores its share of the `batch` streams (a thread may have none). */
  score(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): number {
    Atomics.store(this.control, Slot.Steps, steps);
    Atomics.store(this.control, Slot.Batch, batch);
    this.run(Command.Score, ...this.shareOut(inputs, targets, steps, batch));
    return total(this.io.losses);
  }

  carryState(): void {
    this.run(Command.Carry);
  }

  resetState(batch = this.o.batchSize): void {
    Atomics.store(this.control, Slot.Batch, batch);
    this.run(Command.Reset);
  }

  resetRows(rows: readonly number[]): void {
    if (rows.length === 0) return; // no command, no wait
    const mask = this.io.resetRows;
    mask.fill(0);
    for (const row of rows) {
      if (!Number.isInteger(row) || row < 0 || row >= mask.length) throw new RangeError(`no stream ${row} in a batch of ${mask.length}`);
      mask[row] = 1;
    }
    this.run(Command.ResetRows);
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
        const { start, rows } = sliceOf(w, this.threads, this.o.batchSize), at = base + w * this.model.workerStride;
        out.set(heap.subarray(at, at + rows * H), start * H);
      }
      return out;
    });
  }

  restoreState(saved: readonly Float32Array[]): void {
    const H = this.o.config.hiddenSize, heap = this.model.k.heap;
    this.blocks().forEach((base, i) => {
      for (let w = 0; w < this.threads; w++) {
        const { start, rows } = sliceOf(w, this.threads, this.o.batchSize);
        heap.set(saved[i].subarray(start * H, (start + rows) * H), base + w * this.model.workerStride);
      }
    });
  }

  async close(): Promise<void> {
    if (this.broken) {
      await Promise.all(this.workers.map((w) => w.terminate()));
      return;
    }
    announce(this.control, Command.Exit);
    await Promise.all(this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}

/** The threads' answers added up in thread order. */
function total(answers: Float64Array): number {
  let sum = 0;
  for (const answer of answers) sum += answer;
  return sum;
}
