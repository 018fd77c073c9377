import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { charnn, runNode, syntheticText, tempDir, type RunResult } from './helpers/cli.js';

/** The measuring scripts BENCHMARKS.md quotes, run as a developer runs them. */
const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts');
let dir: string;

const script = (name: string, args: string[]) => runNode(path.join(SCRIPTS, name), args, dir);

beforeAll(async () => {
  dir = tempDir('scripts');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(5000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '2', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '60', '--eval-every', '30'], dir);
  expect(r.code, r.stderr).toBe(0);
});

describe('scripts/state-diagnostics.mjs', () => {
  // One run on the trained checkpoint serves both tests that read its report.
  let report: Promise<RunResult> | undefined;
  const diagnose = () => (report ??= script('state-diagnostics.mjs', ['checkpoints/corpus/best.json', 'corpus.txt']));

  it('scores the text as 1 to 64 streams, the 32-stream figure being what charnn eval reports', async () => {
    const r = await diagnose();
    expect(r.code, r.stderr).toBe(0);
    const rows = [...r.stdout.matchAll(/^ +(\d+) +(\d\.\d{4})$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(rows.map(([streams]) => streams)).toEqual([1, 4, 16, 32, 64]);
    const evaluated = await charnn(['eval', 'checkpoints/corpus/best.json', 'corpus.txt', '--json'], dir);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(rows[3][1]).toBeCloseTo(JSON.parse(evaluated.stdout).lossNats, 4);
  });

  it('counts the saturated cells of every layer and state', async () => {
    const r = await diagnose();
    const counts = [...r.stdout.matchAll(/L(\d)\.([hc]) (\d+) \((\d+)\)/g)];
    expect(new Set(counts.map((m) => `L${m[1]}.${m[2]}`))).toEqual(new Set(['L0.h', 'L0.c', 'L1.h', 'L1.c']));
    for (const m of counts) expect(Number(m[3])).toBeLessThanOrEqual(16); // of 16 cells
  });

  it('says how to call it when the arguments are missing', async () => {
    const r = await script('state-diagnostics.mjs', []);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: node scripts\/state-diagnostics\.mjs <checkpoint> <text file>/);
  });
});

describe('scripts/bench-gemm.mjs', () => {
  it('prints the SIMD peak and a GFLOP/s figure for each backend on every shape, with its share of the peak (a smoke test; the figures are not judged)', async () => {
    const r = await script('bench-gemm.mjs', ['--seconds', '0.01', '--turns', '1']);
    expect(r.code, r.stderr).toBe(0);
    const [peak, header, ...rows] = r.stdout.trim().split('\n');
    expect(peak).toMatch(/^peak of 128-bit SIMD, one thread: multiply \+ add \d+\.\d\d GFLOP\/s, relaxed fused multiply-add \d+\.\d\d GFLOP\/s$/);
    expect(header).toMatch(/^shape +M×N×K +js GFLOP\/s +wasm GFLOP\/s +wasm\/fused peak$/);
    expect(rows).toHaveLength(25);
    for (const row of rows) expect(row).toMatch(/\d+×\d+×\d+ +\d+\.\d\d +\d+\.\d\d +\d+%$/);
  });
});

describe('scripts/cli-start-time.mjs', () => {
  it.skipIf(!fs.existsSync('/proc/self/stat'))('gives the median CPU time of each command, beside a baseline checkout, with their ratio (a smoke test; the figures are not judged; skipped without /proc)', async () => {
    const root = path.resolve(SCRIPTS, '..');
    const r = await script('cli-start-time.mjs', ['--runs', '1', '--baseline', root]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`CPU seconds a command, median of 1 runs (baseline: ${root})`);
    expect(lines[2]).toMatch(/^node -e 0 \(a bare start\) +\d+\.\d{3}$/);
    for (const name of ['info', 'sample --length 50', 'train \\(5 iterations\\)']) {
      expect(lines.slice(3).join('\n')).toMatch(new RegExp(`^${name} +\\d+\\.\\d{3} +\\d+\\.\\d{3} +\\d+\\.\\d\\d$`, 'm'));
    }
    expect((await script('cli-start-time.mjs', ['--runs', 'x'])).stderr).toBe('cli-start-time: --runs takes a whole number, 1 or more\n');
  });
});

describe('scripts/big-corpus.mjs', () => {
  it.skipIf(!fs.existsSync('/usr/bin/time'))('builds a corpus in a temp folder, measures a short training run on it, and deletes the folder (skipped where /usr/bin/time is absent)', async () => {
    const r = await script('big-corpus.mjs', ['--sizes', '1MB', '--files', '3', '--iters', '2', '--train', '--layers 1 --hidden 16 --val-max-chars 1000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| 1MB in 3 files \| \d+\.\d \| \d+ \| \d+\.\d \| \d+ \| \d+\.\d \|$/m);
    const temp = /building the corpora in (\S+)/.exec(r.stderr)![1];
    expect(fs.existsSync(temp)).toBe(false);
  });

  it.skipIf(!fs.existsSync('/usr/bin/time'))('--stdin pipes the corpus to charnn train - (skipped where /usr/bin/time is absent)', async () => {
    const r = await script('big-corpus.mjs', ['--sizes', '200KB', '--stdin', '--iters', '1', '--train', '--layers 1 --hidden 16 --val-max-chars 1000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| 200KB on standard input \| \d+\.\d \| \d+ \| \d+\.\d \| \d+ \| \d+\.\d \|$/m);
  });

  it.skipIf(!fs.existsSync('/usr/bin/time'))('--charnn runs each of several checkouts on the same corpus in turn, --rounds times (skipped where /usr/bin/time is absent)', async () => {
    const checkout = path.resolve(SCRIPTS, '..');
    const r = await script('big-corpus.mjs', ['--sizes', '200KB', '--charnn', `${checkout},${checkout}`, '--rounds', '2', '--iters', '1', '--json',
      '--train', '--layers 1 --hidden 16 --val-max-chars 1000']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.charnn, row.corpus])).toEqual(Array.from({ length: 4 }, () => [checkout, '200KB']));
    expect(rows.every((row) => row.chars > 0 && row.peakRssMb > 0 && row.cpuSeconds > 0)).toBe(true);
    expect((await script('big-corpus.mjs', ['--charnn', dir])).stderr).toBe(`big-corpus: there is no ${path.join(dir, 'bin/charnn.js')}; give --charnn the folder of a charnn checkout\n`);
  });
});
