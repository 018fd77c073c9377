import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addSample, MAX_SAMPLES, sampleDue } from '../src/train/samples.js';
import { charnnAsync as charnn, jsonEvents, readJson, syntheticText, tempDir } from './helpers/cli.js';

const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '10', '--threads', '1'];
let dir: string;

beforeAll(async () => {
  dir = tempDir('train-samples');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
});

describe('train --sample-every', { timeout: 180_000 }, () => {
  it('records a 300-character sample at every n-th evaluation and at the end: a sample event, and in the checkpoint', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '55', '--sample-every', '2', '--json', '--checkpoint-dir', 'every2'], dir);
    expect(r.code, r.stderr).toBe(0);
    const samples = jsonEvents(r.stdout).filter((e) => e.type === 'sample');
    expect(samples.map((e) => e.iteration)).toEqual([20, 40, 55]); // evaluations 2 and 4, and the last (at 55, between evaluations)
    for (const e of samples) {
      expect([...e.text]).toHaveLength(300);
      expect(e.temperature).toBe(0.8);
    }
    const saved = readJson(path.join(dir, 'every2/latest.json')).training.samples;
    expect(saved.map((s: any) => [s.iteration, s.text])).toEqual(samples.map((e) => [e.iteration, e.text]));
    expect(saved[0].valLoss).toBe(readJson(path.join(dir, 'every2/latest.json')).training.history[1].valLoss);
  });

  it('each sample is what charnn sample prints from that checkpoint at temperature 0.8, seed 1', async () => {
    const last = readJson(path.join(dir, 'every2/latest.json')).training.samples.at(-1);
    const r = await charnn(['sample', '--checkpoint', 'every2/latest.json', '--temp', '0.8', '--length', '300', '--seed', '1'], dir);
    expect(r.stdout).toBe(last.text.endsWith('\n') ? last.text : last.text + '\n'); // the command line ends its text with a newline
  });

  it('prints the sample under the evaluation line', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '20', '--sample-every', '2', '--checkpoint-dir', 'shown'], dir);
    expect(r.code, r.stderr).toBe(0);
    const text = readJson(path.join(dir, 'shown/latest.json')).training.samples[0].text;
    const firstLine = text.split('\n').find((l: string) => l.length > 0);
    expect(r.stderr).toMatch(/iter 20 +epoch [\d.]+ +val loss [\d.]+.*\nsample at iteration 20 \(temperature 0\.8\):\n {2}│ /);
    expect(r.stderr).toContain(`  │ ${firstLine}`);
  });

  it('defaults to every 5th evaluation; 0 turns it off', async () => {
    const on = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '100', '--json', '--checkpoint-dir', 'default'], dir);
    expect(jsonEvents(on.stdout).filter((e) => e.type === 'sample').map((e) => e.iteration)).toEqual([50, 100]);
    const off = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '25', '--sample-every', '0', '--json', '--checkpoint-dir', 'off'], dir);
    expect(jsonEvents(off.stdout).filter((e) => e.type === 'sample')).toEqual([]);
    expect(readJson(path.join(dir, 'off/latest.json')).training.samples).toBeUndefined();
  });

  it('does not touch the training: N+M iterations equal N, stop, resume, M, byte for byte, and equal a run without samples', async () => {
    const common = ['corpus.txt', ...TINY, '--layers', '2', '--dropout', '0.2', '--eval-every', '5', '--sample-every', '1', '--lr-schedule', 'exp'];
    expect((await charnn(['train', ...common, '--max-iters', '24', '--checkpoint-dir', 'once'], dir)).code).toBe(0);
    expect((await charnn(['train', ...common, '--max-iters', '10', '--checkpoint-dir', 'twice'], dir)).code).toBe(0);
    expect((await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '24', '--checkpoint-dir', 'twice', '--threads', '1'], dir)).code).toBe(0);
    expect((await charnn(['train', ...common, '--sample-every', '0', '--max-iters', '24', '--checkpoint-dir', 'none'], dir)).code).toBe(0);
    const [once, twice, none] = ['once', 'twice', 'none'].map((d) => readJson(path.join(dir, d, 'latest.json')));
    for (const name of Object.keys(once.tensors)) {
      expect(twice.tensors[name].data, name).toBe(once.tensors[name].data);
      expect(none.tensors[name].data, name).toBe(once.tensors[name].data);
    }
    expect(twice.training.rng).toEqual(once.training.rng);
    // The resumed run's samples are the uninterrupted run's (it stopped on an evaluation, so none was added).
    expect(twice.training.samples).toEqual(once.training.samples);
  });

  it('info shows the last sample; --json gives it as lastSample', async () => {
    const last = readJson(path.join(dir, 'every2/latest.json')).training.samples.at(-1);
    const r = await charnn(['info', 'every2/latest.json'], dir);
    expect(r.stdout).toContain('sample at iteration 55 (temperature 0.8):\n  │ ');
    expect(r.stdout).toContain(`  │ ${last.text.split('\n')[0]}`);
    const info = JSON.parse((await charnn(['info', 'every2/latest.json', '--json'], dir)).stdout);
    expect(info.lastSample).toEqual(last);
  });

  it('viz shows all of them, oldest first', async () => {
    const r = await charnn(['viz', '--sample', '50', '--checkpoint', 'every2/latest.json', '--out', 'page.html'], dir);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(path.join(dir, 'page.html'), 'utf8');
    expect([...html.matchAll(/<div class="sample-head">iteration (\d+)/g)].map((m) => Number(m[1]))).toEqual([20, 40, 55]);
  });

  it('a bad --sample-every is a usage error', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--sample-every', '-1', '--checkpoint-dir', 'bad'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sample-every.*expected a whole number, 0 or more/);
  });
});

describe('samples kept in the checkpoint', () => {
  it('are due at every n-th evaluation and the last, never with 0', async () => {
    expect([10, 20, 30, 40].filter((it) => sampleDue(it, 10, 2, false))).toEqual([20, 40]);
    expect(sampleDue(33, 10, 2, true)).toBe(true);
    expect(sampleDue(40, 10, 0, true)).toBe(false);
  });

  it('stay at most MAX_SAMPLES, spread over the whole run: the first and the newest always kept', async () => {
    let samples: { iteration: number; valLoss: null; temperature: number; text: string }[] = [];
    for (let it = 1; it <= 1000; it++) samples = addSample(samples, { iteration: it, valLoss: null, temperature: 0.8, text: 'x' });
    expect(samples.length).toBe(MAX_SAMPLES);
    expect(samples[0].iteration).toBe(1);
    expect(samples.at(-1)!.iteration).toBe(1000);
    // Roughly even: no gap is more than three times another.
    const gaps = samples.slice(1).map((s, i) => s.iteration - samples[i].iteration);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3 * Math.min(...gaps));
  });
});
