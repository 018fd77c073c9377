import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { charnn, hasStackTrace, readJson, syntheticText, tempDir } from './helpers/cli.js';

/**
 * Every field of a checkpoint is checked when it is loaded: a damaged or edited checkpoint is exit 2 with
 * one line naming the field, for `info`, `sample` and `train --resume` alike.
 */
let dir: string;
let good: any;

beforeAll(async () => {
  dir = tempDir('validation');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '8', '--seq-length', '16', '--batch-size', '4', '--max-iters', '20', '--eval-every', '10'], dir);
  expect(r.code, r.stderr).toBe(0);
  good = readJson(path.join(dir, 'checkpoints/corpus/latest.json'));
});

/** Writes `good` changed by `change` to a file of its own and returns its name. */
function mutant(name: string, change: (doc: any) => void): string {
  const doc = structuredClone(good);
  change(doc);
  const file = `${name}.json`;
  fs.writeFileSync(path.join(dir, file), JSON.stringify(doc));
  return file;
}

/** All three commands load checkpoints through the same code; `everywhere` runs each, else `info` alone. */
async function expectRefused(file: string, pattern: RegExp, everywhere = false): Promise<void> {
  const commands = [['info', file], ['sample', '--checkpoint', file, '--length', '5'], ['train', 'corpus.txt', '--resume', file, '--max-iters', '30']];
  for (const args of everywhere ? commands : commands.slice(0, 1)) {
    const r = await charnn(args, dir);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
  }
}

// Each test writes a checkpoint of its own and runs the CLI on it: they run side by side.
describe.concurrent('checkpoint validation', () => {
  it('a checkpoint records a checksum of its tensors', async () => {
    expect(good.tensorsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a changed byte inside tensor data is "corrupt: checksum mismatch"', async () => {
    const file = mutant('flipped', (d) => {
      const t = d.tensors['decoder.w'];
      const i = Math.floor(t.data.length / 2);
      t.data = t.data.slice(0, i) + (t.data[i] === 'A' ? 'B' : 'A') + t.data.slice(i + 1);
    });
    await expectRefused(file, /flipped\.json: corrupt: checksum mismatch — use another checkpoint\n$/, true);
  });

  it('a checkpoint written before the checksum (and before --forget-bias, --patience, --val-max-chars) still loads and resumes', async () => {
    const file = mutant('old', (d) => {
      delete d.tensorsSha256;
      delete d.config.forgetBias;
      delete d.config.patience;
      delete d.config.valMaxChars;
    });
    expect((await charnn(['info', file], dir)).code).toBe(0);
    const r = await charnn(['train', 'corpus.txt', '--resume', file, '--max-iters', '30', '--checkpoint-dir', 'old-run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(path.join(dir, 'old-run/latest.json')).config.forgetBias).toBe(1); // what runs before the option used
  });

  it('fields it does not know are ignored', async () => {
    const file = mutant('extra', (d) => {
      d.newTopLevel = { a: 1 };
      d.training.history[0].sample = 'text';
      d.config.optionOfALaterVersion = 'x';
    });
    expect((await charnn(['info', file], dir)).code).toBe(0);
    expect((await charnn(['sample', '--checkpoint', file, '--length', '5'], dir)).code).toBe(0);
  });

  const cases: [string, (d: any) => void, RegExp][] = [
    ['missing smoothLoss', (d) => delete d.training.smoothLoss, /"training\.smoothLoss" is missing/],
    ['text bestValLoss', (d) => (d.training.bestValLoss = 'low'), /"training\.bestValLoss": .*expected number/],
    ['missing corpus', (d) => delete d.training.corpus, /"training\.corpus" is missing/],
    ['history non-number', (d) => (d.training.history[0].valLoss = '2'), /"training\.history\[0\]\.valLoss"/],
    ['huge layers', (d) => (d.model.layers = 1e308), /"model\.layers"/],
    ['unknown optimizer', (d) => (d.config.optimizer = 'foo'), /"config\.optimizer": .*"adam"\|"rmsprop"\|"sgd" \(found "foo"\)/],
    ['negative lr', (d) => (d.training.lr = -1), /"training\.lr": too small/],
    ['zero config lr', (d) => (d.config.lr = 0), /"config\.lr": too small/],
    ['negative iteration', (d) => (d.training.iteration = -1e308), /"training\.iteration"/],
    ['fractional iteration', (d) => (d.training.iteration = 20.5), /"training\.iteration"/],
    ['cursor out of range', (d) => (d.training.cursor = 1e6), /"training\.cursor" \(1000000\) is past the end/],
    ['transposed optimizer state', (d) => {
      const t = d.tensors['optimizer0/decoder.w'];
      t.shape = [...t.shape].reverse();
      delete d.tensorsSha256; // the checksum covers shapes too
    }, /tensor optimizer0\/decoder\.w has shape \[\d+,8\], the model needs \[8,\d+\]/],
    ['state of the wrong batch', (d) => {
      d.tensors['state/layer0.h'].shape = [2, 16];
      delete d.tensorsSha256;
    }, /tensor state\/layer0\.h has shape \[2,16\], the model needs \[4,8\]/],
    ['bad base64', (d) => (d.tensors['decoder.b'].data = '@@@@'), /"tensors\.decoder\.b\.data": must be base64/],
    ['vocab of two-character strings', (d) => (d.vocab[1] = 'ab'), /"vocab\[1\]" must be one character/],
    ['vocab with a duplicate', (d) => (d.vocab[1] = d.vocab[2]), /"vocab" lists a character twice/],
    ['seed beyond 32 bits', (d) => (d.config.seed = 2 ** 32), /"config\.seed": too big/],
    ['rng of three words', (d) => (d.training.rng = [1, 2, 3]), /"training\.rng"/],
  ];
  for (const [name, change, pattern] of cases) {
    it(`${name}: exit 2, one line naming the field`, () => expectRefused(mutant(name.replace(/ /g, '-'), change), pattern));
  }

  it('NaN in optimizer state (written without a checksum) is exit 2 naming the tensor', async () => {
    const nan = Buffer.from(new Float32Array([NaN]).buffer).toString('base64');
    const file = mutant('nan-optimizer', (d) => {
      delete d.tensorsSha256;
      const t = d.tensors['optimizer1/decoder.b'];
      const values = Buffer.from(t.data, 'base64');
      values.set(Buffer.from(nan, 'base64'), 0);
      t.data = values.toString('base64');
    });
    await expectRefused(file, /tensor optimizer1\/decoder\.b holds NaN at index 0/, true);
  });
});
