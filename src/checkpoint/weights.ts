import { Model, type ModelOptions } from '../model/model.js';
import type { Checkpoint } from './format.js';

/** Loads the weights of a checkpoint into a model of the same shape. */
export function copyWeights(model: Model, ckpt: Checkpoint): void {
  for (const p of model.params) model.k.heap.set(ckpt.tensors.get(p.name)!.data, p.offset);
}

/** A model with the checkpoint's shape and weights, sized for the given batch and steps. */
export function modelFromCheckpoint(ckpt: Checkpoint, options: ModelOptions): Model {
  const model = new Model(ckpt.model, options);
  copyWeights(model, ckpt);
  return model;
}
