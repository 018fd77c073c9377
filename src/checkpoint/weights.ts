import { Model, type ModelOptions } from '../model/model.js';
import { UsageError } from '../util/errors.js';
import { optimizerTensorName, stateTensorName, type Checkpoint, type Tensor, type TrainingConfig, type TrainingState } from './format.js';

/**
 * Below the smallest output bias of the known characters by this much (nats), a new character starts
 * out all but impossible: e^-10 ≈ 5·10⁻⁵ of the least likely known one's share, so the known characters'
 * predictions hardly move, while a gradient of the size of any other still teaches it within a few
 * hundred steps.
 */
const NEW_CHARACTER_BIAS_MARGIN = 10;

/**
 * Loads the weights of a checkpoint into a model of the same shape, or of the same shape but for a
 * vocabulary that is the checkpoint's with characters added at its end (fine-tuning onto a text with new
 * characters): the known characters keep their input rows and output columns; a new one keeps the input
 * row the model was initialised with, and gets an output column of zeros and a bias far below the known
 * ones.
 */
export function copyWeights(model: Model, ckpt: Checkpoint): void {
  const heap = model.k.heap;
  for (const p of model.params) {
    const { data: saved, shape } = ckpt.tensors.get(p.name)!;
    // Same shape, or [V, G] input rows whose known rows are a prefix: one copy. [H, V] output columns and
    // [V] biases: a prefix of every row.
    const columns = p.shape[p.shape.length - 1];
    const savedColumns = shape[shape.length - 1];
    if (savedColumns === columns) {
      heap.set(saved, p.offset);
      continue;
    }
    const rows = p.size / columns;
    const fill = p.shape.length === 1 ? saved.reduce((a, b) => Math.min(a, b), Infinity) - NEW_CHARACTER_BIAS_MARGIN : 0;
    for (let row = 0; row < rows; row++) {
      const at = p.offset + row * columns;
      heap.set(saved.subarray(row * savedColumns, (row + 1) * savedColumns), at);
      heap.fill(fill, at + savedColumns, at + columns);
    }
  }
}

/** A model with the checkpoint's shape and weights, sized for the given batch and steps. */
export function modelFromCheckpoint(ckpt: Checkpoint, options: ModelOptions): Model {
  const model = new Model(ckpt.model, options);
  copyWeights(model, ckpt);
  return model;
}

/** The hidden state tensors per layer: h, and c for an LSTM. */
const statesPerLayer = (model: Model): number => model.layers[0].states.length;

/**
 * A checkpoint of a training run: the weights, the optimizer state, the hidden state carried into the
 * next batch (`carried`: per layer, h then c, each [batch, hidden]) and where training stands.
 */
export function captureCheckpoint(model: Model, carried: readonly Float32Array[], vocab: readonly string[], config: TrainingConfig, state: TrainingState): Checkpoint {
  const tensors = new Map<string, Tensor>();
  const tensorsOf = (region: Float32Array, name: (param: string) => string) => {
    for (const p of model.params) tensors.set(name(p.name), { shape: [...p.shape], data: region.slice(p.offset, p.offset + p.size) });
  };
  tensorsOf(model.k.heap, (name) => name);
  for (const index of [0, 1] as const) tensorsOf(model.optimizerState(index), (name) => optimizerTensorName(index, name));
  const perLayer = statesPerLayer(model);
  carried.forEach((data, i) => {
    tensors.set(stateTensorName(Math.floor(i / perLayer), i % perLayer), { shape: [config.batchSize, model.config.hiddenSize], data });
  });
  return { model: model.config, vocab: [...vocab], config, training: structuredClone(state), tensors };
}

/**
 * Puts a training checkpoint back into a model: weights and optimizer state; returns the carried hidden
 * state (as captureCheckpoint takes it) for the engine to restore.
 */
export function restoreTraining(model: Model, ckpt: Checkpoint): Float32Array[] {
  copyWeights(model, ckpt);
  for (const index of [0, 1] as const) {
    const region = model.optimizerState(index);
    for (const p of model.params) {
      const t = ckpt.tensors.get(optimizerTensorName(index, p.name));
      if (!t || t.data.length !== p.size) throw new UsageError(`checkpoint has no optimizer state for ${p.name}; resume needs a checkpoint written by charnn train`);
      region.set(t.data, p.offset);
    }
  }
  const perLayer = statesPerLayer(model);
  return Array.from({ length: model.layers.length * perLayer }, (_, i) => {
    const t = ckpt.tensors.get(stateTensorName(Math.floor(i / perLayer), i % perLayer));
    if (!t || t.data.length !== ckpt.config.batchSize * model.config.hiddenSize) {
      throw new UsageError(`checkpoint has no hidden state for layer ${Math.floor(i / perLayer)}; resume needs a checkpoint written by charnn train`);
    }
    return t.data;
  });
}
