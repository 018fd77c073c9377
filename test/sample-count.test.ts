import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/store.js';
import { modelFromCheckpoint } from '../src/checkpoint/weights.js';
import { loadIndex } from '../src/data/copy-index.js';
import { Vocab } from '../src/data/vocab.js';
import { defaultBackend } from '../src/kernels/index.js';
import { SampleBatch, type FinishReason, type RowOptions } from '../src/sample/batch.js';
import { Sampler } from '../src/sample/sampler.js';
import { indexFileOf } from '../src/train/corpus-index.js';
import { Rng } from '../src/util/rng.js';
import { charnn, runNode, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/readme.js';

let dir: string;
const CHECKPOINT = 'checkpoints/corpus/best.json';

beforeAll(async () => {
  dir = tempDir('count');
  // A short text, learnt well enough that the copy guard ends some samples (every next character would copy).
  fs.writeFileSync(path.join(dir, 'corpus.txt'), 'abcabcabd abcabcabd\ncab bad dab\n'.repeat(8));
  const r = await charnn(['train', 'corpus.txt', '--layers', '2', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '150', '--eval-every', '150', '--lr', '0.01'], dir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The samples drawn one at a time, each alone in a batch of one row from a fresh state: sample i with its
 * own random stream seeded `seed + i` (what `charnn sample --seed <seed + i>` gives).
 */
async function serialSamples(count: number, seed: number, options: Omit<RowOptions, 'rng' | 'guard'> & { maxCopy?: number }): Promise<{ text: string; finish: FinishReason }[]> {
  const file = path.join(dir, CHECKPOINT);
  const ckpt = await loadCheckpoint(file);
  const vocab = Vocab.fromChars(ckpt.vocab);
  const batch = new SampleBatch(modelFromCheckpoint(ckpt, { maxBatch: 1, maxSteps: 1, backend: defaultBackend() }), vocab);
  const guard = options.maxCopy === undefined ? undefined : { index: loadIndex(indexFileOf(file), ckpt.training.corpus.sha256), maxCopy: options.maxCopy };
  return Array.from({ length: count }, (_, i) => {
    const row = batch.add({ ...options, guard, rng: new Rng(seed + i), echo: true });
    let text = '';
    for (;;) {
      text += row.take().map((piece) => piece.char).join('');
      if (row.done) return { text, finish: row.finishReason! };
      batch.step();
    }
  });
}

/** What `charnn sample` prints for these texts: a blank line between samples, a newline at the end. */
function printed(texts: string[]): string {
  let out = '';
  texts.forEach((text, i) => {
    if (i > 0) out += '\n\n'.slice(out.endsWith('\n\n') ? 2 : out.endsWith('\n') ? 1 : 0);
    out += text;
  });
  return out === '' || out.endsWith('\n') ? out : `${out}\n`;
}

/** Option sets, as CLI arguments and as the row options they mean. */
const CASES: { name: string; args: string[]; seed: number; options: Omit<RowOptions, 'rng' | 'guard'> & { maxCopy?: number } }[] = [
  { name: 'plain', args: ['--length', '120'], seed: 3, options: { prime: '', length: 120 } },
  { name: 'stop strings', args: ['--length', '200', '--stop', 'd', '--stop', '\\n'], seed: 4, options: { prime: '', length: 200, stop: ['d', '\n'] } },
  { name: 'prime, temperature, top-k', args: ['--length', '90', '--prime', 'cab', '--temp', '0.7', '--top-k', '3'], seed: 5, options: { prime: 'cab', length: 90, temperature: 0.7, topK: 3 } },
  { name: 'top-p, min-p', args: ['--length', '90', '--top-p', '0.9', '--min-p', '0.1'], seed: 6, options: { prime: '', length: 90, topP: 0.9, minP: 0.1 } },
  { name: 'argmax', args: ['--length', '40', '--argmax', '--prime', 'b'], seed: 7, options: { prime: 'b', length: 40, argmax: true } },
  { name: 'copy guard', args: ['--length', '60', '--max-copy', '4', '--top-k', '2'], seed: 1, options: { prime: '', length: 60, topK: 2, maxCopy: 4 } },
];

describe.concurrent('charnn sample --count N: the N samples stepped together', () => {
  for (const { name, args, seed, options } of CASES) {
    it(`gives the texts of ${name} drawn one at a time with seeds s, s + 1, …, byte for byte, as text and as --json`, async () => {
      const serial = await serialSamples(5, seed, options);
      const common = ['sample', '--checkpoint', CHECKPOINT, '--count', '5', '--seed', String(seed), ...args];
      const [text, json] = await Promise.all([charnn(common, dir), charnn([...common, '--json'], dir)]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toBe(printed(serial.map((s) => s.text)));
      expect(json.code, json.stderr).toBe(0);
      expect(json.stdout).toBe(serial.map((s) => JSON.stringify({ text: s.text, ...(s.finish === 'copy' ? { finish: 'copy' } : {}) }) + '\n').join(''));
    });
  }

  it('the stop strings end the samples at different lengths, and the copy guard ends some early', async () => {
    const stopped = await serialSamples(5, 4, CASES[1].options);
    expect(stopped.every((s) => s.finish === 'stop')).toBe(true);
    expect(new Set(stopped.map((s) => s.text.length)).size).toBeGreaterThan(2);
    const guarded = await serialSamples(5, 1, CASES[5].options);
    expect(guarded.some((s) => s.finish === 'copy')).toBe(true);
    expect(guarded.some((s) => s.finish === 'length')).toBe(true);
  });

  it('with --copies, reports every sample in order on stderr', async () => {
    const serial = await serialSamples(5, 8, { prime: '', length: 80, maxCopy: 6 });
    const r = await charnn(['sample', '--checkpoint', CHECKPOINT, '--count', '5', '--seed', '8', '--length', '80', '--max-copy', '6', '--copies'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(printed(serial.map((s) => s.text)));
    const reported = [...r.stderr.matchAll(/^sample (\d+): longest copy (\d+) characters/gm)];
    expect(reported.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5]);
    expect(reported.every((m) => Number(m[2]) <= 6)).toBe(true);
  });

  it('more samples than rows: the later ones wait for a row and still come out in order', async () => {
    const serial = await serialSamples(40, 10, { prime: '', length: 30, stop: ['a'] });
    const r = await charnn(['sample', '--checkpoint', CHECKPOINT, '--count', '40', '--seed', '10', '--length', '30', '--stop', 'a', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).text)).toEqual(serial.map((s) => s.text));
  });

  it('sample i of --count N --seed s is what --seed s + i gives alone, through the CLI', async () => {
    const args = ['sample', '--checkpoint', CHECKPOINT, '--length', '50', '--json'];
    const [batched, ...alone] = await Promise.all([charnn([...args, '--count', '3', '--seed', '20'], dir), ...[20, 21, 22].map((seed) => charnn([...args, '--seed', String(seed)], dir))]);
    for (const r of [batched, ...alone]) expect(r.code, r.stderr).toBe(0);
    expect(batched.stdout).toBe(alone.map((r) => r.stdout).join(''));
  });

  it('with fewer rows than samples, the waiting samples still give their own texts (library)', async () => {
    const ckpt = await loadCheckpoint(path.join(dir, CHECKPOINT));
    for (const [rows, seed] of [[2, 11], [3, 12], [4, 13]]) {
      const options = { prime: '', length: 40, stop: ['d', ' '] };
      const texts: string[] = Array(12).fill('');
      for (const chunk of new Sampler(ckpt, { ...options, seed, rows }).samples(12)) texts[chunk.index] += chunk.text;
      expect(texts).toEqual((await serialSamples(12, seed, options)).map((s) => s.text));
    }
  });

  it('scripts/count-bench.mjs times both ways on a checkpoint and finds the same texts (its times are not checked)', async () => {
    const script = path.join(ROOT, 'scripts/count-bench.mjs');
    const r = await runNode(script, ['--checkpoint', CHECKPOINT, '--count', '3', '--length', '20', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ model: '2×16 lstm', count: 3, length: 20, same_texts: true });
    expect(result.speedup).toBeGreaterThan(0);
    const bad = await runNode(script, ['--count', '0'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('count-bench: --count and --length are whole numbers from 1\n');
  });
});
