import type { Kernels } from '../kernels/index.js';
import type { Arena, Param, ParamTable } from './layout.js';
import { declareCell, inputProduct, inputProductBackward, StateBlock, type LayerInput, type RecurrentLayer } from './recurrent.js';

/** The plain (Elman) RNN: h_t = tanh(x_t·Wx + h_{t-1}·Wh + b). */
export class RnnLayer implements RecurrentLayer {
  readonly wx: Param; readonly wh: Param; readonly bias: Param;
  readonly h: StateBlock;
  private dPre = 0; // [T, B, H]: gradient of the pre-activations
  private gradShift = 0;

  get states(): StateBlock[] {
    return [this.h];
  }

  constructor(table: ParamTable, prefix: string, readonly inputSize: number, readonly hiddenSize: number) {
    ({ wx: this.wx, wh: this.wh, bias: this.bias } = declareCell(table, prefix, inputSize, hiddenSize, hiddenSize));
    this.h = new StateBlock(hiddenSize);
  }

  initialize(): void {}

  output(batch: number): number {
    return this.h.slot(1, batch);
  }

  allocate(arena: Arena, maxBatch: number, maxSteps: number, gradShift: number): void {
    this.h.allocate(arena, maxBatch, maxSteps);
    this.dPre = arena.alloc(maxBatch * maxSteps * this.hiddenSize);
    this.gradShift = gradShift;
  }

  forward(k: Kernels, steps: number, batch: number, input: LayerInput): void {
    const H = this.hiddenSize, B = batch;
    // The pre-activations of all steps are built in place in h_1 … h_T.
    inputProduct(k, steps * B, this.inputSize, H, input, this.wx, this.bias, this.h.slot(1, B));
    for (let t = 0; t < steps; t++) {
      const h = this.h.slot(t + 1, B);
      k.gemm(false, false, B, H, H, this.h.slot(t, B), H, this.wh.offset, H, h, H, true);
      k.tanhForward(B * H, h);
    }
  }

  backward(k: Kernels, steps: number, batch: number, input: LayerInput, dOutput: number, dInput: number): void {
    const H = this.hiddenSize, B = batch;
    for (let t = steps - 1; t >= 0; t--) {
      const dPre = this.dPre + t * B * H;
      const dh = dOutput + t * B * H;
      k.tanhBackward(B * H, this.h.slot(t + 1, B), dh, dPre);
      if (t > 0) k.gemm(false, true, B, H, H, dPre, H, this.wh.offset, H, dh - B * H, H, true);
    }
    k.gemm(true, false, H, H, steps * B, this.h.slot(0, B), H, this.dPre, H, this.wh.offset + this.gradShift, H, true);
    inputProductBackward(k, steps * B, this.inputSize, H, this.gradShift, input, this.wx, this.bias, this.dPre, dInput);
  }
}
