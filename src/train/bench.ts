import { DEFAULT_CONFIG } from '../checkpoint/options.js';
import { readCorpus } from '../data/corpus.js';
import { BatchStream } from '../data/batches.js';
import type { BackendName } from '../kernels/index.js';
import { Model, type CellType } from '../model/model.js';
import { Sampler } from '../sample/sampler.js';
import { Rng } from '../util/rng.js';
import { createEngine, trainingStep, type TrainingEngine } from './engine.js';
import { threadsFor, type Threads } from './threads.js';

export interface BenchOptions {
  corpusPath: string;
  cell: CellType;
  layers: number;
  hidden: number;
  batch: number;
  seq: number;
  /** Timed training steps, after TIMING.warmup untimed ones. */
  steps: number;
  backend: BackendName;
  threads: Threads;
}

/** One configuration's measurements, with the keys of ../shared/bench/torch_lstm.py where they match. */
export interface BenchResult {
  tool: 'charnn';
  backend: BackendName;
  threads: number;
  cell: CellType;
  layers: number;
  hidden: number;
  batch: number;
  seq: number;
  vocab: number;
  params: number;
  mode: 'throughput';
  /** Training characters per second: batch × seq over the median step time. */
  chars_per_s: number;
  step_ms: number;
  /** 6 × weights × characters per second. */
  gflops: number;
  train_loss: number;
  /** Sampling speed: one character at a time, batch 1. */
  sample_chars_per_s: number;
  /** Peak resident memory of the process so far. */
  peak_rss_mb: number;
}

/**
 * Untimed training steps first; sampling is timed in rounds of at least `sampleRoundMs`, after one
 * untimed round, and the median round counts.
 */
const TIMING = { warmup: 3, sampleRoundMs: 100, sampleRounds: 7 } as const;

/** Times real training steps (the trainer's own step) and sampling on a corpus. */
export async function benchmark(o: BenchOptions): Promise<BenchResult> {
  const { tokens, vocab } = await readCorpus([o.corpusPath]);
  const stream = new BatchStream(tokens, o.batch, o.seq);
  const config = { cell: o.cell, vocabSize: vocab.size, hiddenSize: o.hidden, layers: o.layers, dropout: 0 };
  const engine = createEngine({ config, batchSize: o.batch, seqLength: o.seq, backend: o.backend, threads: threadsFor(o.threads, config, o.batch, o.seq) });
  try {
    engine.model.initialize(new Rng(1));
    const { times, loss } = timeSteps(engine, o.batch, o.seq, TIMING.warmup, o.steps, (inputs, targets) => stream.next(inputs, targets));
    const stepMs = median(times);
    const charsPerSecond = (o.batch * o.seq) / (stepMs / 1000);

    const sampler = new Sampler({ model: modelForSampling(engine.model, config, o.backend), vocab }, { length: Infinity, seed: 1 });

    return {
      tool: 'charnn', backend: engine.model.k.name, threads: engine.threads, cell: o.cell, layers: o.layers, hidden: o.hidden,
      batch: o.batch, seq: o.seq, vocab: vocab.size, params: engine.model.paramCount, mode: 'throughput',
      chars_per_s: Math.round(charsPerSecond), step_ms: round(stepMs, 2),
      gflops: round((6 * engine.model.paramCount * charsPerSecond) / 1e9, 2), train_loss: round(loss, 4),
      sample_chars_per_s: Math.round(samplingSpeed(sampler.generate())),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await engine.close();
  }
}

/**
 * Real training steps (the trainer's own step, the state carried from one to the next) of an engine
 * whose weights are set: `warmup` untimed, then `steps` timed, in milliseconds. `next` fills each step's
 * batch and says whether the streams start over (their state is then zeroed, as in training).
 */
export function timeSteps(
  engine: TrainingEngine, batch: number, seq: number, warmup: number, steps: number,
  next: (inputs: Int32Array, targets: Int32Array) => boolean,
): { times: number[]; loss: number } {
  const inputs = new Int32Array(batch * seq), targets = new Int32Array(batch * seq);
  const stepConfig = { ...DEFAULT_CONFIG, batchSize: batch, seqLength: seq };
  const times: number[] = [];
  let loss = NaN;
  engine.resetState();
  for (let step = 1; step <= warmup + steps; step++) {
    const start = performance.now();
    if (next(inputs, targets)) engine.resetState();
    loss = trainingStep(engine, inputs, targets, null, stepConfig, stepConfig.lr, step).loss;
    engine.carryState();
    if (step > warmup) times.push(performance.now() - start);
  }
  return { times, loss };
}

/**
 * Characters per second of an endless sample: the median of TIMING.sampleRounds rounds of at least
 * TIMING.sampleRoundMs each, after one untimed round (the JIT's warm-up). One short run was too noisy: the
 * same code measured 65.6k and 99.0k chars/s at 1×128 on one day.
 */
function samplingSpeed(chars: Iterator<string>): number {
  const rates: number[] = [];
  for (let round = 0; round <= TIMING.sampleRounds; round++) {
    const start = performance.now();
    let count = 0, elapsed = 0;
    do {
      for (let i = 0; i < 16; i++) chars.next();
      count += 16;
      elapsed = performance.now() - start;
    } while (elapsed < TIMING.sampleRoundMs);
    if (round > 0) rates.push(count / (elapsed / 1000));
  }
  return median(rates);
}

/** A batch-1 copy of the trained weights, as the sampler uses. */
function modelForSampling(trained: Model, config: Model['config'], backend: BackendName): Model {
  const model = new Model(config, { maxBatch: 1, maxSteps: 1, backend });
  model.weights.set(trained.weights);
  return model;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
