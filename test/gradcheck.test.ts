import { describe, expect, it } from 'vitest';
import { createKernels, type BackendName } from '../src/kernels/index.js';
import { nativeUnavailableReason } from '../src/kernels/native.js';
import { Arena, ParamTable } from '../src/model/layout.js';
import { Linear } from '../src/model/linear.js';
import { Model, type CellType, type ModelConfig } from '../src/model/model.js';
import { Rng } from '../src/util/rng.js';

/**
 * Numerical gradient checks: every analytic gradient is compared with a central difference of the loss.
 * The heap is float32, so the step is large-ish and the tolerance relative to the gradient's scale.
 * The model is checked on the reference kernels, then on the native ones (the system's BLAS and C),
 * which are skipped, saying why, where the addon is not built.
 */
const EPS = 1e-2;

function expectClose(analytic: number, numeric: number, scale: number, what: string): void {
  const err = Math.abs(analytic - numeric);
  if (err > 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic)) + 1e-3 * scale) {
    throw new Error(`${what}: analytic ${analytic} vs numeric ${numeric}`);
  }
}

function randomTokens(rng: Rng, n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

function checkModel(config: ModelConfig, steps: number, batch: number, backend: BackendName = 'js'): void {
  const model = new Model(config, { maxBatch: batch, maxSteps: steps, backend });
  const rng = new Rng(7);
  model.initialize(rng);
  // Biases get random values too, so that every bias gradient is exercised away from zero.
  for (const p of model.params) if (p.shape.length === 1) for (let i = 0; i < p.size; i++) model.k.heap[p.offset + i] += 0.3 * (rng.uniform() - 0.5);
  const inputs = randomTokens(rng, steps * batch, config.vocabSize);
  const targets = randomTokens(rng, steps * batch, config.vocabSize);

  // A first batch leaves a nonzero carried state, as in training.
  model.resetState(batch);
  model.forward(randomTokens(rng, steps * batch, config.vocabSize), steps, batch, null);
  model.carryState();
  const carried = model.saveState(batch);

  const dropoutSeed = 99;
  const lossAt = (): number => {
    model.restoreState(carried);
    model.forward(inputs, steps, batch, config.dropout > 0 ? { seed: dropoutSeed, iteration: 0 } : null);
    return model.loss(targets);
  };

  model.zeroGradients();
  lossAt();
  model.backward(inputs, targets, 1);
  const analytic = model.gradients.slice();

  const heap = model.k.heap;
  const pick = new Rng(3);
  for (const p of model.params) {
    const scale = Math.max(...Array.from(analytic.subarray(p.offset, p.offset + p.size), Math.abs));
    for (let trial = 0; trial < 12; trial++) {
      const i = p.offset + Math.floor(pick.uniform() * p.size);
      const saved = heap[i];
      heap[i] = saved + EPS;
      const plus = lossAt();
      heap[i] = saved - EPS;
      const minus = lossAt();
      heap[i] = saved;
      expectClose(analytic[i], (plus - minus) / (2 * EPS), scale, `${p.name}[${i - p.offset}]`);
    }
  }
}

describe('numerical gradient checks', () => {
  const cells: CellType[] = ['lstm', 'gru', 'rnn'];
  for (const cell of cells) {
    it(`one ${cell} layer with the decoder and softmax cross-entropy over 5 steps`, () => {
      checkModel({ cell, vocabSize: 7, hiddenSize: 6, layers: 1, dropout: 0 }, 5, 3);
    });

    it(`a whole 2-layer ${cell} model over 4 steps`, () => {
      checkModel({ cell, vocabSize: 5, hiddenSize: 5, layers: 2, dropout: 0 }, 4, 2);
    });
  }

  it('a 2-layer lstm with dropout between layers (fixed mask)', () => {
    checkModel({ cell: 'lstm', vocabSize: 6, hiddenSize: 5, layers: 2, dropout: 0.3 }, 4, 2);
  });

  it('the linear layer on its own: weights, bias and input', () => {
    const table = new ParamTable();
    const linear = new Linear(table, 'lin', 4, 3);
    const arena = new Arena(2 * table.size);
    const rows = 5;
    const x = arena.alloc(rows * 4), y = arena.alloc(rows * 3), dy = arena.alloc(rows * 3), dx = arena.alloc(rows * 4);
    const k = createKernels('js', arena.end);
    const rng = new Rng(11);
    for (let i = 0; i < table.size; i++) k.heap[i] = rng.uniform() - 0.5;
    for (let i = 0; i < rows * 4; i++) k.heap[x + i] = rng.uniform() - 0.5;
    // loss = Σ y ⊙ R for a fixed random R, so dy = R.
    const R = Float32Array.from({ length: rows * 3 }, () => rng.uniform() - 0.5);
    const lossAt = (): number => {
      linear.forward(k, rows, x, y);
      let sum = 0;
      for (let i = 0; i < rows * 3; i++) sum += k.heap[y + i] * R[i];
      return sum;
    };
    k.heap.set(R, dy);
    linear.backward(k, rows, x, dy, dx, table.size);
    const check = (offset: number, analytic: number, what: string) => {
      const saved = k.heap[offset];
      k.heap[offset] = saved + EPS;
      const plus = lossAt();
      k.heap[offset] = saved - EPS;
      const minus = lossAt();
      k.heap[offset] = saved;
      expectClose(analytic, (plus - minus) / (2 * EPS), 1, what);
    };
    for (const p of table.params) for (let i = 0; i < p.size; i++) check(p.offset + i, k.heap[table.size + p.offset + i], `${p.name}[${i}]`);
    for (let i = 0; i < rows * 4; i++) check(x + i, k.heap[dx + i], `x[${i}]`);
  });

  it('the gradient check itself notices a wrong gradient', () => {
    expect(() => expectClose(1.0, 1.5, 1, 'deliberately wrong')).toThrow(/deliberately wrong/);
  });
});

const nativeMissing = nativeUnavailableReason();

describe.skipIf(nativeMissing !== undefined)(`numerical gradient checks on the native backend${nativeMissing ? ` (skipped, the addon is not built: ${nativeMissing})` : ''}`, () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`a whole 2-layer ${cell} model over 4 steps`, () => {
      checkModel({ cell, vocabSize: 5, hiddenSize: 5, layers: 2, dropout: 0 }, 4, 2, 'native');
    });
  }

  it('a 2-layer lstm with dropout between layers (fixed mask)', () => {
    checkModel({ cell: 'lstm', vocabSize: 6, hiddenSize: 5, layers: 2, dropout: 0.3 }, 4, 2, 'native');
  });
});
