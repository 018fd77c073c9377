import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { BIN, charnn, hasStackTrace, startCharnn, syntheticText, tempDir } from './helpers/cli.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

let dir: string;
const VOCAB = ['\n', ' ', 'a', 'b', 'c', 'd', 'e', '☃', '🦊'];

beforeAll(async () => {
  dir = tempDir('sample');
  await saveCheckpoint(path.join(dir, 'random.json'), handMadeCheckpoint(VOCAB, { randomWeights: 1, model: { hiddenSize: 16 } }));
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(8000));
  const r = charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '200', '--eval-every', '50', '--lr', '0.01'], dir);
  expect(r.code, r.stderr).toBe(0);
});

describe('charnn sample', () => {
  it('with no checkpoint anywhere, says how to train one (exit 2)', () => {
    const empty = tempDir('empty');
    const r = charnn(['sample'], empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no checkpoint found under \.\/checkpoints; train one first/);
    expect(r.stdout).toBe('');
  });

  it('without --checkpoint uses the newest best.json under ./checkpoints and names it on stderr', () => {
    const r = charnn(['sample', '--length', '50', '--seed', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sampling from checkpoints\/corpus\/best\.json/);
    expect([...r.stdout].length).toBe(50);
  });

  it('writes exactly the prime and --length characters to stdout, valid UTF-8 with astral characters', () => {
    const r = spawnSync(process.execPath, [BIN, 'sample', '--checkpoint', 'random.json', '--length', '300', '--seed', '4', '--prime', '🦊a'], { cwd: dir });
    expect(r.status).toBe(0);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(r.stdout);
    expect(text.startsWith('🦊a')).toBe(true);
    expect([...text].length).toBe(302);
    for (const c of text) expect(VOCAB).toContain(c);
  });

  it('the same --seed gives the same text', () => {
    const args = ['sample', '--checkpoint', 'random.json', '--length', '200', '--seed', '9', '--temp', '0.7'];
    expect(charnn(args, dir).stdout).toBe(charnn(args, dir).stdout);
  });

  it('--count separates samples with a blank line; --stop ends each sample', () => {
    const r = charnn(['sample', '--checkpoint', 'random.json', '--count', '3', '--length', '5000', '--seed', '2', '--stop', 'ab'], dir);
    expect(r.code, r.stderr).toBe(0);
    const samples = r.stdout.split('\n\n');
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(r.stdout.match(/ab/g)!.length).toBe(3);
  });

  it('rejects a temperature of 0 and other bad values with exit 2', () => {
    for (const bad of [['--temp', '0'], ['--temp', 'hot'], ['--top-k', '0'], ['--top-p', '1.5'], ['--length', '-3']]) {
      const r = charnn(['sample', '--checkpoint', 'random.json', ...bad], dir);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });

  it('refuses a prime with unknown characters, listing them; --prime-unknown skip warns and drops them', () => {
    const refused = charnn(['sample', '--checkpoint', 'random.json', '--prime', 'xyz', '--length', '5'], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/"x" "y" "z"/);
    const skipped = charnn(['sample', '--checkpoint', 'random.json', '--prime', 'axb', '--prime-unknown', 'skip', '--length', '0'], dir);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toBe('ab');
    expect(skipped.stderr).toMatch(/dropped 1 prime character/);
  });

  it('streams: the first characters reach the pipe long before the sample ends', async () => {
    const child = startCharnn(['sample', '--checkpoint', 'random.json', '--length', '100000000', '--seed', '1'], dir);
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    expect(first.length).toBeGreaterThan(0);
    expect(child.exitCode).toBe(null); // still generating
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
  });

  it('a pipe closed early (| head -c 10) ends quietly with exit 0', () => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" sample --checkpoint random.json --length 10000000 | head -c 10`], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(10);
    expect(r.stderr).toBe('');
  });
});

describe('charnn info', () => {
  it('describes model, vocabulary, corpus, progress and draws the loss history', () => {
    const r = charnn(['info', 'checkpoints/corpus/latest.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model +1×16 LSTM, \d+ parameters/);
    expect(r.stdout).toMatch(/vocabulary +\d+ characters: ↵␠/);
    expect(r.stdout).toMatch(/corpus +corpus/);
    expect(r.stdout).toMatch(/iteration 200, epoch/);
    expect(r.stdout).toMatch(/val loss +best \d\.\d{4} nats\/char/);
    expect(r.stdout).toMatch(/· train loss +• validation loss/);
  });

  it('--json gives the same facts to programs', () => {
    const info = JSON.parse(charnn(['info', 'checkpoints/corpus/latest.json', '--json'], dir).stdout);
    expect(info).toMatchObject({ cell: 'lstm', layers: 1, hiddenSize: 16, iteration: 200, corpus: 'corpus' });
    expect(info.history.length).toBe(4);
    expect(info.parameters).toBe(4 * 16 * (info.vocabSize + 16 + 1) + 16 * info.vocabSize + info.vocabSize);
  });

  it('a file that is not a checkpoint is a one-line error (exit 2)', () => {
    const r = charnn(['info', 'corpus.txt'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not JSON/);
  });
});

describe('charnn eval', () => {
  it('reports the loss in nats and bits per character', () => {
    fs.writeFileSync(path.join(dir, 'held.txt'), syntheticText(3000, 5));
    const r = charnn(['eval', 'checkpoints/corpus/best.json', 'held.txt', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.lossBits).toBeCloseTo(result.lossNats / Math.LN2, 10);
    expect(result.lossNats).toBeGreaterThan(0);
    const vocabSize = JSON.parse(charnn(['info', 'checkpoints/corpus/best.json', '--json'], dir).stdout).vocabSize;
    expect(result.lossNats).toBeLessThan(Math.log(vocabSize) - 0.5); // it learned something
    expect(result.unknownChars).toBe(0);
  });

  it('counts and reports characters outside the vocabulary instead of skipping them silently', () => {
    fs.writeFileSync(path.join(dir, 'odd.txt'), syntheticText(2000, 6) + 'Zz☃ Zebra\n');
    const r = charnn(['eval', 'checkpoints/corpus/best.json', 'odd.txt'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 character\(s\) of odd\.txt are not in the model's vocabulary and were left out of the score: "Z" "z" "☃"/);
    expect(r.stdout).toMatch(/nats\/char .* bits\/char .*\(4 unknown characters left out\)/);
  });

  it('a file that is not UTF-8 gets the same message as training', () => {
    fs.writeFileSync(path.join(dir, 'bad.txt'), Buffer.from([0x61, 0xff, 0x62]));
    const r = charnn(['eval', 'checkpoints/corpus/best.json', 'bad.txt'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid UTF-8 \(bad byte at offset 1\)/);
  });
});
