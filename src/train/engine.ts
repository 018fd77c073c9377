import { Worker } from 'node:worker_threads';
import type { TrainingConfig } from '../checkpoint/format.js';
import type { BackendName } from '../kernels/index.js';
import { createWasmMemory } from '../kernels/wasm.js';
import { Model, type DropoutKey, type ModelConfig } from '../model/model.js';
import { RuntimeFailure } from '../util/errors.js';
import { ioColumns, runCommand, threadOf, type Columns, type Thread } from './commands.js';
import type { Scorer } from './evaluate.js';
import { clipScale, OPTIMIZERS, type OptimizerName } from './optimizer.js';
import {
  announce, Command, controlViews, createControl, createIo, ioViews, readFailure, shardCount, sliceOf, Slot, writeDropout,
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
  /** Zeroes the carried state (every layer's h, and c) of just these streams of the training batch, at once (no command). */
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
 * The batch split into shards of contiguous streams (data parallelism), shardCount of them, a number
 * fixed by the batch and the threads, not by timing. This thread and the worker threads share one heap,
 * where the weights and optimizer state exist once and each shard has its own gradients and arena (its
 * activations and carried state). A command's shards go to whichever thread claims them first, so a
 * thread slow to wake leaves its shard to another; the shards' losses and gradients are added in shard
 * order, and Update applies the optimizer share by share, so the weights do not depend on which thread
 * ran what.
 * Each step is three commands (Step, Reduce, Update), each waited for by this thread. What is only
 * memory, between commands, this thread does alone and at once, with no command: zeroing streams'
 * state, carrying it, saving and restoring it. With one thread there are no workers: this thread runs
 * the commands over one shard, the whole batch, on a heap of its own.
 */
class Engine implements TrainingEngine {
  readonly model: Model;
  readonly threads: number;
  private readonly here: Thread;
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private readonly io: IoViews;
  private readonly failureMessage: Uint8Array;
  /** The size of the last forward (a Step's or a Score's): what carryState carries. */
  private last = { steps: 0, batch: 0 };
  /** Set when a worker died or stopped answering: close() then ends the workers instead of asking them to. */
  private broken = false;

  constructor(private readonly o: EngineOptions) {
    const count = (this.threads = o.threads);
    const shards = shardCount(o.batchSize, count);
    const shape = { shards, batchSize: o.batchSize, maxBatch: Math.ceil(o.batchSize / shards), seqLength: o.seqLength };
    const control = createControl(), io = createIo(shape);
    ({ control: this.control, failureMessage: this.failureMessage } = controlViews(control));
    this.io = ioViews(io, shape);
    if (count === 1) {
      this.model = new Model(o.config, { maxBatch: o.batchSize, maxSteps: o.seqLength, backend: o.backend });
      this.here = { ...shape, models: [this.model], control: this.control, io: this.io };
      return;
    }
    const floats = Model.heapFloats(o.config, shape.maxBatch, o.seqLength, shards);
    const heap = o.backend === 'wasm' ? { plan: createWasmMemory(floats, count) } : { buffer: new SharedArrayBuffer(floats * 4) };
    const setup: WorkerSetup = { ...shape, config: o.config, backend: o.backend, heap, floats, index: 0, control, io };
    this.here = threadOf(setup);
    this.model = this.here.models[0];
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
   * all of them; `columns` are the shards' columns of the batch this thread reads.
   */
  private run(command: Command, columns: Columns = ioColumns(this.io)): void {
    const c = this.control;
    const issued = performance.now();
    announce(c, command);
    runCommand(this.here, command, columns);
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
   * Runs a forward command over a time-major [steps·batch] batch: each shard's columns of it go to the
   * io buffer, or with one shard the batch itself is its columns (no copy).
   */
  private runOver(command: Command, inputs: Int32Array, targets: Int32Array, steps: number, batch: number): void {
    this.last = { steps, batch };
    if (this.here.shards === 1) return this.run(command, () => [inputs, targets]);
    for (let s = 0; s < this.here.shards; s++) {
      const { start, rows } = this.sliceOf(s, batch);
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < rows; b++) {
          this.io.inputs[s][t * rows + b] = inputs[t * batch + start + b];
          this.io.targets[s][t * rows + b] = targets[t * batch + start + b];
        }
      }
    }
    this.run(command);
  }

  lossAndGradients(inputs: Int32Array, targets: Int32Array, dropout: DropoutKey | null): number {
    writeDropout(this.control, dropout);
    this.runOver(Command.Step, inputs, targets, this.o.seqLength, this.o.batchSize);
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

  /** Evaluation: each shard scores its share of the `batch` streams (a shard may have none). */
  score(inputs: Int32Array, targets: Int32Array, steps: number, batch: number): number {
    Atomics.store(this.control, Slot.Steps, steps);
    Atomics.store(this.control, Slot.Batch, batch);
    this.runOver(Command.Score, inputs, targets, steps, batch);
    return total(this.io.losses);
  }

  carryState(): void {
    const { steps, batch } = this.last;
    this.here.models.forEach((model, s) => model.carryState(steps, this.sliceOf(s, batch).rows));
  }

  resetState(batch = this.o.batchSize): void {
    this.here.models.forEach((model, s) => model.resetState(this.sliceOf(s, batch).rows));
  }

  resetRows(rows: readonly number[]): void {
    for (const row of rows) {
      if (!Number.isInteger(row) || row < 0 || row >= this.o.batchSize) throw new RangeError(`no stream ${row} in a batch of ${this.o.batchSize}`);
    }
    this.here.models.forEach((model, s) => {
      const { start, rows: count } = this.sliceOf(s, this.o.batchSize);
      for (const row of rows) if (row >= start && row < start + count) model.resetStateRow(row - start);
    });
  }

  /** The whole batch's carried state: per layer h (and c), each [batchSize, H] in stream order. */
  saveState(): Float32Array[] {
    const H = this.o.config.hiddenSize;
    const parts = this.here.models.map((model, s) => model.saveState(this.sliceOf(s, this.o.batchSize).rows));
    return parts[0].map((_, i) => {
      const out = new Float32Array(this.o.batchSize * H);
      parts.forEach((part, s) => out.set(part[i], this.sliceOf(s, this.o.batchSize).start * H));
      return out;
    });
  }

  restoreState(saved: readonly Float32Array[]): void {
    const H = this.o.config.hiddenSize;
    this.here.models.forEach((model, s) => {
      const { start, rows } = this.sliceOf(s, this.o.batchSize);
      model.restoreState(saved.map((block) => block.subarray(start * H, (start + rows) * H)));
    });
  }

  /** Shard `s`'s streams of a batch of `batch`. */
  private sliceOf(s: number, batch: number): { start: number; rows: number } {
    return sliceOf(s, this.here.shards, batch);
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

/** The shards' answers added up in shard order. */
function total(answers: Float64Array): number {
  let sum = 0;
  for (const answer of answers) sum += answer;
  return sum;
}
