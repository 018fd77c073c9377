import type { Kernels } from '../kernels/index.js';
import type { Arena, Param, ParamTable } from './layout.js';
import { declareCell, inputProduct, inputProductBackward, StateBlock, type LayerInput, type RecurrentLayer } from './recurrent.js';

/**
 * The LSTM forget gates' initial bias (`train --forget-bias` overrides it). char-rnn, torch-rnn and
 * DESIGN.md use 1; with the state carried across a whole epoch that made many cells saturate into
 * constants, and 0 learned faster and better on both corpora we measured (BENCHMARKS.md).
 */
export const DEFAULT_FORGET_BIAS = 0;

/**
 * LSTM with fused gates: one Wx [I, 4H], one Wh [H, 4H], one bias [4H]; a gate row is [i | f | o | g]
 * (the order is fixed in src/kernels/kernels.ts). Per batch: one input GEMM for all steps, then per
 * step one recurrent GEMM and the fused cell kernel.
 */
export class LstmLayer implements RecurrentLayer {
  readonly wx: Param; readonly wh: Param; readonly bias: Param;
  readonly h: StateBlock;
  readonly c: StateBlock;
  private tanhC = 0; // [T, B, H]
  private gates = 0; // [T, B, 4H], squashed activations after forward
  private dGates = 0; // [T, B, 4H]
  private dc = 0; // [B, H], gradient into the cell state flowing backward in time
  private gradShift = 0;

  get states(): StateBlock[] {
    return [this.h, this.c];
  }

  constructor(table: ParamTable, prefix: string, readonly inputSize: number, readonly hiddenSize: number) {
    ({ wx: this.wx, wh: this.wh, bias: this.bias } = declareCell(table, prefix, inputSize, hiddenSize, 4 * hiddenSize));
    this.h = new StateBlock(hiddenSize);
    this.c = new StateBlock(hiddenSize);
  }

  /** Sets the forget-gate biases to `forgetBias`; a positive one makes cells keep more of their state from the start. */
  initialize(heap: Float32Array, forgetBias: number): void {
    const H = this.hiddenSize;
    heap.fill(forgetBias, this.bias.offset + H, this.bias.offset + 2 * H);
  }

  output(batch: number): number {
    return this.h.slot(1, batch);
  }

  allocate(arena: Arena, maxBatch: number, maxSteps: number, gradShift: number): void {
    const H = this.hiddenSize;
    const rows = maxBatch * maxSteps;
    this.h.allocate(arena, maxBatch, maxSteps);
    this.c.allocate(arena, maxBatch, maxSteps);
    this.tanhC = arena.alloc(rows * H);
    this.gates = arena.alloc(rows * 4 * H);
    this.dGates = arena.alloc(rows * 4 * H);
    this.dc = arena.alloc(maxBatch * H);
    this.gradShift = gradShift;
  }

  forward(k: Kernels, steps: number, batch: number, input: LayerInput): void {
    const H = this.hiddenSize, G = 4 * H, B = batch;
    inputProduct(k, steps * B, this.inputSize, G, input, this.wx, this.bias, this.gates);
    for (let t = 0; t < steps; t++) {
      const gates = this.gates + t * B * G;
      // gates_t += h_{t-1} · Wh    [B, H] · [H, 4H]
      k.gemm(false, false, B, G, H, this.h.slot(t, B), H, this.wh.offset, G, gates, G, true);
      k.lstmForward(B, H, gates, this.c.slot(t, B), this.c.slot(t + 1, B), this.tanhC + t * B * H, this.h.slot(t + 1, B));
    }
  }

  backward(k: Kernels, steps: number, batch: number, input: LayerInput, dOutput: number, dInput: number): void {
    const H = this.hiddenSize, G = 4 * H, B = batch;
    k.heap.fill(0, this.dc, this.dc + B * H);
    for (let t = steps - 1; t >= 0; t--) {
      const dGates = this.dGates + t * B * G;
      const dh = dOutput + t * B * H;
      k.lstmBackward(B, H, this.gates + t * B * G, this.c.slot(t, B), this.tanhC + t * B * H, dh, this.dc, dGates);
      // dh_{t-1} += dGates_t · Whᵀ; the gradient into the carried-in state is not needed (truncated BPTT).
      if (t > 0) k.gemm(false, true, B, H, G, dGates, G, this.wh.offset, G, dh - B * H, H, true);
    }
    // dWh += [h_0 … h_{T-1}]ᵀ · dGates, one GEMM over all steps.
    k.gemm(true, false, H, G, steps * B, this.h.slot(0, B), H, this.dGates, G, this.wh.offset + this.gradShift, G, true);
    inputProductBackward(k, steps * B, this.inputSize, G, this.gradShift, input, this.wx, this.bias, this.dGates, dInput);
  }
}
