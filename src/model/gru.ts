import type { Kernels } from '../kernels/index.js';
import type { Arena, Param, ParamTable } from './layout.js';
import { declareCell, inputProduct, inputProductBackward, StateBlock, type LayerInput, type RecurrentLayer } from './recurrent.js';

/**
 * GRU with PyTorch's equations and fused gates [r | z | n]: Wx [I, 3H] with bias bx, Wh [H, 3H] with
 * its own bias bh (the reset gate multiplies the recurrent part of n, bias included, so the two
 * biases are not interchangeable).
 */
export class GruLayer implements RecurrentLayer {
  readonly wx: Param; readonly wh: Param; readonly bias: Param;
  readonly biasH: Param;
  readonly h: StateBlock;
  private gx = 0; // [T, B, 3H]: x·Wx + bx, then the activations [r | z | n]
  private gh = 0; // [T, B, 3H]: h_{t-1}·Wh + bh
  private dgx = 0; // [T, B, 3H]
  private dgh = 0; // [T, B, 3H]
  private dhDiscard = 0; // [B, H]: the gradient into the carried-in state, not used (truncated BPTT)
  private gradShift = 0;

  get states(): StateBlock[] {
    return [this.h];
  }

  constructor(table: ParamTable, prefix: string, readonly inputSize: number, readonly hiddenSize: number) {
    ({ wx: this.wx, wh: this.wh, bias: this.bias } = declareCell(table, prefix, inputSize, hiddenSize, 3 * hiddenSize));
    this.biasH = table.add(`${prefix}.bh`, [3 * hiddenSize]);
    this.h = new StateBlock(hiddenSize);
  }

  initialize(): void {}

  output(batch: number): number {
    return this.h.slot(1, batch);
  }

  allocate(arena: Arena, maxBatch: number, maxSteps: number, gradShift: number): void {
    const rows = maxBatch * maxSteps, G = 3 * this.hiddenSize;
    this.h.allocate(arena, maxBatch, maxSteps);
    this.gx = arena.alloc(rows * G);
    this.gh = arena.alloc(rows * G);
    this.dgx = arena.alloc(rows * G);
    this.dgh = arena.alloc(rows * G);
    this.dhDiscard = arena.alloc(maxBatch * this.hiddenSize);
    this.gradShift = gradShift;
  }

  forward(k: Kernels, steps: number, batch: number, input: LayerInput): void {
    const H = this.hiddenSize, G = 3 * H, B = batch;
    inputProduct(k, steps * B, this.inputSize, G, input, this.wx, this.bias, this.gx);
    for (let t = 0; t < steps; t++) {
      const gh = this.gh + t * B * G;
      // gh_t = bh + h_{t-1} · Wh    [B, H] · [H, 3H]
      k.fillRows(B, G, this.biasH.offset, gh);
      k.gemm(false, false, B, G, H, this.h.slot(t, B), H, this.wh.offset, G, gh, G, true);
      k.gruForward(B, H, this.gx + t * B * G, gh, this.h.slot(t, B), this.h.slot(t + 1, B));
    }
  }

  backward(k: Kernels, steps: number, batch: number, input: LayerInput, dOutput: number, dInput: number): void {
    const H = this.hiddenSize, G = 3 * H, B = batch;
    for (let t = steps - 1; t >= 0; t--) {
      const at = t * B * G;
      const dh = dOutput + t * B * H;
      const dhPrev = t > 0 ? dh - B * H : this.dhDiscard;
      k.gruBackward(B, H, this.gx + at, this.gh + at, this.h.slot(t, B), dh, dhPrev, this.dgx + at, this.dgh + at);
      // dh_{t-1} += dgh_t · Whᵀ
      if (t > 0) k.gemm(false, true, B, H, G, this.dgh + at, G, this.wh.offset, G, dhPrev, H, true);
    }
    // dWh += [h_0 … h_{T-1}]ᵀ · dgh and dbh += column sums of dgh, over all steps at once.
    k.gemm(true, false, H, G, steps * B, this.h.slot(0, B), H, this.dgh, G, this.wh.offset + this.gradShift, G, true);
    k.addColumnSums(steps * B, G, this.dgh, this.biasH.offset + this.gradShift);
    inputProductBackward(k, steps * B, this.inputSize, G, this.gradShift, input, this.wx, this.bias, this.dgx, dInput);
  }
}
