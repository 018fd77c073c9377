import type { Kernels } from '../kernels/index.js';
import type { Arena, Param, ParamTable } from './layout.js';

/**
 * What a recurrent layer reads: the first layer takes token indices (a one-hot input, so its input
 * product is a row gather of Wx), the layers above take the dense output of the layer below.
 * Either way the input covers `steps` time steps of `batch` rows, time-major: row t*batch + b.
 */
export type LayerInput = { tokens: Int32Array } | { offset: number };

/**
 * The contract every cell (LSTM, GRU, plain RNN) keeps. Activations are time-major [T, B, ·]; the
 * hidden states of a batch sit in one block hAll [(T+1), B, H] whose slot 0 is the state carried in
 * from the previous batch, so h_{t-1} for every step is one contiguous [T·B, H] matrix.
 */
export interface RecurrentLayer {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Offset of h_1 … h_T, the layer's output [T, B, H] (valid after forward). */
  output(batch: number): number;
  /** Sets initial values that are not random (the LSTM's forget-gate bias). */
  initialize(heap: Float32Array, forgetBias: number): void;
  /** Declares caches for up to `maxBatch` rows and `maxSteps` steps. `gradShift` maps a weight to its gradient. */
  allocate(arena: Arena, maxBatch: number, maxSteps: number, gradShift: number): void;
  /** The recurrent state: h, and c for the LSTM. Slot 0 of each is what the next forward starts from. */
  readonly states: readonly StateBlock[];
  forward(k: Kernels, steps: number, batch: number, input: LayerInput): void;
  /**
   * Backpropagates through the last forward. dOutput [T, B, H] holds the gradient into every h_t and is
   * used as scratch (the recurrent gradient is accumulated into it). Parameter gradients are ADDED to.
   * dInput [T, B, I] receives the gradient into a dense input (ignored for token input).
   */
  backward(k: Kernels, steps: number, batch: number, input: LayerInput, dOutput: number, dInput: number): void;
}

/**
 * A block of per-step states [(T+1), B, H] whose slot 0 holds the state carried in. Slot t is at
 * base + t·B·H for the batch size B of the current call.
 */
export class StateBlock {
  base = 0;
  constructor(readonly hiddenSize: number) {}

  allocate(arena: Arena, maxBatch: number, maxSteps: number): void {
    this.base = arena.alloc((maxSteps + 1) * maxBatch * this.hiddenSize);
  }

  slot(t: number, batch: number): number {
    return this.base + t * batch * this.hiddenSize;
  }

  reset(k: Kernels, batch: number): void {
    k.heap.fill(0, this.base, this.base + batch * this.hiddenSize);
  }

  /** Slot `steps` (the last state) becomes slot 0. */
  carry(k: Kernels, steps: number, batch: number): void {
    const from = this.slot(steps, batch);
    k.heap.copyWithin(this.base, from, from + batch * this.hiddenSize);
  }
}

/**
 * The input product every cell starts with, for all steps at once: out [T·B, G] = bias + input · Wx
 * (a row gather of Wx for token input).
 */
export function inputProduct(
  k: Kernels, rows: number, inputSize: number, gateWidth: number,
  input: LayerInput, wx: Param, bias: Param, out: number,
): void {
  k.fillRows(rows, gateWidth, bias.offset, out);
  if ('tokens' in input) k.gatherRows(rows, gateWidth, input.tokens, 0, wx.offset, out, true);
  else k.gemm(false, false, rows, gateWidth, inputSize, input.offset, inputSize, wx.offset, gateWidth, out, gateWidth, true);
}

/**
 * The gradient of inputProduct: dWx += inputᵀ · dGates (a scatter for token input), dBias += column sums,
 * and dInput = dGates · Wxᵀ for a dense input.
 */
export function inputProductBackward(
  k: Kernels, rows: number, inputSize: number, gateWidth: number, gradShift: number,
  input: LayerInput, wx: Param, bias: Param, dGates: number, dInput: number,
): void {
  k.addColumnSums(rows, gateWidth, dGates, bias.offset + gradShift);
  if ('tokens' in input) {
    k.scatterAddRows(rows, gateWidth, input.tokens, 0, dGates, wx.offset + gradShift);
  } else {
    k.gemm(true, false, inputSize, gateWidth, rows, input.offset, inputSize, dGates, gateWidth, wx.offset + gradShift, gateWidth, true);
    k.gemm(false, true, rows, inputSize, gateWidth, dGates, gateWidth, wx.offset, gateWidth, dInput, inputSize, false);
  }
}

/** Declares Wx [I, G], Wh [H, G] and a bias [G] under a layer's name prefix. */
export function declareCell(table: ParamTable, prefix: string, inputSize: number, hiddenSize: number, gateWidth: number) {
  return {
    wx: table.add(`${prefix}.wx`, [inputSize, gateWidth]),
    wh: table.add(`${prefix}.wh`, [hiddenSize, gateWidth]),
    bias: table.add(`${prefix}.b`, [gateWidth]),
  };
}
