import type { Kernels } from '../kernels/index.js';
import { hashKey, uniformAt } from '../util/rng.js';

/** Where a mask is drawn for: the key makes every value a function of the position, not of a stream. */
export interface MaskKey {
  seed: number;
  iteration: number;
  layer: number;
  steps: number;
  batch: number;
  /** The first row of `batch` within the whole batch, so workers draw the rows one thread would. */
  rowOffset: number;
  width: number;
}

/**
 * Inverted dropout: while training, each value is kept with probability 1−p and scaled by 1/(1−p), so
 * nothing changes at sampling time. Each mask value is a hash of (seed, iteration, layer, step, row,
 * column), so a resumed run and a run split over worker threads draw the same masks as one run.
 */
export class Dropout {
  constructor(readonly p: number) {}

  /** Fills mask [T, B, width] with 0 or 1/(1−p). */
  drawMask(heap: Float32Array, mask: number, key: MaskKey): void {
    const keep = 1 / (1 - this.p);
    let i = mask;
    for (let t = 0; t < key.steps; t++) {
      for (let b = 0; b < key.batch; b++) {
        const row = hashKey(key.seed, key.iteration, key.layer * 65536 + t, key.rowOffset + b);
        for (let j = 0; j < key.width; j++) heap[i++] = uniformAt(row, j) < this.p ? 0 : keep;
      }
    }
  }

  /** out = x ⊙ mask. */
  forward(k: Kernels, n: number, x: number, mask: number, out: number): void {
    k.heap.copyWithin(out, x, x + n);
    k.multiply(n, out, mask);
  }

  /** dx = dOut ⊙ mask, in place (the gradient buffer is the one the layer below reads). */
  backward(k: Kernels, n: number, dOut: number, mask: number): void {
    k.multiply(n, dOut, mask);
  }
}
