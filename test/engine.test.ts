import { describe, expect, it } from 'vitest';
import type { BackendName } from '../src/kernels/index.js';
import { createEngine, type TrainingEngine } from '../src/train/engine.js';
import { Rng } from '../src/util/rng.js';

/**
 * The training engine's commands on one thread and on worker threads (which run the built
 * dist/train/worker.js: `npm test` builds it first).
 */
const BATCH = 5; // split 2 + 3 over two threads
const STEPS = 4;
const HIDDEN = 8;
const config = { cell: 'lstm' as const, vocabSize: 6, hiddenSize: HIDDEN, layers: 2, dropout: 0 };

async function withEngine(backend: BackendName, threads: number, use: (engine: TrainingEngine) => void): Promise<void> {
  const engine = createEngine({ config, batchSize: BATCH, seqLength: STEPS, backend, threads });
  try {
    expect(engine.threads).toBe(threads);
    use(engine);
  } finally {
    await engine.close();
  }
}

/** One training step from a fresh state, carried: every stream's state is then its own, and not zero. */
function stepAndCarry(engine: TrainingEngine): void {
  const rng = new Rng(5);
  engine.model.initialize(rng);
  engine.resetState();
  const tokens = () => Int32Array.from({ length: STEPS * BATCH }, () => Math.floor(rng.uniform() * config.vocabSize));
  engine.lossAndGradients(tokens(), tokens(), null);
  engine.carryState();
}

/** Stream `row` of a saved state block [BATCH, H]. */
const rowOf = (block: Float32Array, row: number) => Array.from(block.subarray(row * HIDDEN, (row + 1) * HIDDEN));

describe.each(['js', 'wasm'] as const)('the training engine on %s', (backend) => {
  it.each([1, 2])('resetRows zeroes h and c of every layer for just the streams named, with %i thread(s)', async (threads) => {
    await withEngine(backend, threads, (engine) => {
      stepAndCarry(engine);
      const before = engine.saveState();
      engine.resetRows([1, 4]); // one stream of each slice when there are two: rows 0-1 and 2-4
      const after = engine.saveState();
      expect(after).toHaveLength(2 * config.layers); // h and c per layer
      after.forEach((block, i) => {
        for (let row = 0; row < BATCH; row++) {
          if (row === 1 || row === 4) {
            expect(rowOf(before[i], row).some((v) => v !== 0), `block ${i} stream ${row} before`).toBe(true);
            expect(rowOf(block, row).every((v) => v === 0), `block ${i} stream ${row}`).toBe(true);
          } else {
            expect(rowOf(block, row), `block ${i} stream ${row}`).toEqual(rowOf(before[i], row));
          }
        }
      });
    });
  });

  it('resetRows refuses a stream outside the batch', async () => {
    await withEngine(backend, 2, (engine) => {
      expect(() => engine.resetRows([BATCH])).toThrow(/no stream 5 in a batch of 5/);
    });
  });
});
