import { evalBatches } from '../data/batches.js';
import type { TokenArray } from '../data/vocab.js';
import type { Model } from '../model/model.js';

export interface Evaluation {
  /** Mean cross-entropy in nats per character. */
  loss: number;
  /** Characters scored. */
  chars: number;
}

/**
 * Cross-entropy of the model on a whole token array, read as contiguous streams with the state carried
 * from chunk to chunk, no dropout. The model's carried training state is put back afterwards.
 */
export function evaluate(model: Model, tokens: TokenArray, batchSize: number, seqLength: number): Evaluation {
  let total = 0;
  let chars = 0;
  let saved: Float32Array[] | null = null;
  let first = true;
  for (const { inputs, targets, steps, batchSize: batch } of evalBatches(tokens, Math.min(batchSize, model.maxBatch), Math.min(seqLength, model.maxSteps))) {
    if (first) {
      saved = model.saveState(model.maxBatch);
      model.resetState(batch);
      first = false;
    } else {
      model.carryState();
    }
    model.forward(inputs, steps, batch, null);
    total += model.loss(targets.subarray(0, steps * batch));
    chars += steps * batch;
  }
  if (saved) model.restoreState(saved);
  return { loss: chars > 0 ? total / chars : NaN, chars };
}
