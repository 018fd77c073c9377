import type { Checkpoint } from '../checkpoint/format.js';
import { modelFromCheckpoint } from '../checkpoint/weights.js';
import { Vocab } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import { SampleBatch, type FinishReason, type Piece, type RowOptions, type SampleRow } from '../sample/batch.js';

/** Who receives a row's pieces: a request, for one of its choices. */
export interface RowListener {
  /** The pieces choice `index` produced in this step; `finish` once it has ended. */
  deliver(index: number, pieces: Piece[], finish: FinishReason | null): void;
  /** Called once per step after every row of this listener was delivered (a streamed request makes its chunk). */
  flush(): void;
  /** Called once per turn of the event loop, after its steps: a streamed request writes the chunks they made (or soon). */
  send(): void;
  /** The step failed (a bug, never bad input): the listener's rows are gone and it must answer with the error. */
  fail(err: unknown): void;
}

interface Job {
  options: RowOptions;
  listener: RowListener;
  index: number;
  row: SampleRow | null;
}

/**
 * How long one turn of the event loop steps before it hands what its steps made to the requests and lets
 * the loop read requests and disconnects: a few ms keep a new request's wait for its first step far below
 * what anyone notices, and the loop's own cost per turn small beside the steps.
 */
const TURN_MS = 5;

/**
 * Connections the server has accepted so far: the server counts them, every model's scheduler reads it.
 * Node accepts one connection per turn of its event loop (libuv since 1.45), so clients that connect
 * together wait for as many turns: with TURN_MS of steps in each, the last of 32 new clients of a 2×256
 * model was accepted 155 ms after the first, and its first character came 164–200 ms after it asked
 * (on connections already open: 24 ms). So while connections keep coming, one a turn, the turns step
 * nothing and only accept, read and write, for at most ACCEPT_MS in a row.
 */
export interface Connections {
  accepted: number;
}

const ACCEPT_MS = 10;

/**
 * The rows of one model in flight: one SampleBatch, stepped as long as it has rows, for TURN_MS (or one
 * step, if a step takes longer; or until a row's first character) per turn of the event loop, so
 * requests are read and chunks written between turns. A request's rows join at the next step and leave
 * when they finish or are cancelled; past the batch's capacity they wait in order.
 */
export class Scheduler {
  readonly vocab: Vocab;
  private readonly batch: SampleBatch;
  private readonly waiting: Job[] = [];
  private readonly running = new Map<SampleRow, Job>();
  private looping = false;

  /** The connections accepted when the last turn began. */
  private seen: number;

  /** `acceptMs`: how long turns may go on only accepting (ACCEPT_MS; a test may change it). */
  constructor(ckpt: Checkpoint, maxRows: number, backend: BackendName, private readonly connections: Connections = { accepted: 0 }, private readonly acceptMs = ACCEPT_MS) {
    this.seen = connections.accepted;
    this.vocab = Vocab.fromChars(ckpt.vocab);
    this.batch = new SampleBatch(modelFromCheckpoint(ckpt, { maxBatch: maxRows, maxSteps: 1, backend }), this.vocab);
  }

  /** Rows in the batch and rows waiting for a place. */
  get load(): { rows: number; waiting: number } {
    return { rows: this.batch.size, waiting: this.waiting.length };
  }

  /** Queues rows for a listener (row i is its choice i); returns a function that cancels the ones not yet done. */
  submit(rows: readonly RowOptions[], listener: RowListener): () => void {
    const jobs = rows.map((options, index) => ({ options, listener, index, row: null }));
    this.waiting.push(...jobs);
    if (!this.looping) {
      this.looping = true;
      setImmediate(() => this.loop());
    }
    return () => {
      for (const job of jobs) {
        const at = this.waiting.indexOf(job);
        if (at >= 0) this.waiting.splice(at, 1);
        if (job.row) {
          this.batch.remove(job.row);
          this.running.delete(job.row);
        }
      }
    };
  }

  private async loop(): Promise<void> {
    try {
      let acceptingSince: number | null = null;
      while (this.busy) {
        // A connection came in since the last turn, so more may be waiting: this turn only lets the loop accept.
        if (this.connections.accepted !== this.seen) {
          this.seen = this.connections.accepted;
          acceptingSince ??= performance.now();
          if (performance.now() - acceptingSince < this.acceptMs) {
            await new Promise((resolve) => setImmediate(resolve));
            continue;
          }
        }
        acceptingSince = null;
        const turn = new Set<RowListener>();
        const start = performance.now();
        let first = false; // a row drew its first character: the turn ends so that it goes out at once
        do {
          const touched = new Set<RowListener>();
          this.admit(touched);
          for (const row of this.batch.step()) {
            const job = this.running.get(row);
            if (!job) continue; // cancelled during this step (its request ended)
            job.listener.deliver(job.index, row.take(), row.finishReason);
            touched.add(job.listener);
            first ||= row.generated === 1;
            if (row.done) this.running.delete(row);
          }
          for (const listener of touched) {
            listener.flush();
            turn.add(listener);
          }
        } while (this.busy && !first && performance.now() - start < TURN_MS);
        for (const listener of turn) listener.send();
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      // Every request in flight gets the error; the server and the next requests go on.
      const listeners = new Set([...this.waiting, ...this.running.values()].map((job) => job.listener));
      for (const row of this.running.keys()) this.batch.remove(row);
      this.waiting.length = 0;
      this.running.clear();
      for (const listener of listeners) listener.fail(err);
    } finally {
      this.looping = false;
    }
  }

  /** Whether rows are in the batch or waiting for a place. */
  private get busy(): boolean {
    return this.waiting.length > 0 || this.batch.size > 0;
  }

  /** Moves waiting rows into the batch while it has room; rows with nothing to step are delivered at once. */
  private admit(touched: Set<RowListener>): void {
    while (this.waiting.length > 0 && this.batch.size < this.batch.capacity) {
      const job = this.waiting.shift()!;
      const row = this.batch.add(job.options);
      touched.add(job.listener);
      if (row.done) {
        job.listener.deliver(job.index, row.take(), row.finishReason);
        continue;
      }
      job.row = row;
      this.running.set(row, job);
      // Echoed prime characters are there before the first step.
      const early = row.take();
      if (early.length > 0) job.listener.deliver(job.index, early, null);
    }
  }
}
