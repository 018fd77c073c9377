import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseModel, computeWeights, recurrentWeights, type ChoiceInput } from '../src/train/autochoice.js';
import { SHARED_STEP_FLOPS, threadsFor } from '../src/train/threads.js';
import { budgetLr, defaultWarmup, horizonFromTime, newCycle } from '../src/train/schedule.js';
import { DEFAULT_CONFIG } from '../src/train/trainer.js';
import { charnn, expectSameWeights, jsonEvents, readJson, startCharnn, syntheticText, tempDir } from './helpers/cli.js';

/** A small explicit model, so that only the schedule is under test. */
const SMALL = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4'];

/**
 * The budget schedule as README describes it: linear warm-up, --lr, then over the last 30% a straight line
 * down to a tenth of --lr at the end.
 */
function expectedLr(peak: number, warmup: number, horizon: number, iteration: number): number {
  if (iteration <= warmup) return (peak * iteration) / warmup;
  const decay = 0.3 * (horizon - warmup);
  const progress = Math.max(0, (iteration - (horizon - decay)) / decay);
  return peak - (peak - peak / 10) * progress;
}

/** The learning rate of the step that ended at each iteration, from the --json iteration events. */
function lrByIteration(stdout: string): Map<number, number> {
  return new Map(jsonEvents(stdout).filter((e) => e.type === 'iteration').map((e) => [e.iteration, e.lr]));
}

let dir: string;

beforeAll(async () => {
  dir = tempDir('schedule');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
});

describe('the budget learning-rate schedule', () => {
  it('warms up, then decays to a tenth of --lr exactly at the end of --max-iters', async () => {
    const r = await charnn(['train', 'corpus.txt', ...SMALL, '--max-iters', '110', '--warmup', '10', '--eval-every', '5', '--lr', '0.004', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const start = jsonEvents(r.stdout)[0];
    expect(start.config).toMatchObject({ lrSchedule: 'budget', warmup: 10, autoChoice: null });
    const lr = lrByIteration(r.stdout);
    // Every evaluation (every 5 iterations) comes with an iteration event.
    for (let i = 5; i <= 110; i += 5) expect(lr.get(i), `iteration ${i}`).toBeCloseTo(expectedLr(0.004, 10, 110, i), 12);
    expect(lr.get(5)).toBeCloseTo(0.002, 12); // half-way through the warm-up
    expect(lr.get(10)).toBeCloseTo(0.004, 12); // the peak…
    expect(lr.get(80)).toBeCloseTo(0.004, 12); // …until the last 30% of the 100 iterations after warm-up
    expect(lr.get(95)).toBeCloseTo(0.0022, 12); // half-way down: (peak + floor) / 2
    expect(lr.get(110)).toBeCloseTo(0.0004, 12); // the floor, at the last iteration
    const ckpt = readJson(path.join(dir, 'checkpoints/corpus/latest.json'));
    expect(ckpt.training.schedule).toMatchObject({ start: 0, warmup: 10, horizon: 110, seconds: null });
  });

  it('is the default only with a budget: without one the learning rate is char-rnn\'s exponential decay', async () => {
    // --max-epochs is a budget; with none of the three, training keeps today's schedule (and default model).
    const budget = jsonEvents((await charnn(['train', 'corpus.txt', ...SMALL, '--max-epochs', '1', '--checkpoint-dir', 'epochs', '--json'], dir)).stdout);
    expect(budget[0].config.lrSchedule).toBe('budget');
    const horizon = readJson(path.join(dir, 'epochs/latest.json')).training.schedule.horizon;
    expect(horizon).toBe(budget[0].itersPerEpoch);
    const flag = jsonEvents((await charnn(['train', 'corpus.txt', ...SMALL, '--max-iters', '20', '--lr-schedule', 'constant', '--checkpoint-dir', 'constant', '--json'], dir)).stdout);
    expect(flag[0].config.lrSchedule).toBe('constant');
    expect(new Set(lrByIteration((await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'constant', '--max-iters', '40', '--eval-every', '10', '--json'], dir)).stdout).values())).toEqual(new Set([0.002]));
    expect(readJson(path.join(dir, 'constant/latest.json')).training.schedule).toBeNull();
  });

  it('continues exactly on --resume: interrupted and resumed equals one run, byte for byte', async () => {
    const common = ['corpus.txt', ...SMALL, '--layers', '2', '--dropout', '0.1', '--max-iters', '400', '--eval-every', '10', '--threads', '2', '--json'];
    const once = await charnn(['train', ...common, '--checkpoint-dir', 'once'], dir);
    expect(once.code, once.stderr).toBe(0);
    // Interrupt the same run after its first checkpoint (wherever it has got to by then), and resume it.
    const child = startCharnn(['train', ...common, '--checkpoint-dir', 'twice'], dir);
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"type":"checkpoint"')) resolve();
      });
      child.on('close', () => resolve());
    });
    child.kill('SIGINT');
    await new Promise((resolve) => child.on('close', resolve));
    const resumed = await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'twice', '--threads', '2', '--json'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const { a, b } = expectSameWeights(path.join(dir, 'once/latest.json'), path.join(dir, 'twice/latest.json'), 400);
    expect(b.training.schedule).toEqual(a.training.schedule);
    // The resumed run's learning rates are the single run's at the same iterations.
    const single = lrByIteration(once.stdout);
    for (const [i, lr] of lrByIteration(resumed.stdout)) if (i % 10 === 0) expect(lr, `iteration ${i}`).toBe(single.get(i));
  });

  it('a time budget is recorded as such, and the run ends by it (how many iterations that is depends on the machine)', async () => {
    // (So many epochs that the time ends the run on any machine.)
    const r = await charnn(['train', 'corpus.txt', ...SMALL, '--time-limit', '2s', '--max-epochs', '1000000', '--checkpoint-dir', 'timed', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'time-limit' });
    const schedule = readJson(path.join(dir, 'timed/latest.json')).training.schedule;
    expect(schedule).toMatchObject({ start: 0, from: 0, seconds: 2, iterationLimit: 1000000 * events[0].itersPerEpoch });
    // Whatever the speed, the rate never goes above --lr nor below its floor.
    for (const lr of lrByIteration(r.stdout).values()) expect(lr).toBeLessThanOrEqual(0.002);
    for (const lr of lrByIteration(r.stdout).values()) expect(lr).toBeGreaterThan(0);
    if (schedule.horizon !== null) expect(schedule.horizon).toBeGreaterThanOrEqual(events.at(-1).iteration);
  });

  it('a resume with a new budget starts a new cycle: back up to --lr, down to the floor at the new end', async () => {
    expect((await charnn(['train', 'corpus.txt', ...SMALL, '--max-iters', '40', '--checkpoint-dir', 'cycles'], dir)).code).toBe(0);
    const r = await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'cycles', '--max-iters', '100', '--warmup', '10', '--eval-every', '10', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const lr = lrByIteration(r.stdout);
    expect(lr.get(50)).toBeCloseTo(0.002, 12);
    expect(lr.get(100)).toBeCloseTo(0.0002, 12);
    expect(readJson(path.join(dir, 'cycles/latest.json')).training.schedule).toMatchObject({ start: 40, warmup: 10, horizon: 100 });
    // Resumed with the same budget, the cycle goes on: a finished run has nothing left to do.
    const again = jsonEvents((await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'cycles', '--max-iters', '100', '--json'], dir)).stdout);
    expect(again.at(-1)).toMatchObject({ type: 'done', reason: 'max-iters', iteration: 100 });
  });
});

describe('the automatic model choice', () => {
  it('picks the model for the corpus and the budget, says so on the first line, and records it', async () => {
    const r = await charnn(['train', 'corpus.txt', '--max-iters', '30', '--checkpoint-dir', 'auto'], dir);
    expect(r.code, r.stderr).toBe(0);
    const first = r.stderr.split('\n')[0];
    expect(first).toMatch(/^chose 2×\d+ LSTM, dropout [\d.]+, batch \d+, lr [\d.e-]+, for [\d.]+k characters and 30 iterations; give --layers\/--hidden\/--dropout to choose yourself$/);
    const ckpt = readJson(path.join(dir, 'auto/latest.json'));
    const choice = ckpt.config.autoChoice;
    expect(first).toBe(choice.message);
    expect(ckpt.model).toMatchObject({ layers: choice.layers, hiddenSize: choice.hiddenSize, dropout: choice.dropout });
    expect(ckpt.config).toMatchObject({ batchSize: choice.batchSize, lr: choice.lr });
    const chars = fs.readFileSync(path.join(dir, 'corpus.txt'), 'utf8').length;
    expect(choice).toMatchObject({ corpusChars: chars - Math.floor(chars * 0.1), vocabSize: ckpt.model.vocabSize, budgetChars: 30 * choice.batchSize * 64 });
  });

  it('for a time budget, measures the speed training reaches here first, and chooses for it', async () => {
    const r = await charnn(['train', 'corpus.txt', '--time-limit', '2s', '--threads', '1', '--checkpoint-dir', 'auto-time', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const choice = jsonEvents(r.stdout)[0].config.autoChoice;
    expect(choice.flops).toBeGreaterThan(0);
    expect(choice.message).toContain(`for ${choice.corpusChars / 1000}k characters and 2 seconds at ${Math.round(choice.flops / 1e9)} GFLOP/s; `);
    expect(readJson(path.join(dir, 'auto-time/latest.json')).config.autoChoice).toEqual(choice);
  });

  it('chooses one layer for a text with more distinct characters than units, and says so', async () => {
    // 300 distinct CJK characters, one of them far more frequent (a skewed text, as real ones are).
    let text = '';
    for (let i = 0; i < 20_000; i++) text += String.fromCodePoint(0x4e00 + (i % 7 === 0 ? (i * 7919) % 300 : i % 3));
    fs.writeFileSync(path.join(dir, 'cjk.txt'), text);
    const r = await charnn(['train', 'cjk.txt', '--max-iters', '20', '--checkpoint-dir', 'auto-cjk', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const start = jsonEvents(r.stdout)[0];
    expect(start.vocabSize).toBe(300);
    expect(start.model).toMatchObject({ layers: 1 });
    expect(start.config.autoChoice.message).toMatch(new RegExp(`^chose 1×${start.model.hiddenSize} LSTM`));
  });

  it('any flag the user gives wins; without a budget the defaults stay', async () => {
    const batch = jsonEvents((await charnn(['train', 'corpus.txt', '--max-iters', '5', '--batch-size', '4', '--checkpoint-dir', 'auto-batch', '--json'], dir)).stdout)[0];
    expect(batch.config.autoChoice).toMatchObject({ batchSize: 4 });
    expect(batch.config.batchSize).toBe(4);
    const lr = jsonEvents((await charnn(['train', 'corpus.txt', '--max-iters', '5', '--lr', '0.001', '--checkpoint-dir', 'auto-lr', '--json'], dir)).stdout)[0];
    expect(lr.config).toMatchObject({ lr: 0.001, autoChoice: { lr: 0.001 } });
    expect(lr.config.autoChoice.message).not.toMatch(/lr/);
    for (const flag of [['--hidden', '24'], ['--layers', '1'], ['--dropout', '0.1']]) {
      const start = jsonEvents((await charnn(['train', 'corpus.txt', '--max-iters', '2', ...flag, '--force', '--checkpoint-dir', 'mine', '--json'], dir)).stdout)[0];
      expect(start.config.autoChoice, flag[0]).toBeNull();
    }
    const child = startCharnn(['train', 'corpus.txt', '--checkpoint-dir', 'no-budget', '--json'], dir);
    return new Promise<void>((resolve) => {
      let stdout = '';
      child.stdout.on('data', (d) => {
        stdout += d;
        if (!stdout.includes('\n')) return;
        const start = JSON.parse(stdout.split('\n')[0]);
        expect(start.model).toMatchObject({ layers: 2, hiddenSize: 128, dropout: 0 });
        expect(start.config).toMatchObject({ autoChoice: null, lrSchedule: 'exp', batchSize: 32 });
        child.kill('SIGKILL');
        resolve();
      });
    });
  });
});

describe('the schedule and the choice as functions', () => {
  it('threads: auto is one thread for a step under SHARED_STEP_FLOPS, every core above; a number as given; a library caller one', () => {
    const model = (hiddenSize: number, layers = 1) => ({ cell: 'lstm' as const, layers, hiddenSize, vocabSize: 65 });
    const step = (m: ReturnType<typeof model>, batch: number, seq: number) => 6 * computeWeights(m.cell, m.layers, m.hiddenSize, m.vocabSize) * batch * seq;
    expect(step(model(16), 32, 64)).toBeLessThan(SHARED_STEP_FLOPS);
    expect(threadsFor('auto', model(16), 32, 64, 8)).toBe(1);
    expect(threadsFor('auto', model(128), 4, 16, 8)).toBe(1);
    expect(step(model(128, 2), 4, 16)).toBeGreaterThan(SHARED_STEP_FLOPS);
    expect(threadsFor('auto', model(128, 2), 4, 16, 8)).toBe(8);
    // Every size of the automatic choice shares its steps, the smallest included (1×128, batch 32×64).
    expect(threadsFor('auto', model(128), 32, 64, 2)).toBe(2);
    expect(threadsFor(3, model(16), 4, 16, 8)).toBe(3);
    expect(threadsFor(undefined, model(512, 2), 50, 50, 8)).toBe(1);
  });

  it('a time budget becomes the iterations that fit in the time left, evaluations included', async () => {
    // 0.1 s a step, an evaluation (1 s) every 100 steps: 100 steps take 11 s; 60 s left buys 5 such rounds
    // less the final evaluation: (60 − 1) / 0.11 = 536.
    expect(horizonFromTime({ iteration: 20, secondsLeft: 60, secondsPerStep: 0.1, secondsPerEval: 1, evalEvery: 100 })).toBe(20 + 536);
    expect(horizonFromTime({ iteration: 20, secondsLeft: 0.01, secondsPerStep: 0.1, secondsPerEval: 1, evalEvery: 100 })).toBe(21);
  });

  it('a new time budget warms up over its first 2% of the time and has no horizon until measured', async () => {
    const cycle = newCycle({ ...DEFAULT_CONFIG, timeLimit: 600, maxEpochs: 50 }, 100, 0, 0, 0);
    expect(cycle).toMatchObject({ horizon: null, warmup: null, seconds: 600, iterationLimit: 5000 });
    expect(budgetLr({ ...cycle, warmup: 20 }, 0.002, 40)).toBe(0.002); // at the peak until the horizon is known
    expect(defaultWarmup(100)).toBe(2);
    expect(defaultWarmup(1e6)).toBe(100);
  });

  it('the choice grows with the budget and the corpus, and gives dropout to many passes', async () => {
    const base: ChoiceInput = {
      cell: 'lstm', trainChars: 1_000_000, entropy: 3.3, vocabSize: 65, seqLength: 64, batchSize: null, lr: null, seconds: 600, maxIters: null, maxEpochs: 50, flops: 100e9,
    };
    const sizes = [60, 600, 3600, 36000].map((seconds) => chooseModel({ ...base, seconds }).hiddenSize);
    // Time at a given speed: twice the time equals twice the speed; a slower machine gets a narrower model.
    expect(chooseModel({ ...base, seconds: 1200 })).toMatchObject({ hiddenSize: chooseModel({ ...base, flops: 200e9 }).hiddenSize });
    expect(chooseModel({ ...base, flops: 20e9 }).hiddenSize).toBeLessThan(chooseModel(base).hiddenSize);
    expect(chooseModel({ ...base, seconds: null, maxIters: 100 })).toMatchObject({ flops: null });
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeGreaterThanOrEqual(sizes[i - 1]);
    expect(sizes[3]).toBeGreaterThan(sizes[0]);
    // A tiny text caps the model whatever the time (the default 50 epochs end the run first).
    expect(chooseModel({ ...base, trainChars: 20_000, seconds: 36000 }).hiddenSize).toBeLessThan(sizes[3]);
    // Many passes over a small text bring dropout.
    expect(chooseModel({ ...base, trainChars: 100_000, seconds: 3600 }).dropout).toBeGreaterThan(0);
    // A large vocabulary's output layer costs compute, so the same time buys a narrower model, of one layer
    // when the vocabulary outnumbers its units; a text that says more per character trains a wider one.
    const chinese = { ...base, vocabSize: 6000, entropy: 4.6, seconds: 120 };
    expect(chooseModel(base)).toMatchObject({ layers: 2 });
    expect(chooseModel(chinese)).toMatchObject({ layers: 1, hiddenSize: 128 });
    expect(chooseModel({ ...chinese, entropy: 3.3 }).hiddenSize).toBeLessThan(128);
    expect(chooseModel({ ...chinese, vocabSize: 100 })).toMatchObject({ layers: 2 });
    // English for 2 minutes: the Bible's 72 distinct characters get two layers, the fortunes' 112 one.
    const english = { ...base, trainChars: 1_800_000, entropy: 3.2, seconds: 120 };
    expect(chooseModel({ ...english, vocabSize: 72 })).toMatchObject({ layers: 2, hiddenSize: 128 });
    expect(chooseModel({ ...english, vocabSize: 112 })).toMatchObject({ layers: 1, hiddenSize: 128 });
    expect(chooseModel({ ...base, vocabSize: 4000 }).hiddenSize).toBeLessThanOrEqual(chooseModel(base).hiddenSize);
    expect(computeWeights('lstm', 2, 128, 4000)).toBeGreaterThan(computeWeights('lstm', 2, 128, 65));
    expect(recurrentWeights('lstm', 2, 128)).toBe(computeWeights('lstm', 2, 128, 65) - 128 * 65 - 65);
    // A corpus shorter than 32 streams of 8 batches gets fewer streams.
    expect(chooseModel({ ...base, trainChars: 5000 }).batchSize).toBe(9);
  });
});
