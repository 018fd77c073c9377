import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { charnn, hasStackTrace, jsonEvents, readJson, startCharnn, syntheticText, tempDir } from './helpers/cli.js';

/** Small enough to train in well under a second per run. */
const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '10'];

let dir: string;

beforeAll(async () => {
  dir = tempDir('train');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
  fs.writeFileSync(path.join(dir, 'other.txt'), syntheticText(6000, 2));
});

async function expectUsageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await charnn(args, dir);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2); // the error, maybe a help hint
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(r.stdout).toBe('');
}

describe('charnn train', () => {
  it('trains, writes latest.json and best.json, and keeps stdout empty', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '20'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const latest = readJson(path.join(dir, 'checkpoints/corpus/latest.json'));
    // The last line sums up: why it stopped, the best validation loss (and the last, when it is worse), where the files are.
    const { bestValLoss, lastValLoss } = latest.training;
    const last = lastValLoss !== bestValLoss ? ` \\(last ${lastValLoss.toFixed(4)}\\)` : '';
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^reached --max-iters at iteration 20 \\(epoch \\d+\\.\\d\\d\\), best val loss ${bestValLoss.toFixed(4)}${last}; saved checkpoints/corpus/latest\\.json and checkpoints/corpus/best\\.json$`));
    expect(latest.format).toBe('charnn-checkpoint');
    expect(latest.training.iteration).toBe(20);
    expect(fs.existsSync(path.join(dir, 'checkpoints/corpus/best.json'))).toBe(true);
  });

  it('refuses to overwrite an existing run without --resume or --force', async () => {
    await expectUsageError(['train', 'corpus.txt', ...TINY, '--max-iters', '5'], /already holds a training run.*--resume.*--force/);
  });

  it('--resume continues the iteration count up to --max-iters in all', async () => {
    const r = await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '30'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .*latest\.json at iteration 20/);
    expect(readJson(path.join(dir, 'checkpoints/corpus/latest.json')).training.iteration).toBe(30);
  });

  it('N+M iterations in one run equal N, stop, resume, M — byte for byte, dropout and all', async () => {
    // With a schedule that does not depend on the budget: under the budget schedule, a run given 11
    // iterations decays to its floor at 11 (test/cli-schedule.test.ts covers resuming that schedule).
    const common = ['corpus.txt', ...TINY, '--layers', '2', '--dropout', '0.2', '--eval-every', '7', '--threads', '2', '--lr-schedule', 'exp'];
    expect((await charnn(['train', ...common, '--max-iters', '24', '--checkpoint-dir', 'once'], dir)).code).toBe(0);
    expect((await charnn(['train', ...common, '--max-iters', '11', '--checkpoint-dir', 'twice'], dir)).code).toBe(0);
    const resumed = await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '24', '--checkpoint-dir', 'twice', '--threads', '2'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const once = readJson(path.join(dir, 'once/latest.json'));
    const twice = readJson(path.join(dir, 'twice/latest.json'));
    expect(twice.training.iteration).toBe(24);
    expect(Object.keys(twice.tensors).sort()).toEqual(Object.keys(once.tensors).sort());
    for (const name of Object.keys(once.tensors)) expect(twice.tensors[name].data, name).toBe(once.tensors[name].data);
    expect(twice.training.rng).toEqual(once.training.rng);
  });

  it('the exact resume holds on the plain-TypeScript backend too', async () => {
    const common = ['corpus.txt', ...TINY, '--model', 'gru', '--backend', 'js', '--lr-schedule', 'exp'];
    expect((await charnn(['train', ...common, '--max-iters', '16', '--checkpoint-dir', 'js-once'], dir)).code).toBe(0);
    expect((await charnn(['train', ...common, '--max-iters', '9', '--checkpoint-dir', 'js-twice'], dir)).code).toBe(0);
    expect((await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '16', '--backend', 'js', '--checkpoint-dir', 'js-twice'], dir)).code).toBe(0);
    const once = readJson(path.join(dir, 'js-once/latest.json'));
    const twice = readJson(path.join(dir, 'js-twice/latest.json'));
    for (const name of Object.keys(once.tensors)) expect(twice.tensors[name].data, name).toBe(once.tensors[name].data);
  });

  it.each(['adam', 'rmsprop', 'sgd'])('worker threads give the weights of one thread with %s, up to the order of float sums (dropout included)', async (optimizer) => {
    // Each thread runs a slice of the batch, then sums and updates a share of the parameters; the
    // clipping norm (low enough to clip every step) is summed from the shares.
    const common = ['corpus.txt', ...TINY, '--layers', '2', '--dropout', '0.3', '--batch-size', '5', '--max-iters', '6', '--optimizer', optimizer, '--grad-clip', '0.1'];
    expect((await charnn(['train', ...common, '--threads', '1', '--checkpoint-dir', `one-thread-${optimizer}`], dir)).code).toBe(0);
    const r = await charnn(['train', ...common, '--threads', '3', '--checkpoint-dir', `three-threads-${optimizer}`], dir);
    expect(r.code, r.stderr).toBe(0);
    const one = readJson(path.join(dir, `one-thread-${optimizer}/latest.json`));
    const three = readJson(path.join(dir, `three-threads-${optimizer}/latest.json`));
    const floats = (b64: string) => new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);
    let differ = 0;
    for (const name of Object.keys(one.tensors)) {
      const a = floats(one.tensors[name].data), b = floats(three.tensors[name].data);
      const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i] - b[i]) / scale, `${name}[${i}]`).toBeLessThan(1e-4);
        if (a[i] !== b[i]) differ++;
      }
    }
    expect(one.training.smoothLoss).toBeCloseTo(three.training.smoothLoss, 5);
    expect(differ).toBeGreaterThan(0); // the threads really did sum in another order
    // Validation is shared out over the threads too, and reads the same streams as one thread does.
    expect(three.training.lastValLoss).toBeCloseTo(one.training.lastValLoss, 5);
  });

  it('--threads auto (the default) trains a tiny model on one thread and a larger one on every core, and says so', async () => {
    const run = async (args: string[], name: string) => {
      const r = await charnn(['train', 'corpus.txt', ...args, '--max-iters', '1', '--no-index', '--checkpoint-dir', name], dir);
      expect(r.code, r.stderr).toBe(0);
      return r.stderr.split('\n').find((l) => l.startsWith('charnn training'))!;
    };
    // 1×16, batch 4×16: about 0.9 MFLOP a step, far below SHARED_STEP_FLOPS (src/train/threads.ts).
    expect(await run(TINY, 'auto-tiny')).toMatch(/, 1 thread → auto-tiny\/$/);
    // 1×128, batch 16×64: about 470 MFLOP a step.
    const cores = os.availableParallelism();
    expect(await run(['--layers', '1', '--hidden', '128', '--batch-size', '16', '--seq-length', '64', '--threads', 'auto'], 'auto-wide'))
      .toMatch(new RegExp(`, ${cores} threads? → auto-wide/$`));
    expect(await run([...TINY, '--threads', '3'], 'three')).toMatch(/, 3 threads → three\/$/);
    await expectUsageError(['train', 'corpus.txt', '--threads', 'many'], /--threads.*'many' is invalid\. expected a positive whole number, or auto/);
  });

  it('threads score a validation text that has fewer streams than threads like one thread does', async () => {
    // 6000 characters × 0.0005 leaves 3 for validation: 2 streams for 3 threads, so one thread has none.
    const common = ['corpus.txt', ...TINY, '--batch-size', '5', '--max-iters', '4', '--eval-every', '2', '--val-frac', '0.0005', '--json'];
    const losses = async (threads: string) => {
      const r = await charnn(['train', ...common, '--threads', threads, '--checkpoint-dir', `short-val-${threads}`], dir);
      expect(r.code, r.stderr).toBe(0);
      return jsonEvents(r.stdout).filter((e) => e.type === 'eval').map((e) => e.valLoss);
    };
    const one = await losses('1'), three = await losses('3');
    expect(one).toHaveLength(2);
    three.forEach((loss, i) => expect(loss).toBeCloseTo(one[i], 5));
  });

  it('a resumed run may change its length and learning rate, not its batch size', async () => {
    await expectUsageError(['train', 'corpus.txt', '--resume', '--batch-size', '8', '--max-iters', '40'], /--batch-size cannot change when resuming/);
    await expectUsageError(['train', 'corpus.txt', '--resume', '--hidden', '32'], /--hidden 32 does not match the checkpoint/);
    // A checkpoint written before an option existed resumes with that option's default, or the one given.
    const ckpt = readJson(path.join(dir, 'checkpoints/corpus/latest.json'));
    delete ckpt.config.valMaxChars;
    delete ckpt.config.forgetBias;
    fs.mkdirSync(path.join(dir, 'older'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'older/latest.json'), JSON.stringify(ckpt));
    // Such a run started from forget-gate biases of 1 (the default then), whatever the default is now.
    await expectUsageError(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'older', '--forget-bias', '0'], /--forget-bias cannot change when resuming \(the run uses 1\)/);
    const r = await charnn(['train', 'corpus.txt', '--resume', '--checkpoint-dir', 'older', '--max-iters', String(ckpt.training.iteration + 2), '--val-max-chars', '50', '--lr', '0.001', '--forget-bias', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const resumed = readJson(path.join(dir, 'older/latest.json'));
    expect(resumed.training.iteration).toBe(ckpt.training.iteration + 2);
    expect(resumed.config).toMatchObject({ valMaxChars: 50, lr: 0.001, batchSize: ckpt.config.batchSize, forgetBias: 1 });
  });

  it('refuses to resume on a different corpus and points to --init-from', async () => {
    await expectUsageError(['train', 'other.txt', '--resume', 'checkpoints/corpus/latest.json'], /trained on another corpus: .*--init-from/);
  });

  it('--init-from fine-tunes from the weights with a fresh count', async () => {
    const r = await charnn(['train', 'other.txt', '--init-from', 'checkpoints/corpus/best.json', '--max-iters', '5', '--seq-length', '16', '--batch-size', '4'], dir);
    expect(r.code, r.stderr).toBe(0);
    const ckpt = readJson(path.join(dir, 'checkpoints/other/latest.json'));
    expect(ckpt.training.iteration).toBe(5);
    expect(ckpt.model.hiddenSize).toBe(16);
  });

  it('--init-from on a text with characters the model does not know grows the vocabulary by them, says which, and learns them', async () => {
    // The known characters' loss before the first update: a step at a rate too small to move anything.
    const known = syntheticText(3000, 5);
    fs.writeFileSync(path.join(dir, 'known.txt'), known);
    fs.writeFileSync(path.join(dir, 'new.txt'), Array.from({ length: 60 }, (_, i) => `${known.slice(i * 40, i * 40 + 40)} Zebra ☃ quiz\n`).join(''));
    const args = ['train', 'new.txt', '--init-from', 'checkpoints/corpus/best.json', '--seq-length', '16', '--batch-size', '4', '--eval-every', '10', '--threads', '1', '--json'];
    const first = await charnn([...args, '--max-iters', '1', '--lr', '1e-12', '--checkpoint-dir', 'grown-1'], dir);
    expect(first.code, first.stderr).toBe(0);
    const start = jsonEvents(first.stdout)[0];
    expect(start.addedChars).toEqual(['Z', 'q', 'u', 'z', '☃']);
    const grown = readJson(path.join(dir, 'grown-1/latest.json'));
    const before = readJson(path.join(dir, 'checkpoints/corpus/best.json'));
    expect(grown.vocab).toEqual([...before.vocab, 'Z', 'q', 'u', 'z', '☃']);
    const loss = async (ckpt: string, text: string) => JSON.parse((await charnn(['eval', ckpt, text, '--json'], dir)).stdout).lossNats;
    expect(await loss('grown-1/latest.json', 'known.txt')).toBeCloseTo(await loss('checkpoints/corpus/best.json', 'known.txt'), 3);
    const human = await charnn(['train', 'new.txt', '--init-from', 'checkpoints/corpus/best.json', '--max-iters', '1', '--seq-length', '16', '--batch-size', '4', '--threads', '1', '--checkpoint-dir', 'grown-h'], dir);
    expect(human.stderr).toContain('the vocabulary grows by 5 character(s) the model did not know: "Z" "q" "u" "z" "☃"');

    // The new characters are learned: after 150 steps the text that holds them costs far less.
    const trained = await charnn([...args, '--max-iters', '150', '--lr', '0.01', '--checkpoint-dir', 'grown-150'], dir);
    expect(trained.code, trained.stderr).toBe(0);
    expect(await loss('grown-150/latest.json', 'new.txt')).toBeLessThan((await loss('grown-1/latest.json', 'new.txt')) - 0.5);
  });

  it('--forget-bias sets the initial forget-gate biases of every LSTM layer (default 0)', async () => {
    const forgetBiases = (ckpt: any, layer: number) => {
      const b = new Float32Array(new Uint8Array(Buffer.from(ckpt.tensors[`layer${layer}.b`].data, 'base64')).buffer);
      return Array.from(b.subarray(16, 32)); // gate row [i | f | o | g], H = 16
    };
    const args = ['train', 'corpus.txt', ...TINY, '--layers', '2', '--max-iters', '1', '--lr', '1e-9'];
    expect((await charnn([...args, '--checkpoint-dir', 'fb-default'], dir)).code).toBe(0);
    expect((await charnn([...args, '--forget-bias', '1', '--checkpoint-dir', 'fb-set'], dir)).code).toBe(0);
    const byDefault = readJson(path.join(dir, 'fb-default/latest.json'));
    const set = readJson(path.join(dir, 'fb-set/latest.json'));
    for (const layer of [0, 1]) {
      for (const v of forgetBiases(byDefault, layer)) expect(v).toBeCloseTo(0, 6);
      for (const v of forgetBiases(set, layer)) expect(v).toBeCloseTo(1, 6);
    }
    expect(byDefault.config.forgetBias).toBe(0);
    expect(set.config.forgetBias).toBe(1);
    await expectUsageError(['train', 'corpus.txt', '--forget-bias', 'high', '--checkpoint-dir', 'fb-bad'], /--forget-bias.*'high' is invalid\. expected a number/);
  });

  it('trains on a text with thousands of distinct characters, emoji and CRLF', async () => {
    let text = '';
    for (let i = 0; i < 12000; i++) text += String.fromCodePoint(0x4e00 + ((i * 7919) % 3000)) + (i % 40 === 39 ? '🦊\r\n' : '');
    fs.writeFileSync(path.join(dir, 'hanzi.txt'), text);
    const r = await charnn(['train', 'hanzi.txt', ...TINY, '--max-iters', '3'], dir);
    expect(r.code, r.stderr).toBe(0);
    const ckpt = readJson(path.join(dir, 'checkpoints/hanzi/latest.json'));
    expect(ckpt.vocab.length).toBe(3003);
    expect(ckpt.vocab).toContain('🦊');
    expect(ckpt.vocab.slice(0, 2)).toEqual(['\n', '\r']);
  });

  const shakespeare = fileURLToPath(new URL('../../shared/corpora/tinyshakespeare.txt', import.meta.url));
  it.skipIf(!fs.existsSync(shakespeare))('learns real text: tinyshakespeare from ../shared/corpora (skipped where it is absent)', async () => {
    const r = await charnn(['train', shakespeare, '--layers', '1', '--hidden', '64', '--batch-size', '16', '--seq-length', '32',
      '--lr', '1e-2', '--val-frac', '0.02', '--max-iters', '150', '--eval-every', '50', '--checkpoint-dir', 'shakes', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const evals = jsonEvents(r.stdout).filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.iteration)).toEqual([50, 100, 150]);
    expect(evals[0].valLoss).toBeLessThan(Math.log(65)); // better than uniform over the 65 characters…
    expect(evals[2].valLoss).toBeLessThan(2.6); // …and well on from there (a unigram model scores about 3.3)
    expect(evals[2].valLoss).toBeLessThan(evals[0].valLoss);
    const ckpt = readJson(path.join(dir, 'shakes/best.json'));
    expect(ckpt.vocab.length).toBe(65);
    expect(ckpt.training.corpus.name).toBe('tinyshakespeare');
  });

  it('--patience stops once that many evaluations in a row have not improved the best validation loss', async () => {
    // A small text and a large model: it soon learns the training text by heart and gets worse on the rest.
    fs.writeFileSync(path.join(dir, 'small.txt'), syntheticText(2500, 3));
    const args = ['train', 'small.txt', '--hidden', '64', '--layers', '1', '--batch-size', '4', '--seq-length', '16', '--lr', '0.01', '--eval-every', '5', '--json'];
    const r = await charnn([...args, '--patience', '3', '--max-iters', '2000'], dir);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'patience' });
    expect(done.iteration).toBeLessThan(2000);
    const evals = events.filter((e) => e.type === 'eval');
    const lastBest = evals.findLastIndex((e) => e.improved);
    expect(evals.length - 1 - lastBest).toBe(3);
    expect(evals.at(-1).iteration).toBe(done.iteration);
    expect(readJson(path.join(dir, 'checkpoints/small/best.json')).training.lastValLoss).toBe(done.bestValLoss);
    // Resumed with the same patience it stops at once; with more, it trains on.
    const again = jsonEvents((await charnn(['train', 'small.txt', '--resume', '--patience', '3', '--max-iters', '2000', '--json'], dir)).stdout).at(-1);
    expect(again).toMatchObject({ reason: 'patience', iteration: done.iteration });
    const more = jsonEvents((await charnn(['train', 'small.txt', '--resume', '--patience', '4', '--max-iters', '2000', '--json'], dir)).stdout).at(-1);
    expect(more.iteration).toBeGreaterThan(done.iteration);
    // The line a person reads says why it stopped.
    const human = await charnn(['train', 'small.txt', '--resume', '--patience', '1', '--max-iters', '2000'], dir);
    expect(human.stderr.trim().split('\n').at(-1)).toMatch(/^validation loss stopped improving \(--patience\) at iteration \d+/);
    await expectUsageError(['train', 'small.txt', '--force', '--val-frac', '0', '--patience', '2'], /--patience needs a validation loss.*--val-frac/);
    await expectUsageError(['train', 'small.txt', '--force', '--patience', '0'], /--patience.*'0' is invalid\. expected a positive whole number/);
  });

  it('--val-max-chars caps the characters validation scores; a costly validation is pointed out', async () => {
    // TINY trains on 4 × 16 = 64 characters an iteration; evaluating every iteration, the ~600 characters
    // of validation cost more than the training in between.
    const run = async (name: string, extra: string[]) => {
      const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '2', '--eval-every', '1', '--checkpoint-dir', name, '--json', ...extra], dir);
      expect(r.code, r.stderr).toBe(0);
      const events = jsonEvents(r.stdout);
      return { warnings: events.filter((e) => e.type === 'warning'), losses: events.filter((e) => e.type === 'eval').map((e) => e.valLoss) };
    };
    const full = await run('valmax-full', []);
    expect(full.warnings).toHaveLength(1);
    expect(full.warnings[0].message).toMatch(/^validation scores \d+ characters every 1 iterations, more than the 64 it trains on in between; --val-max-chars 64 or a larger --eval-every makes it cheaper$/);
    const capped = await run('valmax-64', ['--val-max-chars', '64']);
    expect(capped.warnings).toEqual([]);
    expect(capped.losses).toHaveLength(2);
    capped.losses.forEach((loss, i) => expect(loss).not.toBe(full.losses[i]));
    expect((await run('valmax-wide', ['--val-max-chars', '100000'])).losses).toEqual(full.losses); // a cap above the split changes nothing
    expect(readJson(path.join(dir, 'valmax-64/latest.json')).config.valMaxChars).toBe(64);
    // Without --json the warning is a line on stderr, and stdout stays empty.
    const plain = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '1', '--eval-every', '1', '--checkpoint-dir', 'valmax-plain'], dir);
    expect(plain.stderr).toMatch(/warning: validation scores \d+ characters every 1 iterations/);
    expect(plain.stdout).toBe('');
  });

  it('--json prints one JSON event per line on stdout', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '10', '--checkpoint-dir', 'json', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    expect(events[0].type).toBe('start');
    expect(events.some((e) => e.type === 'eval')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'max-iters', iteration: 10 });
  });

  it('--max-epochs counts whole passes over the training streams', async () => {
    // A short text (16 iterations an epoch) keeps this quick on a loaded machine.
    fs.writeFileSync(path.join(dir, 'epochs.txt'), syntheticText(1200));
    const r = await charnn(['train', 'epochs.txt', ...TINY, '--max-epochs', '2', '--threads', '1', '--checkpoint-dir', 'epochs', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const done = jsonEvents(r.stdout).at(-1);
    expect(done.reason).toBe('max-epochs');
    expect(readJson(path.join(dir, 'epochs/latest.json')).training.epoch).toBe(2);
  });

  it('a diverging loss stops with advice to lower --lr and keeps the last good checkpoint', async () => {
    expect((await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '5', '--eval-every', '5', '--checkpoint-dir', 'nan'], dir)).code).toBe(0);
    const good = fs.readFileSync(path.join(dir, 'nan/latest.json'));
    const r = await charnn(['train', 'corpus.txt', '--resume', '--lr', '1e38', '--eval-every', '1', '--max-iters', '200', '--checkpoint-dir', 'nan'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\ncharnn: training diverged at iteration \d+ \((loss|validation loss) (NaN|[\d.e+]+, over 3× the [\d.]+ it started at)\); the last good checkpoint \(iteration 5\) is kept in nan\/latest\.json; lower the learning rate \(with --resume to continue from iteration 5\), e\.g\. --lr 0\.002\n$/);
    // the diverged weights never replaced it
    expect(fs.readFileSync(path.join(dir, 'nan/latest.json'))).toEqual(good);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('Ctrl-C saves a checkpoint, says where, and exits 130', async () => {
    const child = startCharnn(['train', 'corpus.txt', ...TINY, '--max-iters', '1000000', '--checkpoint-dir', 'sigint', '--json'], dir);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"type":"iteration"')) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stdout).toMatch(/"reason":"interrupted"/);
    expect(stdout).toMatch(/sigint\/latest\.json/);
    expect(fs.existsSync(path.join(dir, 'sigint/latest.json'))).toBe(true);
  });
});

describe('charnn train rejects bad input with one line and exit code 2', () => {
  it('a missing corpus', () => expectUsageError(['train', 'nope.txt'], /no such file or folder: nope\.txt/));

  it('a folder without files', async () => {
    fs.mkdirSync(path.join(dir, 'hollow/inner'), { recursive: true });
    await expectUsageError(['train', 'hollow'], /^charnn: hollow holds no files; give a folder with text files in it\n$/);
  });

  it('an empty file', async () => {
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    await expectUsageError(['train', 'empty.txt'], /empty/);
  });

  it('invalid UTF-8, naming the byte offset', async () => {
    fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.concat([Buffer.from('hello caf'), Buffer.from([0xe9]), Buffer.from(' world\n')]));
    await expectUsageError(['train', 'latin1.txt'], /UTF-8.*9\b/);
  });

  it('binary content (a NUL byte)', async () => {
    fs.writeFileSync(path.join(dir, 'binary.txt'), Buffer.from([0x61, 0x62, 0x00, 0x63]));
    await expectUsageError(['train', 'binary.txt'], /NUL|binary/);
  });

  it('a corpus too short for the sequence length and batch size, saying which to lower', async () => {
    fs.writeFileSync(path.join(dir, 'short.txt'), 'just a few words\n');
    await expectUsageError(['train', 'short.txt', '--batch-size', '32', '--seq-length', '64'], /--seq-length|--batch-size/);
  });

  it('a malformed option value', async () => await expectUsageError(['train', 'corpus.txt', '--lr', 'fast'], /--lr/));

  it('an unknown option', async () => await expectUsageError(['train', 'corpus.txt', '--colour'], /unknown option/));

  it('a seed beyond 32 bits (it would give the same run as a smaller one)', async () =>
    await expectUsageError(['train', 'corpus.txt', '--seed', '4294967296'], /--seed.*expected a whole number from 0 to 4294967295/));

  it('--resume with nothing to resume', async () => {
    await expectUsageError(['train', 'other.txt', '--resume', '--checkpoint-dir', 'fresh'], /nothing to resume/);
  });

  describe('a checkpoint that cannot be loaded', () => {
    const good = () => readJson(path.join(dir, 'checkpoints/corpus/latest.json'));
    const write = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      return name;
    };
    const resumeFrom = (file: string, pattern: RegExp) => expectUsageError(['train', 'corpus.txt', '--resume', file], pattern);

    it('is not JSON', async () => resumeFrom(write('notjson.json', 'hello'), /not JSON/));

    it('is truncated', async () => resumeFrom(write('truncated.json', JSON.stringify(good()).slice(0, 500)), /truncated/));

    it('is not a charnn checkpoint', async () => resumeFrom(write('other.json', '{"name": "package"}'), /not a charnn checkpoint/));

    it('has an unknown version', async () => resumeFrom(write('v99.json', JSON.stringify({ ...good(), version: 99 })), /unknown checkpoint version 99/));

    it('misses a tensor', async () => {
      const ckpt = good();
      delete ckpt.tensors['layer0.wh'];
      delete ckpt.tensorsSha256; // written without a checksum, else the checksum is what fails
      await resumeFrom(write('missing.json', JSON.stringify(ckpt)), /missing tensor layer0\.wh/);
    });

    it('has a tensor of the wrong shape', async () => {
      const ckpt = good();
      ckpt.tensors['decoder.b'].shape = [1, ckpt.tensors['decoder.b'].shape[0]];
      delete ckpt.tensorsSha256;
      await resumeFrom(write('shape.json', JSON.stringify(ckpt)), /decoder\.b has shape/);
    });

    it('has NaN in its weights', async () => {
      const ckpt = good();
      const data = Buffer.from(ckpt.tensors['layer0.wx'].data, 'base64');
      data.writeFloatLE(NaN, 8);
      ckpt.tensors['layer0.wx'].data = data.toString('base64');
      delete ckpt.tensorsSha256;
      await resumeFrom(write('nan.json', JSON.stringify(ckpt)), /layer0\.wx holds NaN at index 2/);
    });
  });
});
