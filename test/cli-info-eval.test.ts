import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { charnn, hasStackTrace, syntheticText, tempDir } from './helpers/cli.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

let dir: string;
const corpus = syntheticText(8000);

beforeAll(async () => {
  dir = tempDir('info-eval');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), corpus);
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '200', '--eval-every', '50', '--lr', '0.01'], dir);
  expect(r.code, r.stderr).toBe(0);
  await saveCheckpoint(path.join(dir, 'untrained.json'), handMadeCheckpoint(['a', 'b'], { randomWeights: 1 }));
});

describe('charnn info', () => {
  it('describes model, vocabulary, corpus, progress and losses', async () => {
    const r = await charnn(['info', 'checkpoints/corpus/latest.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model +1×16 LSTM, \d+ parameters/);
    expect(r.stdout).toMatch(/vocabulary +\d+ characters: ↵␠/);
    expect(r.stdout).toMatch(new RegExp(`corpus +corpus \\(${corpus.length} characters\\)`));
    expect(r.stdout).toMatch(/training +iteration 200, epoch \d+\.\d\d, (\d+h)?(\d+m)?(\d+s)?;/);
    expect(r.stdout).toMatch(/schedule +budget: from iteration 0, warm-up 4, down to a tenth of --lr at iteration 200; lr now 0\.00100\n/);
    expect(r.stdout).toMatch(/train loss +\d\.\d{4} nats\/char/);
    expect(r.stdout).toMatch(/val loss +best \d\.\d{4} nats\/char \(\d\.\d{3} bits\), last \d\.\d{4}/);
    expect(r.stderr).toBe('');
  });

  it('draws the train and validation loss over the iterations as a braille chart', async () => {
    const lines = (await charnn(['info', 'checkpoints/corpus/latest.json'], dir)).stdout.split('\n');
    const top = lines.findIndex((l) => /┤/.test(l));
    const chart = lines.slice(top, top + 12);
    expect(chart.every((l) => /^ *(\d\.\d+ ┤|│)/.test(l))).toBe(true);
    expect(chart.join('').match(/[\u2801-\u28ff]/g)!.length).toBeGreaterThan(40); // lines, not a few points
    expect(lines[top + 12]).toMatch(/└─{64}$/);
    expect(lines[top + 13]).toMatch(/^ +50 +iteration +200$/);
    expect(lines[top + 14]).toMatch(/┈┈ train loss +── validation loss/);
    // The top label is the highest loss, the bottom one the lowest.
    const labels = chart.flatMap((l) => l.match(/(\d\.\d+) ┤/)?.[1] ?? []).map(Number);
    expect(labels[0]).toBeGreaterThan(labels[2]);
  });

  it('--json gives the same facts to programs', async () => {
    const info = JSON.parse((await charnn(['info', 'checkpoints/corpus/latest.json', '--json'], dir)).stdout);
    expect(info).toMatchObject({ cell: 'lstm', layers: 1, hiddenSize: 16, iteration: 200, corpus: 'corpus', corpusChars: corpus.length });
    expect(info.history.length).toBe(4);
    expect(info.parameters).toBe(4 * 16 * (info.vocabSize + 16 + 1) + 16 * info.vocabSize + info.vocabSize);
    expect(info.bestValLoss).toBe(Math.min(...info.history.map((h: { valLoss: number }) => h.valLoss)));
    expect(typeof info.trainingSeconds).toBe('number');
  });

  it('a checkpoint with no history yet shows dashes and no chart', async () => {
    const r = await charnn(['info', 'untrained.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/val loss +best -, last -/);
    expect(r.stdout).not.toMatch(/┤/);
  });

  it('a file that is not a checkpoint is a one-line error (exit 2)', async () => {
    const r = await charnn(['info', 'corpus.txt'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^charnn: corpus\.txt: not JSON, so not a charnn checkpoint\n$/);
  });
});

describe('charnn eval', () => {
  it('reports the loss in nats and bits per character and how many characters were scored', async () => {
    fs.writeFileSync(path.join(dir, 'held.txt'), syntheticText(3000, 5));
    const text = await charnn(['eval', 'checkpoints/corpus/best.json', 'held.txt'], dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^\d\.\d{4} nats\/char {2}\d\.\d{4} bits\/char {2}over \d+ characters of held\.txt\n$/);
    const result = JSON.parse((await charnn(['eval', 'checkpoints/corpus/best.json', 'held.txt', '--json'], dir)).stdout);
    expect(result.lossBits).toBeCloseTo(result.lossNats / Math.LN2, 10);
    expect(result.lossNats).toBeGreaterThan(0);
    const vocabSize = JSON.parse((await charnn(['info', 'checkpoints/corpus/best.json', '--json'], dir)).stdout).vocabSize;
    expect(result.lossNats).toBeLessThan(Math.log(vocabSize) - 0.5); // it learned something
    expect(result.chars).toBeGreaterThan(2900);
    expect(result.unknownChars).toBe(0);
  });

  it('counts and reports characters outside the vocabulary instead of skipping them silently', async () => {
    fs.writeFileSync(path.join(dir, 'odd.txt'), syntheticText(2000, 6) + 'Zz☃ Zebra\n');
    const r = await charnn(['eval', 'checkpoints/corpus/best.json', 'odd.txt'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 character\(s\) of odd\.txt are not in the model's vocabulary and were left out of the score: "Z" "z" "☃"/);
    expect(r.stdout).toMatch(/nats\/char .* bits\/char .*\(4 unknown characters left out\)/);
    const result = JSON.parse((await charnn(['eval', 'checkpoints/corpus/best.json', 'odd.txt', '--json'], dir)).stdout);
    expect(result).toMatchObject({ unknownChars: 4, unknown: ['Z', 'z', '☃'] });
  });

  it('a file that is not UTF-8 gets the same message as training', async () => {
    fs.writeFileSync(path.join(dir, 'bad.txt'), Buffer.from([0x61, 0xff, 0x62]));
    const r = await charnn(['eval', 'checkpoints/corpus/best.json', 'bad.txt'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.txt is not valid UTF-8 \(.*offset 1\b/);
    expect((await charnn(['train', 'bad.txt'], dir)).stderr).toBe(r.stderr);
  });

  it('a missing file or a text with nothing to score is a one-line error (exit 2)', async () => {
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    for (const file of ['nowhere.txt', 'empty.txt']) {
      const r = await charnn(['eval', 'checkpoints/corpus/best.json', file], dir);
      expect(r.code, file).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });
});
