import type { TrainingSample } from '../checkpoint/format.js';
import type { Vocab } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import { Model, type ModelConfig } from '../model/model.js';
import { Sampler } from '../sample/sampler.js';

/**
 * The samples a run records while training (`--sample-every`): always from the same start (a newline,
 * as `charnn sample` starts without a prime), temperature and seed, so they differ only by what the
 * model has learned. Each is what `charnn sample --checkpoint latest.json --temp 0.8 --length 300
 * --seed 1` prints from the checkpoint written at that evaluation.
 */
export const TRAINING_SAMPLE = { length: 300, temperature: 0.8, seed: 1 } as const;

/** At most this many samples are kept in the checkpoint (about 300 bytes each). */
export const MAX_SAMPLES = 24;

/**
 * Samples from a copy of the training weights on a model of its own (batch 1) with its own random
 * numbers: the training state, its RNG and its memory are never touched, so exact resume holds.
 */
export class TrainingSampler {
  private model: Model | null = null;

  constructor(private readonly config: ModelConfig, private readonly vocab: Vocab, private readonly backend: BackendName) {}

  /** A sample from these weights (the training model's weight region, in the same layout). */
  sample(weights: Float32Array): string {
    this.model ??= new Model(this.config, { maxBatch: 1, maxSteps: 1, backend: this.backend });
    this.model.weights.set(weights);
    const sampler = new Sampler({ model: this.model, vocab: this.vocab }, TRAINING_SAMPLE);
    return [...sampler.generate()].join('');
  }
}

/** Whether the evaluation at `iteration` records a sample: every `sampleEvery`-th evaluation, and the last one of a run. */
export function sampleDue(iteration: number, evalEvery: number, sampleEvery: number, last: boolean): boolean {
  if (sampleEvery === 0) return false;
  return last || (iteration % evalEvery === 0 && (iteration / evalEvery) % sampleEvery === 0);
}

/**
 * The samples with a new one added (replacing one recorded at the same iteration). Past MAX_SAMPLES,
 * the sample whose neighbours are closest together is dropped (never the first or the newest), so what
 * is kept stays spread evenly over the whole run.
 */
export function addSample(samples: readonly TrainingSample[], sample: TrainingSample): TrainingSample[] {
  const out = samples.filter((s) => s.iteration !== sample.iteration).concat(sample);
  while (out.length > MAX_SAMPLES) {
    let drop = 1;
    const span = (i: number) => out[i + 1].iteration - out[i - 1].iteration;
    for (let i = 2; i < out.length - 1; i++) if (span(i) < span(drop)) drop = i;
    out.splice(drop, 1);
  }
  return out;
}
