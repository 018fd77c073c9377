/**
 * Optimizers over the flat parameter array: one loop each. `weights`, `grads` and the two state arrays
 * share one layout (see src/model/layout.ts), so an optimizer never needs to know about layers.
 */
import { OPTIMIZERS } from '../checkpoint/names.js';

export { OPTIMIZERS };
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerArrays {
  weights: Float32Array;
  grads: Float32Array;
  /** Adam: first moment; RMSprop: running mean of squares; SGD: velocity. */
  state0: Float32Array;
  /** Adam: second moment. */
  state1: Float32Array;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;
const RMSPROP_DECAY = 0.95; // char-rnn's default
const RMSPROP_EPS = 1e-8;
const SGD_MOMENTUM = 0.9;

/**
 * One update, applied to `gradScale` × the gradients (the clipping factor). `step` counts updates from 1
 * (Adam's bias correction needs it). The state arrays start at zero and are saved in checkpoints, so a
 * resumed run continues exactly. The arrays may be any matching share of the parameters: each element's
 * update depends on that element alone.
 */
export function optimizerStep(name: OptimizerName, a: OptimizerArrays, lr: number, step: number, gradScale: number): void {
  const { weights: w, grads: g, state0: s0, state1: s1 } = a;
  const n = w.length;
  switch (name) {
    case 'adam': {
      // Bias corrections folded into the step size: lr·√(1−β2ᵗ)/(1−β1ᵗ).
      const stepSize = (lr * Math.sqrt(1 - ADAM_BETA2 ** step)) / (1 - ADAM_BETA1 ** step);
      const epsHat = ADAM_EPS * Math.sqrt(1 - ADAM_BETA2 ** step);
      for (let i = 0; i < n; i++) {
        const gi = g[i] * gradScale;
        const m = (s0[i] = ADAM_BETA1 * s0[i] + (1 - ADAM_BETA1) * gi);
        const v = (s1[i] = ADAM_BETA2 * s1[i] + (1 - ADAM_BETA2) * gi * gi);
        w[i] -= (stepSize * m) / (Math.sqrt(v) + epsHat);
      }
      return;
    }
    case 'rmsprop':
      for (let i = 0; i < n; i++) {
        const gi = g[i] * gradScale;
        const ms = (s0[i] = RMSPROP_DECAY * s0[i] + (1 - RMSPROP_DECAY) * gi * gi);
        w[i] -= (lr * gi) / (Math.sqrt(ms) + RMSPROP_EPS);
      }
      return;
    case 'sgd':
      for (let i = 0; i < n; i++) {
        const v = (s0[i] = SGD_MOMENTUM * s0[i] + g[i] * gradScale);
        w[i] -= lr * v;
      }
      return;
  }
}

/** Σ g² over a share of the gradients; the global norm is the square root of the shares' total. */
export function sumOfSquares(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  return sum;
}

/** The factor that brings gradients of global norm `norm` down to at most `maxNorm` (0: clipping off). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
}
