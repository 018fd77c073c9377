import type { Kernels } from '../kernels/index.js';
import type { Param, ParamTable } from './layout.js';

/** The decoder from hidden state to logits: y [N, O] = x [N, I] · W [I, O] + b [O]. */
export class Linear {
  readonly w: Param;
  readonly bias: Param;

  constructor(table: ParamTable, prefix: string, readonly inputSize: number, readonly outputSize: number) {
    this.w = table.add(`${prefix}.w`, [inputSize, outputSize]);
    this.bias = table.add(`${prefix}.b`, [outputSize]);
  }

  forward(k: Kernels, rows: number, x: number, y: number): void {
    const I = this.inputSize, O = this.outputSize;
    k.fillRows(rows, O, this.bias.offset, y);
    k.gemm(false, false, rows, O, I, x, I, this.w.offset, O, y, O, true);
  }

  /** dW += xᵀ·dy, db += Σ dy, dx = dy·Wᵀ. */
  backward(k: Kernels, rows: number, x: number, dy: number, dx: number, gradShift: number): void {
    const I = this.inputSize, O = this.outputSize;
    k.gemm(true, false, I, O, rows, x, I, dy, O, this.w.offset + gradShift, O, true);
    k.addColumnSums(rows, O, dy, this.bias.offset + gradShift);
    k.gemm(false, true, rows, I, O, dy, O, this.w.offset, O, dx, I, false);
  }
}
