import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, charnn, expectSameWeights, hasStackTrace, readJson, runNode, syntheticText, tempDir } from './helpers/cli.js';

/**
 * The data-parallel threads misbehaving for real, in the built CLI (see helpers/faulty-threads.mjs): a
 * wake-up with no command behind it changes nothing; a worker that hangs or crashes stops the run with
 * one line and exit 1, instead of hanging it for good, and leaves the last checkpoint as it was.
 */
const FAULTY_THREADS = fileURLToPath(new URL('./helpers/faulty-threads.mjs', import.meta.url));
const TWO_THREADS = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--threads', '2', '--eval-every', '10', '--json'];

let dir: string;

beforeAll(() => {
  dir = tempDir('threads');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
});

function charnnWithFault(args: string[], env: Record<string, string>) {
  return runNode(BIN, args, dir, env, { nodeOptions: ['--import', FAULTY_THREADS] });
}

const lastLine = (stderr: string) => stderr.trim().split('\n').at(-1)!;
const train = (ck: string, more: string[] = []) => ['train', 'corpus.txt', ...TWO_THREADS, '--checkpoint-dir', ck, ...more];

describe('training threads', () => {
  it('a wake-up with no new command behind it is not taken for one: the run is the same to the bit', async () => {
    const clean = await charnn(train('clean', ['--max-iters', '30', '--dropout', '0.1']), dir);
    expect(clean.code, clean.stderr).toBe(0);
    const late = await charnnWithFault(train('late', ['--max-iters', '30', '--dropout', '0.1']), { FAULT: 'late-notify' });
    expect(late.code, late.stderr).toBe(0);
    expectSameWeights(path.join(dir, 'clean/latest.json'), path.join(dir, 'late/latest.json'), 30);
  });

  it('a worker that stops answering ends the run with exit 1 and the last checkpoint as it was; --resume goes on', async () => {
    const r = await charnnWithFault(train('hang', ['--max-iters', '100']), { FAULT: 'worker-hang', FAULT_AFTER: '80', CHARNN_STALL_SECONDS: '5' });
    expect(r.code, r.stderr).toBe(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const latest = path.join('hang', 'latest.json');
    expect(lastLine(r.stderr)).toBe(`charnn: training stopped: a training thread has not answered for ${lastLine(r.stderr).match(/for (\d+) s/)?.[1]} s ` +
      `and is taken for stuck; ${latest} is as it was at its last save; continue with --resume (--threads 1 trains without worker threads)`);
    const saved = readJson(path.join(dir, latest)).training.iteration;
    expect(saved % 10).toBe(0);
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(100);
    const resumed = await charnn(train('hang', ['--max-iters', '100', '--resume']), dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readJson(path.join(dir, latest)).training.iteration).toBe(100);
  });

  it('a worker that crashes ends the run at once with its error, exit 1, and the last checkpoint as it was', async () => {
    const r = await charnnWithFault(train('crash', ['--max-iters', '100']), { FAULT: 'worker-crash', FAULT_AFTER: '80' });
    expect(r.code, r.stderr).toBe(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const latest = path.join('crash', 'latest.json');
    expect(lastLine(r.stderr)).toBe('charnn: training stopped: a training thread ended unexpectedly: Error: injected crash of a training thread; ' +
      `${latest} is as it was at its last save; continue with --resume (--threads 1 trains without worker threads)`);
    const info = await charnn(['info', latest, '--json'], dir);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).iteration % 10).toBe(0);
  });
});
