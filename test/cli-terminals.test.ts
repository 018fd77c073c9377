import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, charnn, syntheticText, tempDir } from './helpers/cli.js';

// A pseudo-terminal of a chosen size, from util-linux's `script`: a terminal of 0 columns is what some CI
// and container terminals report.
const scriptMissing = spawnSync('script', ['--version']).error !== undefined;
if (scriptMissing) console.log('terminal tests skipped: `script` (util-linux) is not installed');

/** Cursor movement, line clearing, hiding the cursor: what a spinner redrawing its line writes (ora shows the cursor again at exit). */
const REDRAW = /\x1b\[(\d*[ABGK]|\?25l)/;
/** The output, line ends as the pty wrote them (\r\n) made plain. */
const lines = (output: string) => output.replace(/\r\n/g, '\n');
const FLOOD = 1_000_000;
/** The end of a run's output, for a failure's message. */
const tail = (run: PtyRun) => run.output().slice(-3000);

interface PtyRun {
  /** charnn's own process, inside the pty. */
  pid: Promise<number>;
  output: () => string;
  /** Resolves with the exit code `script -e` passes on (charnn's). */
  done: Promise<number | null>;
}

let dir: string;
const leftovers: (() => void)[] = [];

/**
 * Runs `charnn ...args` in a pty of `columns` columns, with TERM and without NO_COLOR unless `env` says
 * so, and without CI (which turns the spinner off). `before` is shell run first, in the pty (it may start a background job).
 */
function inPty(args: string[], columns: number, env: NodeJS.ProcessEnv = {}, before = ''): PtyRun {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const pidFile = path.join(dir, `pid-${leftovers.length}`);
  // `exec` makes the shell that wrote its pid into charnn's process.
  const command = `stty cols ${columns} rows 24; ${before} echo $$ > ${quote(pidFile)}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  // CI runs set CI, which (as in ora) means "no spinner": the test says itself which terminal it wants.
  const { NO_COLOR: _, CI: __, ...inherited } = process.env;
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { ...inherited, TERM: 'xterm-256color', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const readPid = () => (fs.existsSync(pidFile) && /^\d+\n$/.test(fs.readFileSync(pidFile, 'utf8')) ? Number(fs.readFileSync(pidFile, 'utf8')) : null);
  let output = '';
  let finished = false;
  const kill = () => {
    const pid = readPid();
    if (!finished && pid !== null) process.kill(pid, 'SIGKILL');
  };
  const collect = (d: string) => {
    output += d;
    // A flood of escape codes (the old spinner at 0 columns wrote 40 MB/s, for ever) ends the run.
    if (output.length > FLOOD && output.length - d.length <= FLOOD) {
      output += `\n[the test killed charnn after ${FLOOD} characters of output]`;
      kill();
    }
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const run: PtyRun = {
    pid: waitFor(readPid),
    output: () => output,
    done: new Promise((resolve) => child.on('close', (code) => {
      finished = true;
      resolve(code);
    })),
  };
  leftovers.push(kill); // a run a failed test left behind (the old spinner hung, deaf to SIGTERM)
  return run;
}

/** Polls until `value` gives something (no deadline: the test's timeout is the deadline). */
async function waitFor<T>(value: () => T | null): Promise<T> {
  for (;;) {
    const v = value();
    if (v !== null) return v;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// --max-epochs far away: --time-limit (or a signal) is what ends a run, however fast the machine.
const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '8', '--threads', '1', '--sample-every', '0', '--max-epochs', '1000000'];

beforeAll(async () => {
  dir = tempDir('terminals');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(20_000));
});

afterAll(() => {
  for (const leftover of leftovers) leftover();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ROOM = { timeout: 300_000 };

describe.skipIf(scriptMissing)('progress in a terminal of 0 columns', ROOM, () => {
  it('train ends by its --time-limit, printing plain lines and no redraws', async () => {
    const run = inPty(['train', 'corpus.txt', ...TINY, '--time-limit', '3s', '--eval-every', '20', '--checkpoint-dir', 'zero'], 0);
    expect(await run.done, tail(run)).toBe(0);
    const out = lines(run.output());
    expect(out).toMatch(/^iter 20 {2}epoch \d+\.\d\d {2}val loss \d\.\d{4}/m);
    expect(out).toMatch(/^reached --time-limit at iteration \d+ .*; saved zero\/latest\.json/m);
    expect(out).not.toMatch(REDRAW);
  });

  it('SIGTERM stops train there: it saves and exits 143', async () => {
    const run = inPty(['train', 'corpus.txt', ...TINY, '--time-limit', '10m', '--eval-every', '10', '--checkpoint-dir', 'zero-term'], 0);
    await waitFor(() => (/val loss/.test(run.output()) ? true : null));
    process.kill(await run.pid, 'SIGTERM');
    expect(await run.done, tail(run)).toBe(143);
    expect(lines(run.output())).toMatch(/interrupted \(SIGTERM\): saving a checkpoint/);
    expect(fs.existsSync(path.join(dir, 'zero-term', 'latest.json'))).toBe(true);
  });

  it('sample, info and eval run there as anywhere', async () => {
    expect((await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '10', '--checkpoint-dir', 'small'], dir)).code).toBe(0);
    for (const args of [['sample', '--checkpoint', 'small/latest.json', '--length', '20', '--seed', '1'], ['info', 'small/latest.json'],
      ['eval', 'small/latest.json', 'corpus.txt']]) {
      const run = inPty(args, 0);
      expect(await run.done, args.join(' ')).toBe(0);
      expect(run.output()).not.toMatch(REDRAW);
    }
  });
});

describe.skipIf(scriptMissing)('progress in a terminal that can redraw, and one that cannot', ROOM, () => {
  it('80 columns: a spinner line redrawn in place, and train still ends by its --time-limit', async () => {
    const run = inPty(['train', 'corpus.txt', ...TINY, '--time-limit', '3s', '--checkpoint-dir', 'wide'], 80);
    expect(await run.done, tail(run)).toBe(0);
    expect(run.output()).toMatch(REDRAW);
    expect(run.output()).toMatch(/iter \d+\/\d+ {2}epoch/);
    expect(lines(run.output())).toMatch(/reached --time-limit at iteration \d+/);
  });

  it('TERM=dumb: plain lines, no redraws and no colour', async () => {
    const run = inPty(['train', 'corpus.txt', ...TINY, '--time-limit', '3s', '--eval-every', '20', '--checkpoint-dir', 'dumb'], 80, { TERM: 'dumb' });
    expect(await run.done, tail(run)).toBe(0);
    const out = lines(run.output());
    expect(out).toMatch(/^charnn training a 1×16 LSTM/m);
    expect(out).toMatch(/^iter 20 {2}epoch \d+\.\d\d {2}val loss \d\.\d{4}/m);
    expect(out).toMatch(/^reached --time-limit at iteration \d+/m);
    expect(out).not.toMatch(/\x1b/);
  });

  it('NO_COLOR: the spinner still redraws, without colour', async () => {
    const run = inPty(['train', 'corpus.txt', ...TINY, '--max-iters', '30', '--checkpoint-dir', 'no-colour'], 80, { NO_COLOR: '1' });
    expect(await run.done, tail(run)).toBe(0);
    expect(run.output()).toMatch(REDRAW);
    expect(run.output()).not.toMatch(/\x1b\[\d+(;\d+)*m/);
  });

  it('a terminal resized to 0 columns while training gets plain lines from then on, and SIGTERM still stops it', async () => {
    // The background job shrinks the terminal once the test creates the file `shrink`.
    const run = inPty(['train', 'corpus.txt', ...TINY, '--time-limit', '10m', '--eval-every', '10', '--checkpoint-dir', 'shrunk'], 80, {},
      `(while [ ! -e shrink ]; do sleep 0.1; done; stty cols 0 < /dev/tty; touch shrunk-now) &`);
    // The spinner is up (its line shows the budget's last iteration only once the horizon is measured,
    // some 15 s into a 10-minute budget: not needed here).
    await waitFor(() => (/iter \d+(\/\d+)? {2}epoch/.test(run.output()) ? true : null));
    fs.writeFileSync(path.join(dir, 'shrink'), '');
    await waitFor(() => (fs.existsSync(path.join(dir, 'shrunk-now')) ? true : null));
    // Two evaluation lines after the resize: the second was written with the spinner stopped.
    const shrunkAt = run.output().length;
    await waitFor(() => ((run.output().slice(shrunkAt).match(/val loss/g) ?? []).length >= 2 ? true : null));
    process.kill(await run.pid, 'SIGTERM');
    expect(await run.done, tail(run)).toBe(143);
    const after = run.output().slice(shrunkAt);
    const secondEval = after.indexOf('val loss', after.indexOf('val loss') + 1);
    expect(after.slice(secondEval)).not.toMatch(REDRAW);
    expect(after).toMatch(/interrupted \(SIGTERM\): saving a checkpoint/);
  });
});
