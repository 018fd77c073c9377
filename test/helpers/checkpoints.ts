import { DEFAULT_CONFIG } from '../../src/train/trainer.js';
import type { Checkpoint, Tensor } from '../../src/checkpoint/format.js';
import { describeParams, type ModelConfig } from '../../src/model/model.js';
import { Rng } from '../../src/util/rng.js';

/**
 * A checkpoint made by hand. With `decoderBias` and zero weights, the next-character distribution is
 * softmax(decoderBias) whatever came before, so tests know exactly what the sampler should draw from.
 * With `randomWeights`, the model is an arbitrary (untrained) network of the given shape.
 */
export function handMadeCheckpoint(vocab: string[], options: { decoderBias?: number[]; randomWeights?: number; model?: Partial<ModelConfig> } = {}): Checkpoint {
  const model: ModelConfig = { cell: 'lstm', vocabSize: vocab.length, hiddenSize: 8, layers: 1, dropout: 0, ...options.model };
  const rng = new Rng(9);
  const tensors = new Map<string, Tensor>();
  for (const p of describeParams(model)) {
    const data = new Float32Array(p.size);
    if (options.randomWeights) for (let i = 0; i < p.size; i++) data[i] = (2 * rng.uniform() - 1) * options.randomWeights;
    if (p.name === 'decoder.b' && options.decoderBias) data.set(options.decoderBias);
    tensors.set(p.name, { shape: [...p.shape], data });
  }
  return {
    model, vocab, config: DEFAULT_CONFIG, tensors,
    training: {
      iteration: 0, epoch: 0, cursor: 0, rng: [1, 2, 3, 4], lr: 0.002, schedule: null, optimizerSteps: 0, smoothLoss: null, bestValLoss: null,
      lastValLoss: null, seconds: 0, history: [], corpus: { name: 'hand-made', chars: 0, sha256: '' },
    },
  };
}
