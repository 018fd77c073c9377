#!/usr/bin/env node
// The CPU time one `charnn` command costs from start to exit, for short commands where starting is most
// of it: `info`, `sample --length 50` and a 5-iteration `train` of a tiny model, beside a bare `node`.
// With --baseline DIR, the same commands of another built checkout (its bin/charnn.js), alternated with
// this one's run by run, so that both see the same machine. Each figure is the median over --runs runs
// of the child's user + system time (Linux: /proc/self/stat's cutime and cstime, in clock ticks).
//
//   node scripts/cli-start-time.mjs [--runs 15] [--baseline DIR]
//
// BENCHMARKS.md ("Starting the command line") quotes its output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const runs = Number(option('--runs', '15'));
const baseline = option('--baseline', null);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('cli-start-time: --runs takes a whole number, 1 or more');
  process.exit(2);
}
if (!fs.existsSync('/proc/self/stat')) {
  console.error('cli-start-time: needs Linux (/proc), where a child\'s CPU time can be read');
  process.exit(2);
}
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const checkouts = [['this', here], ...(baseline ? [['baseline', path.resolve(baseline)]] : [])];
for (const [, dir] of checkouts) {
  if (!fs.existsSync(path.join(dir, 'bin/charnn.js'))) {
    console.error(`cli-start-time: no bin/charnn.js in ${dir}; give a built charnn checkout`);
    process.exit(2);
  }
}

/** CPU seconds used by this process's waited-for children so far (utime + stime of the children). */
function childrenCpu() {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime (fields 16, 17), at 100 ticks a second
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-start-time-'));
/** A command that did not run as it should: one line, the temporary folder removed, exit 1. */
function fail(message) {
  fs.rmSync(temp, { recursive: true, force: true });
  console.error(`cli-start-time: ${message}`);
  process.exit(1);
}
try {
  fs.copyFileSync(path.join(here, 'corpora/lighthouse.txt'), path.join(temp, 'corpus.txt'));
  const tiny = ['corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '5', '--threads', '1', '--no-index'];
  const made = spawnSync(process.execPath, [path.join(here, 'bin/charnn.js'), 'train', ...tiny, '--max-iters', '5', '--checkpoint-dir', 'model'], { cwd: temp, encoding: 'utf8' });
  if (made.status !== 0) fail(`training the model to time on failed: ${made.stderr.trim().split('\n').pop()}`);
  const commands = [
    ['info', ['info', 'model/best.json']],
    ['sample --length 50', ['sample', '--checkpoint', 'model/best.json', '--length', '50', '--seed', '1']],
    ['train (5 iterations)', ['train', ...tiny, '--max-iters', '5', '--checkpoint-dir', 'timed', '--force']],
  ];
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = (argv) => {
    const before = childrenCpu();
    const r = spawnSync(process.execPath, argv, { cwd: temp, stdio: 'ignore' });
    if (r.status !== 0) fail(`node ${argv.join(' ')} exited ${r.status}`);
    return childrenCpu() - before;
  };
  const rows = [['node -e 0 (a bare start)', { this: [] }], ...commands.map(([name]) => [name, Object.fromEntries(checkouts.map(([label]) => [label, []]))])];
  for (let run = 0; run < runs; run++) {
    rows[0][1].this.push(time(['-e', '0']));
    commands.forEach(([, argv], i) => {
      for (const [label, dir] of checkouts) rows[i + 1][1][label].push(time([path.join(dir, 'bin/charnn.js'), ...argv]));
    });
  }
  console.log(`CPU seconds a command, median of ${runs} runs${baseline ? ` (baseline: ${baseline})` : ''}`);
  console.log(['command'.padEnd(26), 'this'.padStart(8), ...(baseline ? ['baseline'.padStart(9), 'ratio'.padStart(7)] : [])].join(''));
  for (const [name, by] of rows) {
    const mine = median(by.this), theirs = by.baseline ? median(by.baseline) : null;
    console.log([name.padEnd(26), mine.toFixed(3).padStart(8), ...(theirs !== null ? [theirs.toFixed(3).padStart(9), (theirs / mine).toFixed(2).padStart(7)] : [])].join(''));
  }
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
}
