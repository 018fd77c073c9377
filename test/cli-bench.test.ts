import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { charnn, hasStackTrace, syntheticText, tempDir } from './helpers/cli.js';

// Speed is never asserted here (the machines are shared and noisy): these tests check that `charnn bench`
// runs the real training step and reports what compare.sh and BENCHMARKS.md rely on.

let dir: string;
const tiny = ['--layers', '1', '--hidden', '8', '--batch', '4', '--seq', '8', '--steps', '2'];

beforeAll(async () => {
  dir = tempDir('bench');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(4000));
});

describe('charnn bench', () => {
  it('--json prints one line with the keys of PyTorch\'s reference script, and consistent figures', async () => {
    const r = await charnn(['bench', ...tiny, '--corpus', 'corpus.txt', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]);
    // The keys ../shared/bench/torch_lstm.py prints in throughput mode.
    for (const key of ['tool', 'threads', 'layers', 'hidden', 'batch', 'seq', 'vocab', 'params', 'mode', 'chars_per_s', 'step_ms', 'gflops', 'train_loss']) {
      expect(result, key).toHaveProperty(key);
    }
    expect(result).toMatchObject({ tool: 'charnn', mode: 'throughput', layers: 1, hidden: 8, batch: 4, seq: 8 });
    expect(result.vocab).toBe(new Set(syntheticText(4000)).size);
    const V = result.vocab, H = 8;
    expect(result.params).toBe(V * 4 * H + H * 4 * H + 4 * H + H * V + V); // Wx, Wh, b, decoder
    expect(result.chars_per_s).toBeGreaterThan(0);
    // chars/s is batch × seq over the median step; GFLOP/s is 6 × weights × chars/s.
    // step_ms is printed to 0.01 ms, so chars/s is known from it only within that rounding (at a 1 ms step,
    // ±0.5%): check it lies between the values the unrounded step could give.
    const charsAt = (ms: number) => (4 * 8) / (ms / 1000);
    expect(result.chars_per_s).toBeLessThanOrEqual(Math.ceil(charsAt(result.step_ms - 0.005)));
    expect(result.chars_per_s).toBeGreaterThanOrEqual(Math.floor(charsAt(result.step_ms + 0.005)));
    expect(result.train_loss).toBeGreaterThan(0);
    expect(result.train_loss).toBeLessThan(Math.log(V) + 1);
    expect(result.sample_chars_per_s).toBeGreaterThan(0);
    expect(result.peak_rss_mb).toBeGreaterThan(10);
  });

  it('prints a table on stdout without --json, for each cell type', async () => {
    for (const cell of ['lstm', 'gru', 'rnn']) {
      const r = await charnn(['bench', ...tiny, '--model', cell, '--corpus', 'corpus.txt', '--backend', 'js', '--threads', '1'], dir);
      expect(r.code, r.stderr).toBe(0);
      const [header, row, ...rest] = r.stdout.trim().split('\n');
      expect(header).toMatch(/layers×hidden +batch×seq +params +train chars\/s +step ms +GFLOP\/s +sample chars\/s +peak MB/);
      expect(row).toMatch(/^1×8 +4×8 +\S+ +\S+ +[\d.]+ +[\d.]+ +\S+ +\d+$/);
      expect(rest).toEqual([]);
    }
  });

  it('a missing corpus or a bad option is a one-line error with exit 2', async () => {
    const missing = await charnn(['bench', ...tiny, '--corpus', 'nope.txt'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.txt/);
    expect(hasStackTrace(missing.stderr)).toBe(false);
    const bad = await charnn(['bench', '--hidden', 'wide'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--hidden/);
  });
});
