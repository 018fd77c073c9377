import type { BackendName } from '../kernels/index.js';
import type { CellType } from '../model/model.js';
import { Rng } from '../util/rng.js';
import { computeWeights } from './autochoice.js';
import { timeSteps } from './bench.js';
import { createEngine } from './engine.js';
import { threadsFor, type Threads } from './threads.js';

/**
 * The speed model of the automatic choice, measured where it runs: this machine, this backend, these
 * threads, now. A fixed figure could not fit them all: the wasm kernels train at about 50 GFLOP/s a
 * thread on a processor with AVX-512 and at about 25 on this project's AMD EPYC, whose native backend
 * trains at about 50 (BENCHMARKS.md, "The depth on English texts, and a speed model measured where it runs").
 *
 * A probe model, two layers of PROBE_HIDDEN units with the corpus's vocabulary, trains PROBE_STEPS real
 * steps on the run's backend and threads after one untimed step; the fastest step counts (a step slowed by
 * something else on the machine is not the machine's speed). The answer is in the compute model's units:
 * 6 floating-point operations per compute weight per character. The reference kernels are not probed
 * (seconds a step at this size): they get a fixed figure.
 */
const PROBE_HIDDEN = 256;
const PROBE_BATCH = 32;
const PROBE_STEPS = 2;
const JS_FLOPS_PER_THREAD = 2e9;

export interface ProbeInput {
  cell: CellType;
  vocabSize: number;
  seqLength: number;
  backend: BackendName;
  /** The run's threads, resolved for the probe's own size (threads.ts). */
  threads: Threads | undefined;
}

/** Floating-point operations per second that training reaches here (6 × compute weights × characters/s). */
export async function measureTrainingRate(o: ProbeInput): Promise<number> {
  const config = { cell: o.cell, vocabSize: o.vocabSize, hiddenSize: PROBE_HIDDEN, layers: 2, dropout: 0 };
  const threads = threadsFor(o.threads, config, PROBE_BATCH, o.seqLength);
  if (o.backend === 'js') return JS_FLOPS_PER_THREAD * threads;
  const engine = createEngine({ config, batchSize: PROBE_BATCH, seqLength: o.seqLength, backend: o.backend, threads });
  try {
    const rng = new Rng(1);
    engine.model.initialize(rng);
    const { times } = timeSteps(engine, PROBE_BATCH, o.seqLength, 1, PROBE_STEPS, (inputs, targets) => {
      for (let i = 0; i < inputs.length; i++) {
        inputs[i] = rng.nextUint32() % o.vocabSize;
        targets[i] = rng.nextUint32() % o.vocabSize;
      }
      return false;
    });
    return (6 * computeWeights(o.cell, 2, PROBE_HIDDEN, o.vocabSize) * PROBE_BATCH * o.seqLength) / (Math.min(...times) / 1000);
  } finally {
    await engine.close();
  }
}
