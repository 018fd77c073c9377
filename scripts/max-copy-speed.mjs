#!/usr/bin/env node
// Measures what the copy guard costs sampling, as BENCHMARKS.md quotes (goal: 2×128 with --max-copy 30
// at ≥ 50% of the speed without it). Trains a 2×128 LSTM on a real text for --train-time (its index is
// written at the end of training), or takes --checkpoint (with its corpus.index beside it), then times
// `charnn sample --length N` without and with `--max-copy 30`, interleaved over several rounds (the same
// seeds in both), and reports each run's characters per second and the ratio of the medians.
//
//   node scripts/max-copy-speed.mjs [--checkpoint FILE] [--text FILE] [--train-time 2m] [--length 20000]
//                                   [--rounds 5] [--max-copy 30] [--json]
//
// The text defaults to ../shared/corpora/tinyshakespeare.txt when it exists, else corpora/lighthouse.txt.
// A temp folder (when training) is deleted after. Each time is of the whole command, start-up included.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { args, helpIfAsked, option, repo, textFile as textOf } from './script-options.mjs';

helpIfAsked(import.meta.url);
const whole = (name, fallback) => {
  const value = Number(option(name, fallback));
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`max-copy-speed: ${name} takes a whole number of at least 1\n`);
    process.exit(2);
  }
  return value;
};
const length = whole('--length', '20000');
const rounds = whole('--rounds', '5');
const maxCopy = whole('--max-copy', '30');
const bin = path.join(repo, 'bin/charnn.js');

function charnn(argv) {
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    process.stderr.write(`max-copy-speed: charnn ${argv[0]} failed: ${r.stderr.trim()}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  return r;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-max-copy-speed-'));
process.on('SIGINT', () => {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(130);
});
try {
  let checkpoint = option('--checkpoint', null);
  if (checkpoint === null) {
    const text = textOf();
    process.stderr.write(`training 2×128 on ${text} for ${option('--train-time', '2m')}…\n`);
    charnn(['train', text, '--layers', '2', '--hidden', '128', '--time-limit', option('--train-time', '2m'), '--threads', '1', '--seed', '1',
      '--checkpoint-dir', path.join(dir, 'run')]);
    checkpoint = path.join(dir, 'run/best.json');
  }
  const runs = { plain: [], guarded: [] };
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? ['plain', 'guarded'] : ['guarded', 'plain']) {
      const sample = ['sample', '--checkpoint', checkpoint, '--length', String(length), '--seed', String(round + 1), '--json',
        ...(kind === 'guarded' ? ['--max-copy', String(maxCopy)] : [])];
      const start = process.hrtime.bigint();
      const r = charnn(sample);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const generated = [...JSON.parse(r.stdout).text].length;
      runs[kind].push(generated / seconds);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const result = {
    checkpoint, length, rounds, maxCopy,
    plainCharsPerSecond: Math.round(median(runs.plain)), guardedCharsPerSecond: Math.round(median(runs.guarded)),
    ratio: Number((median(runs.guarded) / median(runs.plain)).toFixed(3)),
    runs: { plain: runs.plain.map(Math.round), guarded: runs.guarded.map(Math.round) },
  };
  if (args.includes('--json')) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`sample --length ${length}, ${rounds} rounds interleaved (median chars/s):\n` +
      `  without the guard      ${result.plainCharsPerSecond}  (${result.runs.plain.join(', ')})\n` +
      `  with --max-copy ${maxCopy}     ${result.guardedCharsPerSecond}  (${result.runs.guarded.join(', ')})\n` +
      `  ratio ${(result.ratio * 100).toFixed(1)}% (goal ≥ 50%)\n`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
