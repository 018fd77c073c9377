import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/store.js';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { Vocab } from '../src/data/vocab.js';
import { defaultBackend } from '../src/kernels/index.js';
import { logProbabilities } from '../src/sample/draw.js';
import { charnn, hasStackTrace, tempDir } from './helpers/cli.js';

let dir: string;
const CHECKPOINT = 'checkpoints/corpus/best.json';

/**
 * Lines that start with "X": 70% go on with "a" and one of eight letters, 30% with "bb". So after "X",
 * greedy decoding takes "a" (0.7) and then has to guess a letter (1/8): "Xa?\n" has probability about
 * 0.7 × 0.125 ≈ 0.09, while "Xbb\n" has about 0.3, the most probable line, which a beam of 2 finds.
 */
function corpus(): string {
  let s = 7;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const lines: string[] = [];
  for (let i = 0; i < 1500; i++) lines.push(next() < 0.7 ? `Xa${'pqrstuvw'[Math.floor(next() * 8)]}` : 'Xbb');
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  dir = tempDir('beam');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), corpus());
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '32', '--seq-length', '16', '--batch-size', '8', '--max-iters', '300', '--eval-every', '300', '--lr', '0.01', '--no-index'], dir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The model's own log-probability of `generated` after the start token and the prime, one character at a time. */
async function logprobOf(prime: string, generated: string): Promise<number> {
  const ckpt = await loadCheckpoint(path.join(dir, CHECKPOINT));
  const vocab = Vocab.fromChars(ckpt.vocab);
  const model = modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend: defaultBackend() });
  let total = 0;
  const read = [vocab.startToken, ...[...prime].map((c) => vocab.indexOf(c))];
  for (const c of generated) {
    let logits = 0;
    for (const token of read) {
      logits = model.forward(Int32Array.of(token), 1, 1, null);
      model.carryState();
    }
    total += logProbabilities(model.k.heap, logits, vocab.size, vocab.indexOf(c), 0).logprob;
    read.splice(0, read.length, vocab.indexOf(c));
  }
  return total;
}

async function sample(args: string[]): Promise<string> {
  const r = await charnn(['sample', '--checkpoint', CHECKPOINT, ...args], dir);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe.concurrent('charnn sample --beam K', () => {
  it('finds the most probable line, which greedy decoding misses, and --json gives its score as the model scores it', async () => {
    const args = ['--prime', 'X', '--stop', '\\n', '--length', '10', '--json'];
    const [beam, greedy] = await Promise.all([sample(['--beam', '4', ...args]), sample(['--argmax', ...args])]);
    const found = JSON.parse(beam);
    expect(found.text).toBe('Xbb\n');
    const greedyText: string = JSON.parse(greedy).text;
    expect(greedyText).toMatch(/^Xa[p-w]\n$/);
    const logprob = await logprobOf('X', 'bb\n');
    expect(found.logprob).toBeCloseTo(logprob, 5);
    expect(found.score).toBeCloseTo(logprob / 3, 5);
    expect(found.score).toBeGreaterThan((await logprobOf('X', greedyText.slice(1))) / 3);
  });

  it('--beam 1 is greedy: the text of --argmax', async () => {
    for (const args of [['--length', '40'], ['--prime', 'Xa', '--length', '25', '--stop', 'b']]) {
      expect(await sample(['--beam', '1', ...args])).toBe(await sample(['--argmax', ...args]));
    }
  });

  it('without a stop string, runs to --length; the plain text is the --json text with a newline, as a sample prints', async () => {
    const args = ['--beam', '3', '--prime', 'X', '--length', '12'];
    const [plain, json] = await Promise.all([sample(args), sample([...args, '--json'])]);
    const found = JSON.parse(json);
    expect([...found.text].length).toBe(1 + 12);
    expect(found.logprob).toBeCloseTo(await logprobOf('X', found.text.slice(1)), 5); // each row's state followed its own text
    expect(found.score).toBeCloseTo(found.logprob / 12, 12);
    expect(plain).toBe(found.text.endsWith('\n') ? found.text : `${found.text}\n`);
  });

  it('refuses a bad width and options that draw at random, with one line and exit 2', async () => {
    const bads: [string[], RegExp][] = [
      [['--beam', '0'], /option '--beam <k>' argument '0' is invalid/],
      [['--beam', 'abc'], /option '--beam <k>' argument 'abc' is invalid/],
      [['--beam', '2', '--temp', '0.5'], /^charnn: --temp does not go with --beam: .*; drop --temp or --beam\n$/],
      [['--beam', '2', '--top-p', '0.9'], /^charnn: --top-p does not go with --beam/],
      [['--beam', '2', '--seed', '3'], /^charnn: --seed does not go with --beam/],
      [['--beam', '2', '--count', '3'], /^charnn: --count does not go with --beam: a beam gives one text/],
    ];
    const runs = await Promise.all(bads.map(([args]) => charnn(['sample', '--checkpoint', CHECKPOINT, ...args], dir)));
    runs.forEach((r, i) => {
      expect(r.code, bads[i][0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(bads[i][1]);
      expect(r.stdout).toBe('');
      expect(hasStackTrace(r.stderr)).toBe(false);
    });
  });
});
