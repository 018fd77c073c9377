import type { Kernels } from '../kernels/index.js';
import type { Rng } from '../util/rng.js';

/**
 * Inverted dropout: while training, each value is kept with probability 1−p and scaled by 1/(1−p), so
 * nothing changes at sampling time. The mask is drawn from the run's RNG (part of the checkpoint), which
 * keeps resumed runs exact.
 */
export class Dropout {
  constructor(readonly p: number) {}

  /** Fills mask [n] with 0 or 1/(1−p). */
  drawMask(heap: Float32Array, n: number, mask: number, rng: Rng): void {
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < n; i++) heap[mask + i] = rng.uniform() < this.p ? 0 : keep;
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
