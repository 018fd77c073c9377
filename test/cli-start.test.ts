import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../src/train/trainer.js';
import { UsageError } from '../src/util/errors.js';
import { charnn, hasStackTrace, jsonEvents, readJson, syntheticText, tempDir } from './helpers/cli.js';

/** A tiny explicit model on one thread: only how a run starts and ends is under test. */
const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '10', '--threads', '1'];

let dir: string;

beforeAll(() => {
  dir = tempDir('start');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(8000));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('how a run starts', () => {
  it('--resume <file> refuses to roll back a folder whose run is ahead of the file, naming both, and leaves it as it was', async () => {
    expect((await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '20', '--checkpoint-dir', 'ahead'], dir)).code).toBe(0);
    fs.mkdirSync(path.join(dir, 'copy'));
    fs.copyFileSync(path.join(dir, 'ahead/latest.json'), path.join(dir, 'copy/model.json'));
    expect((await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '30', '--checkpoint-dir', 'ahead', '--threads', '1'], dir)).code).toBe(0);
    const before = fs.readFileSync(path.join(dir, 'ahead/latest.json'));

    const r = await charnn(['train', 'corpus.txt', '--resume', 'copy/model.json', '--checkpoint-dir', 'ahead', '--max-iters', '25', '--threads', '1'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ahead\/latest\.json is at iteration 30, ahead of copy\/model\.json \(iteration 20\).*roll.*back/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'ahead/latest.json')).equals(before)).toBe(true);
  });

  it('--resume <file> without --checkpoint-dir continues in the file\'s own folder', async () => {
    const r = await charnn(['train', 'corpus.txt', '--resume', 'copy/model.json', '--max-iters', '25', '--json', '--threads', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    expect(events[0]).toMatchObject({ type: 'start', checkpointDir: 'copy', resumedFrom: 'copy/model.json', iteration: 20 });
    expect(readJson(path.join(dir, 'copy/latest.json')).training.iteration).toBe(25);
    expect(readJson(path.join(dir, 'copy/model.json')).training.iteration).toBe(20);
    expect(readJson(path.join(dir, 'ahead/latest.json')).training.iteration).toBe(30);
  });

  it('--resume with --force is refused with one line (exit 2)', async () => {
    const r = await charnn(['train', 'corpus.txt', '--resume', '--force', '--checkpoint-dir', 'ahead'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--force starts a new run and --resume continues one; drop one of them/);
  });

  it('a library caller\'s options are checked against the same schema as the checkpoint loader, before anything is written', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ seed: -1 }, /--seed must be a whole number from 0 to 4294967295/],
      [{ optimizer: 'adagrad' }, /--optimizer must be one of: adam, rmsprop, sgd/],
      [{ forgetBias: Number.NaN }, /--forget-bias must be a number/],
      [{ valFrac: 0.9 }, /--val-frac must be between 0 and 0.5/],
    ];
    for (const [config, message] of bad) {
      const checkpointDir = path.join(dir, `lib-${Object.keys(config)[0]}`);
      const run = train({ corpusPath: path.join(dir, 'corpus.txt'), checkpointDir, config, backend: 'js' });
      await expect(run, JSON.stringify(config)).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(message);
      expect(fs.existsSync(path.join(checkpointDir, 'latest.json'))).toBe(false);
    }
  });
});

describe('where a run ends', () => {
  it('the progress shows the iteration budget as the last iteration', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '40', '--checkpoint-dir', 'iters', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const iterations = jsonEvents(r.stdout).filter((e) => e.type === 'iteration');
    expect(iterations.length).toBeGreaterThan(0);
    for (const e of iterations) expect(e.lastIteration).toBe(40);
  });

  it('a time budget shows the horizon it measured as the last iteration, never the epoch cap', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--time-limit', '4s', '--max-epochs', '1000', '--checkpoint-dir', 'timed', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    const start = events.find((e) => e.type === 'start');
    const epochCap = Math.ceil(start.config.maxEpochs * start.itersPerEpoch);
    const shown = events.filter((e) => e.type === 'iteration' && e.lastIteration !== null);
    expect(shown.length).toBeGreaterThan(0);
    for (const e of shown) {
      expect(e.lastIteration).toBeGreaterThanOrEqual(e.iteration);
      expect(e.lastIteration).toBeLessThan(epochCap);
    }
    expect(readJson(path.join(dir, 'timed/latest.json')).training.schedule.horizon).toBeGreaterThanOrEqual(shown.at(-1).iteration);
  });
});

describe('--fresh-state', () => {
  it('is recorded, changes the training (0 trains without resets), cannot change on resume, and is checked', async () => {
    const run = (folder: string, extra: string[]) => charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '20', '--checkpoint-dir', folder, ...extra], dir);
    expect((await run('fresh-default', [])).code).toBe(0);
    expect((await run('fresh-0', ['--fresh-state', '0'])).code).toBe(0);
    expect((await run('fresh-1', ['--fresh-state', '1'])).code).toBe(0);
    const [byDefault, none, always] = ['fresh-default', 'fresh-0', 'fresh-1'].map((f) => readJson(path.join(dir, f, 'latest.json')));
    expect(byDefault.config.freshState).toBe(1 / 32);
    expect(none.config.freshState).toBe(0);
    // Every stream zeroed before every batch learns from no context at all: other weights than none zeroed.
    expect(always.tensors['layer0.wh'].data).not.toBe(none.tensors['layer0.wh'].data);
    const resumed = await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'fresh-0', '--fresh-state', '0.5', '--max-iters', '30'], dir);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/--fresh-state cannot change when resuming \(the run uses 0\)/);
    const bad = await run('fresh-bad', ['--fresh-state', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fresh-state.*expected a number from 0 to 1/);
  });
});
