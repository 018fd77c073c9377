import type { BackendName } from '../kernels/index.js';
import type { WasmMemoryPlan } from '../kernels/wasm.js';
import type { DropoutKey, ModelConfig } from '../model/model.js';

/**
 * How the main thread and the data-parallel worker threads talk: through shared memory only. A control
 * array of Int32 slots (the command, its small arguments, the handshake, the counter threads claim
 * shards from), then room for a failed worker's message; and an io buffer (each shard's inputs and
 * targets, the numbers the shards answer with, an Update's numbers). The commands are in commands.ts.
 */

/** The commands, in the control array's Command slot. */
export const Command = { Step: 1, Reduce: 2, Update: 3, Score: 4, Exit: 5 } as const;
export type Command = (typeof Command)[keyof typeof Command];

/**
 * Slots of the control array (Int32). The main thread sets Done and Claimed to 0, the command and its
 * arguments, then adds one to Sequence; every thread then claims shards by adding one to Claimed (see
 * claimShard), and each worker answers by adding one to Done. A worker whose command fails sets Failed
 * and writes its message after the slots; a worker thread that ends, for whatever reason, adds one to
 * Gone. Dropout, Seed and Iteration are a Step's dropout key; Batch and Steps the size of a Score;
 * Optimizer the index in OPTIMIZERS of an Update (whose numbers are in the io buffer).
 */
export const Slot = {
  Sequence: 0, Done: 1, Command: 2, Dropout: 3, Seed: 4, Iteration: 5, Failed: 6, Batch: 7, Steps: 8, Optimizer: 9, Gone: 10, Claimed: 11,
} as const;
export const CONTROL_SLOTS = 12;
export const FAILURE_MESSAGE_BYTES = 1024;

/**
 * Sets a command going on the workers; its arguments are written before. The workers see Sequence move
 * (a wake-up alone means nothing, see awaitCommand), and answer by adding one to Done.
 */
export function announce(control: Int32Array, command: Command): void {
  Atomics.store(control, Slot.Done, 0);
  Atomics.store(control, Slot.Claimed, 0);
  Atomics.store(control, Slot.Command, command);
  Atomics.add(control, Slot.Sequence, 1);
  Atomics.notify(control, Slot.Sequence);
}

/** A worker's wait for the command after the one numbered `seen`: returns the new command's number. */
export function awaitCommand(control: Int32Array, seen: number): number {
  // The sequence, not the wake-up, says there is a new command. A wait can end with nothing new: when
  // this thread sees a new sequence before it sleeps, runs the command and sleeps again, the notify
  // that came with the command wakes it afterwards. Taking that wake-up for a command ran the last one
  // twice: a second answer hung the main thread, a second Reduce or Update would corrupt the weights.
  while (Atomics.load(control, Slot.Sequence) === seen) Atomics.wait(control, Slot.Sequence, seen);
  return Atomics.load(control, Slot.Sequence);
}

/**
 * The next shard of the current command no thread has taken yet (a number ≥ the shard count when all
 * are taken). Threads claim shards until none is left, so a thread that runs faster runs more of them;
 * which thread ran a shard changes nothing in its result, and the results are added in shard order.
 */
export function claimShard(control: Int32Array): number {
  return Atomics.add(control, Slot.Claimed, 1);
}

/** A worker's answer: it has run the command (or recorded why it failed). */
export function answer(control: Int32Array): void {
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}

/** What a worker thread needs to build its shards' models and to read its commands (see worker.ts). */
export interface WorkerSetup extends IoShape {
  config: ModelConfig;
  backend: BackendName;
  /** The shared heap: a wasm memory plan, or a SharedArrayBuffer for the js and native backends. */
  heap: { plan: WasmMemoryPlan } | { buffer: SharedArrayBuffer };
  floats: number;
  /** Which thread this is (0: the main thread): on wasm, whose scratch memory its kernels use. */
  index: number;
  /** The control array and the failure message (see controlViews). */
  control: SharedArrayBuffer;
  /** See ioViews. */
  io: SharedArrayBuffer;
}

/** What sizes the io buffer: `shards` shards, each with up to `maxBatch` of the `batchSize` training streams. */
export interface IoShape {
  shards: number;
  /** The whole training batch (the loss is averaged over it). */
  batchSize: number;
  maxBatch: number;
  seqLength: number;
}

/**
 * How many shards `threads` threads split a batch of `batchSize` streams into: a number fixed by the two,
 * whatever the timing, so that the result does not depend on which thread ran which shard. One shard per
 * thread: more shards would let a thread on a free core take more of the batch from one on a busy core,
 * but they make every per-step product smaller, and on the native backend 4 shards for 2 threads cost
 * more than they gained (see BENCHMARKS.md). With one shard per thread, a thread still takes the shard
 * of one that is slow to wake.
 */
export function shardCount(batchSize: number, threads: number): number {
  return Math.min(batchSize, threads);
}

/**
 * Shard `index` of `count`'s contiguous share of `batch` items (possibly none): the streams it runs, or
 * the parameters it reduces and updates.
 */
export function sliceOf(index: number, count: number, batch: number): { start: number; rows: number } {
  const start = Math.floor((index * batch) / count);
  return { start, rows: Math.floor(((index + 1) * batch) / count) - start };
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_SLOTS * 4 + FAILURE_MESSAGE_BYTES);
}

/** The control array and, after it, where a failed worker writes its error. */
export function controlViews(buffer: SharedArrayBuffer): { control: Int32Array; failureMessage: Uint8Array } {
  return { control: new Int32Array(buffer, 0, CONTROL_SLOTS), failureMessage: new Uint8Array(buffer, CONTROL_SLOTS * 4, FAILURE_MESSAGE_BYTES) };
}

export function writeFailure(failureMessage: Uint8Array, err: unknown): void {
  failureMessage.set(new TextEncoder().encode(String((err as Error)?.stack ?? err)).subarray(0, FAILURE_MESSAGE_BYTES));
}

/** What a worker that failed wrote: its error's stack ('' when none did). */
export function readFailure(failureMessage: Uint8Array): string {
  return new TextDecoder().decode(failureMessage.slice()).replace(/\0+$/, '');
}

export function writeDropout(control: Int32Array, dropout: DropoutKey | null): void {
  Atomics.store(control, Slot.Dropout, dropout ? 1 : 0);
  Atomics.store(control, Slot.Seed, dropout?.seed ?? 0);
  Atomics.store(control, Slot.Iteration, dropout?.iteration ?? 0);
}

export function readDropout(control: Int32Array): DropoutKey | null {
  if (!Atomics.load(control, Slot.Dropout)) return null;
  return { seed: Atomics.load(control, Slot.Seed) >>> 0, iteration: Atomics.load(control, Slot.Iteration) };
}

export function createIo(shape: IoShape): SharedArrayBuffer {
  return new SharedArrayBuffer(ioLayout(shape).bytes);
}

export type IoViews = ReturnType<typeof ioViews>;

/**
 * The io buffer as every thread reads it: per shard its inputs and targets (maxBatch·T ints each);
 * Float64s: per shard its loss, per share of the parameters its Σ g², an Update's lr, step and scale.
 */
export function ioViews(io: SharedArrayBuffer, shape: IoShape) {
  const { ints, numbers } = ioLayout(shape);
  const { shards } = shape;
  const intsOf = (s: number, which: 0 | 1) => new Int32Array(io, (2 * s + which) * ints * 4, ints);
  return {
    inputs: Array.from({ length: shards }, (_, s) => intsOf(s, 0)),
    targets: Array.from({ length: shards }, (_, s) => intsOf(s, 1)),
    losses: new Float64Array(io, numbers, shards),
    sums: new Float64Array(io, numbers + shards * 8, shards),
    /** [lr, step, gradScale] of an Update. */
    update: new Float64Array(io, numbers + 2 * shards * 8, 3),
  };
}

/** Byte offsets in the io buffer (see ioViews). */
function ioLayout({ shards, maxBatch, seqLength }: IoShape) {
  const ints = maxBatch * seqLength;
  const numbers = shards * 2 * ints * 4; // a multiple of 8: the Float64s start here
  return { ints, numbers, bytes: numbers + (2 * shards + 3) * 8 };
}
