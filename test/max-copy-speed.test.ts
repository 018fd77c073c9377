import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charnn, runNode, syntheticText, tempDir } from './helpers/cli.js';

/** scripts/max-copy-speed.mjs, which BENCHMARKS.md quotes, run as a developer runs it (on a tiny model: nothing here depends on speed). */
let dir: string;

beforeAll(async () => {
  dir = tempDir('max-copy-speed');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(3000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '20', '--eval-every', '10', '--threads', '1'], dir);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scripts/max-copy-speed.mjs', { timeout: 180_000 }, () => {
  it('times sampling without and with --max-copy, interleaved, and reports the ratio of the medians', async () => {
    const script = path.resolve('scripts/max-copy-speed.mjs');
    const r = await runNode(script, ['--checkpoint', 'checkpoints/corpus/best.json', '--length', '200', '--rounds', '2', '--max-copy', '8', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ checkpoint: 'checkpoints/corpus/best.json', length: 200, rounds: 2, maxCopy: 8 });
    expect(result.runs.plain).toHaveLength(2);
    expect(result.runs.guarded).toHaveLength(2);
    expect(result.ratio).toBeCloseTo(result.guardedCharsPerSecond / result.plainCharsPerSecond, 2);
    const table = await runNode(script, ['--checkpoint', 'checkpoints/corpus/best.json', '--length', '100', '--rounds', '1'], dir);
    expect(table.stdout).toMatch(/^ {2}ratio \d+\.\d% \(goal ≥ 50%\)$/m);
  });

  it('refuses a checkpoint without its index in one line', async () => {
    fs.mkdirSync(path.join(dir, 'bare'));
    fs.copyFileSync(path.join(dir, 'checkpoints/corpus/best.json'), path.join(dir, 'bare/best.json'));
    const r = await runNode(path.resolve('scripts/max-copy-speed.mjs'), ['--checkpoint', 'bare/best.json', '--length', '50', '--rounds', '1'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^max-copy-speed: charnn sample failed: charnn: bare\/corpus\.index does not exist/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
