import { createKernels, defaultBackend, type BackendName, type Kernels } from '../kernels/index.js';
import type { Rng } from '../util/rng.js';
import { Dropout } from './dropout.js';
import { GruLayer } from './gru.js';
import { Arena, alignUp, ParamTable, type Param } from './layout.js';
import { Linear } from './linear.js';
import { DEFAULT_FORGET_BIAS, LstmLayer } from './lstm.js';
import type { LayerInput, RecurrentLayer } from './recurrent.js';
import { RnnLayer } from './rnn.js';

export type CellType = 'lstm' | 'gru' | 'rnn';
export const CELL_TYPES: readonly CellType[] = ['lstm', 'gru', 'rnn'];

/** The shape of a model: everything needed to rebuild it from a checkpoint. */
export interface ModelConfig {
  cell: CellType;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  /** Dropout probability on the output of every recurrent layer while training. */
  dropout: number;
}

export interface ModelOptions {
  /** The largest batch and number of steps a forward pass will see (the arena is sized for them). */
  maxBatch: number;
  maxSteps: number;
  /** Default: defaultBackend(). */
  backend?: BackendName;
  /**
   * For data-parallel training: this model runs shard `index` of the batch, all shards sharing one heap
   * (seen through `kernels`, sized by Model.heapFloats) that holds the weights and optimizer state once
   * and a gradient region and an arena per shard. `rowOffset` is the first of the batch rows it runs.
   */
  shard?: { index: number; rowOffset: number; kernels: Kernels };
}

/** Which dropout mask to use: a function of the run's seed, the iteration, the layer and the position. */
export interface DropoutKey {
  seed: number;
  iteration: number;
}

/** Offsets of the activations the model keeps beside its layers' own. */
interface Activations {
  dOutputs: number[]; // per layer [T, B, H]: gradient into its output
  masks: number[]; // per layer [T, B, H] when dropout is on
  dropped: number[]; // per layer: the layer's output after dropout
  logits: number; // [T·B, V]
}

function allocateActivations(config: ModelConfig, layers: RecurrentLayer[], arena: Arena, maxBatch: number, maxSteps: number, gradShift: number): Activations {
  const rows = maxBatch * maxSteps, H = config.hiddenSize;
  const acts: Activations = { dOutputs: [], masks: [], dropped: [], logits: 0 };
  for (const layer of layers) {
    layer.allocate(arena, maxBatch, maxSteps, gradShift);
    acts.dOutputs.push(arena.alloc(rows * H));
    if (config.dropout > 0) {
      acts.masks.push(arena.alloc(rows * H));
      acts.dropped.push(arena.alloc(rows * H));
    }
  }
  acts.logits = arena.alloc(rows * config.vocabSize);
  return acts;
}

const CELLS = { lstm: LstmLayer, gru: GruLayer, rnn: RnnLayer };

/** Builds the layers of a model, declaring their parameters in `table` (cheap: nothing is allocated). */
function declareLayers(config: ModelConfig, table: ParamTable): { layers: RecurrentLayer[]; decoder: Linear } {
  const { cell, vocabSize: V, hiddenSize: H } = config;
  const layers = Array.from({ length: config.layers }, (_, l) => new CELLS[cell](table, `layer${l}`, l === 0 ? V : H, H));
  return { layers, decoder: new Linear(table, 'decoder', H, V) };
}

/** The parameters a model of this shape has, by name, in checkpoint order. */
export function describeParams(config: ModelConfig): readonly Param[] {
  const table = new ParamTable();
  declareLayers(config, table);
  return table.params;
}

/**
 * tokens → L recurrent layers (dropout after each while training) → linear decoder → softmax
 * cross-entropy. The heap holds, in order: the weights [P], the optimizer's two state arrays [2P], then
 * per shard its gradients [P] (same layout as the weights) and its activation arena [A].
 */
export class Model {
  readonly k: Kernels;
  readonly table = new ParamTable();
  readonly layers: RecurrentLayer[];
  readonly decoder: Linear;
  readonly dropout: Dropout | null;
  /** Size of the padded parameter region. */
  readonly paramRegion: number;
  /** Where this model's gradients start: a weight at offset i has its gradient at i + gradientOffset. */
  readonly gradientOffset: number;
  readonly maxBatch: number;
  readonly maxSteps: number;
  /** The first batch row this model runs, within the whole batch (a data-parallel shard). */
  readonly rowOffset: number;

  private readonly acts: Activations;
  /** Floats from one data-parallel shard's gradients (and arena) to the next's on the shared heap. */
  readonly shardStride: number;
  private lastSteps = 0;
  private lastBatch = 0;
  private droppedOut = false; // whether the last forward applied dropout

  constructor(readonly config: ModelConfig, options: ModelOptions) {
    ({ layers: this.layers, decoder: this.decoder } = declareLayers(config, this.table));
    this.dropout = config.dropout > 0 ? new Dropout(config.dropout) : null;
    this.maxBatch = options.maxBatch;
    this.maxSteps = options.maxSteps;
    const { paramRegion: P, arenaSize: A } = Model.sizes(config, options.maxBatch, options.maxSteps);
    const shard = options.shard ?? { index: 0, rowOffset: 0, kernels: null };
    this.paramRegion = P;
    this.shardStride = P + A;
    this.rowOffset = shard.rowOffset;
    this.gradientOffset = this.gradientStart(shard.index);
    this.acts = allocateActivations(config, this.layers, new Arena(this.gradientOffset + P), options.maxBatch, options.maxSteps, this.gradientOffset);
    // A model that steps one character at a time samples (sample, serve, the samples of training and bench).
    this.k = shard.kernels ?? createKernels(options.backend ?? defaultBackend(), Model.heapFloats(config, options.maxBatch, options.maxSteps, 1), { sampling: options.maxSteps === 1 });
  }

  /** The padded parameter region P and the arena A of one shard (a dry run of the allocation). */
  static sizes(config: ModelConfig, maxBatch: number, maxSteps: number): { paramRegion: number; arenaSize: number } {
    const table = new ParamTable();
    const { layers } = declareLayers(config, table);
    const arena = new Arena(0);
    allocateActivations(config, layers, arena, maxBatch, maxSteps, 0);
    return { paramRegion: alignUp(table.size), arenaSize: arena.end };
  }

  /** Floats of heap for `shards` models of this shape sharing weights and optimizer state. */
  static heapFloats(config: ModelConfig, maxBatch: number, maxSteps: number, shards: number): number {
    const { paramRegion: P, arenaSize: A } = Model.sizes(config, maxBatch, maxSteps);
    return 3 * P + shards * (P + A);
  }

  get params(): readonly Param[] {
    return this.table.params;
  }

  /** Number of trainable weights. */
  get paramCount(): number {
    return this.table.count;
  }

  /** The weights as one array (a view into the heap, padding included). */
  get weights(): Float32Array {
    return this.k.heap.subarray(0, this.paramRegion);
  }

  get gradients(): Float32Array {
    return this.k.heap.subarray(this.gradientOffset, this.gradientOffset + this.paramRegion);
  }

  /** The gradients of data-parallel shard `index` on the shared heap (after a reduction, shard 0's hold the batch's). */
  gradientsOf(index: number): Float32Array {
    const start = this.gradientStart(index);
    return this.k.heap.subarray(start, start + this.paramRegion);
  }

  /** After the weights [P] and the optimizer state [2P], each shard has its gradients [P] and arena [A]. */
  private gradientStart(index: number): number {
    return 3 * this.paramRegion + index * this.shardStride;
  }

  /** Two more arrays of the parameters' layout for the optimizer (moments, velocities). */
  optimizerState(index: 0 | 1): Float32Array {
    const start = (1 + index) * this.paramRegion;
    return this.k.heap.subarray(start, start + this.paramRegion);
  }

  /** Weights uniform in ±1/√H (PyTorch's default for LSTM and Linear layers), zero biases, LSTM forget-gate biases `forgetBias`. */
  initialize(rng: Rng, forgetBias = DEFAULT_FORGET_BIAS): void {
    const heap = this.k.heap;
    const bound = 1 / Math.sqrt(this.config.hiddenSize);
    for (const p of this.params) {
      const isBias = p.shape.length === 1;
      for (let i = 0; i < p.size; i++) heap[p.offset + i] = isBias ? 0 : (2 * rng.uniform() - 1) * bound;
    }
    for (const layer of this.layers) layer.initialize(heap, forgetBias);
  }

  zeroGradients(): void {
    this.gradients.fill(0);
  }

  /** Zeroes the recurrent state of every layer (new epoch, new sample). */
  resetState(batch: number): void {
    for (const layer of this.layers) for (const s of layer.states) s.reset(this.k, batch);
  }

  /** Zeroes row `row` of the state the next forward starts from (every layer's h, and c): one stream starts afresh. */
  resetStateRow(row: number): void {
    const H = this.config.hiddenSize;
    for (const layer of this.layers) for (const s of layer.states) this.k.heap.fill(0, s.base + row * H, s.base + (row + 1) * H);
  }

  /**
   * Row r of the state the next forward starts from becomes a copy of row `from[r]`, read before any is
   * written (so rows may swap or repeat: a sample moved into a freed row, a beam's hypotheses forked).
   */
  selectStateRows(from: readonly number[]): void {
    const H = this.config.hiddenSize, heap = this.k.heap;
    const read = Math.max(...from) + 1;
    for (const layer of this.layers) {
      for (const s of layer.states) {
        const rows = heap.slice(s.base, s.base + read * H);
        from.forEach((row, r) => {
          if (row !== r) heap.set(rows.subarray(row * H, (row + 1) * H), s.base + r * H);
        });
      }
    }
  }

  /**
   * Carries the final state of the last forward into the next one. A shard's forward may have run on
   * another thread's model of it: then `steps` and `batch` say what that forward was.
   */
  carryState(steps = this.lastSteps, batch = this.lastBatch): void {
    for (const layer of this.layers) for (const s of layer.states) s.carry(this.k, steps, batch);
  }

  /** A copy of the state the next forward starts from: per layer h (and c), each [batch, H]. */
  saveState(batch = this.maxBatch): Float32Array[] {
    const H = this.config.hiddenSize;
    return this.layers.flatMap((layer) => layer.states.map((s) => this.k.heap.slice(s.base, s.base + batch * H)));
  }

  restoreState(saved: readonly Float32Array[]): void {
    const blocks = this.layers.flatMap((layer) => layer.states);
    blocks.forEach((s, i) => this.k.heap.set(saved[i], s.base));
  }

  /**
   * Runs `steps` time steps of `batch` streams; tokens are time-major [T·B]. With a dropout key,
   * dropout is applied (training); without, not (evaluation, sampling). Returns the offset of logits [T·B, V].
   */
  forward(tokens: Int32Array, steps: number, batch: number, dropoutKey: DropoutKey | null): number {
    const n = steps * batch * this.config.hiddenSize;
    const { masks, dropped, logits } = this.acts;
    this.lastSteps = steps;
    this.lastBatch = batch;
    this.droppedOut = this.dropout !== null && dropoutKey !== null;
    this.layers.forEach((layer, l) => {
      layer.forward(this.k, steps, batch, this.inputOf(l, tokens));
      if (this.dropout && dropoutKey) {
        this.dropout.drawMask(this.k.heap, masks[l], { ...dropoutKey, layer: l, steps, batch, rowOffset: this.rowOffset, width: this.config.hiddenSize });
        this.dropout.forward(this.k, n, layer.output(batch), masks[l], dropped[l]);
      }
    });
    this.decoder.forward(this.k, steps * batch, this.outputOf(this.layers.length - 1), logits);
    return logits;
  }

  /** Forward without dropout, then the summed cross-entropy (nats) against targets [steps·batch] (evaluation). */
  score(tokens: Int32Array, targets: Int32Array, steps: number, batch: number): number {
    this.forward(tokens, steps, batch, null);
    return this.loss(targets.subarray(0, steps * batch));
  }

  /** Summed cross-entropy (nats) of the last forward against targets [T·B]; logits become probabilities. */
  loss(targets: Int32Array): number {
    return this.k.softmaxCrossEntropy(this.lastSteps * this.lastBatch, this.config.vocabSize, this.acts.logits, targets, 0);
  }

  /**
   * Adds to the gradients the derivative of `scale` × the summed loss of the last forward and loss().
   * Call after loss() with the same targets.
   */
  backward(tokens: Int32Array, targets: Int32Array, scale: number): void {
    const { k, lastSteps: steps, lastBatch: batch } = this;
    const rows = steps * batch;
    const n = rows * this.config.hiddenSize;
    const { dOutputs, masks, logits } = this.acts;
    const top = this.layers.length - 1;
    k.softmaxCrossEntropyBackward(rows, this.config.vocabSize, logits, targets, 0, scale);
    this.decoder.backward(k, rows, this.outputOf(top), logits, dOutputs[top], this.gradientOffset);
    for (let l = top; l >= 0; l--) {
      if (this.droppedOut) this.dropout!.backward(k, n, dOutputs[l], masks[l]);
      this.layers[l].backward(k, steps, batch, this.inputOf(l, tokens), dOutputs[l], l > 0 ? dOutputs[l - 1] : 0);
    }
  }

  /** What layer l's output is to the layers above in the last forward: after dropout when it was applied. */
  private outputOf(l: number): number {
    return this.droppedOut ? this.acts.dropped[l] : this.layers[l].output(this.lastBatch);
  }

  private inputOf(l: number, tokens: Int32Array): LayerInput {
    return l === 0 ? { tokens } : { offset: this.outputOf(l - 1) };
  }
}
