import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { BIN, charnn, hasStackTrace, startCharnn, syntheticText, tempDir } from './helpers/cli.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';

let dir: string;
const VOCAB = ['\n', ' ', 'a', 'b', 'c', 'd', 'e', '☃', '🦊'];

beforeAll(async () => {
  dir = tempDir('sample');
  await saveCheckpoint(path.join(dir, 'random.json'), handMadeCheckpoint(VOCAB, { randomWeights: 1, model: { hiddenSize: 16 } }));
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(8000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '200', '--eval-every', '50', '--lr', '0.01'], dir);
  expect(r.code, r.stderr).toBe(0);
});

// The tests only read the checkpoints beforeAll made: they run side by side.
describe.concurrent('charnn sample', () => {
  it('with no checkpoint anywhere, says how to train one (exit 2)', async () => {
    const empty = tempDir('empty');
    const r = await charnn(['sample'], empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no checkpoint found under \.\/checkpoints; train one first/);
    expect(r.stdout).toBe('');
  });

  it('without --checkpoint uses the newest best.json under ./checkpoints and names it on stderr', async () => {
    const r = await charnn(['sample', '--length', '50', '--seed', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sampling from checkpoints\/corpus\/best\.json/);
    expect([...r.stdout].length).toBe(50 + 1);
    expect(r.stdout.endsWith('\n')).toBe(true);
  });

  it('without a best.json, falls back to the newest latest.json', async () => {
    const only = tempDir('latest-only');
    fs.mkdirSync(path.join(only, 'checkpoints', 'run'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'random.json'), path.join(only, 'checkpoints', 'run', 'latest.json'));
    const r = await charnn(['sample', '--length', '5', '--seed', '1'], only);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sampling from checkpoints\/run\/latest\.json/);
    expect([...r.stdout].length).toBe(5 + 1);
    expect(r.stdout.endsWith('\n')).toBe(true);
  });

  it('writes exactly the prime and --length characters to stdout, and a final newline, valid UTF-8 with astral characters', async () => {
    const r = spawnSync(process.execPath, [BIN, 'sample', '--checkpoint', 'random.json', '--length', '300', '--seed', '4', '--prime', '🦊a'], { cwd: dir });
    expect(r.status).toBe(0);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(r.stdout);
    expect(text.startsWith('🦊a')).toBe(true);
    expect([...text].length).toBe(302 + 1);
    expect(text.endsWith('\n')).toBe(true);
    for (const c of text) expect(VOCAB).toContain(c);
  });

  it('the same --seed gives the same text', async () => {
    const args = ['sample', '--checkpoint', 'random.json', '--length', '200', '--seed', '9', '--temp', '0.7'];
    expect((await charnn(args, dir)).stdout).toBe((await charnn(args, dir)).stdout);
  });

  it('--count separates samples with a blank line; --stop ends each sample', async () => {
    const r = await charnn(['sample', '--checkpoint', 'random.json', '--count', '3', '--length', '5000', '--seed', '2', '--stop', 'ab'], dir);
    expect(r.code, r.stderr).toBe(0);
    const samples = r.stdout.split('\n\n');
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(r.stdout.match(/ab/g)!.length).toBe(3);
  });

  it('with --stop "\\n", --count gives one line per sample, each followed by one blank line', async () => {
    const r = await charnn(['sample', '--checkpoint', 'random.json', '--count', '3', '--length', '5000', '--seed', '5', '--stop', '\\n'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[^\n]*\n\n[^\n]*\n\n[^\n]*\n$/);
  });

  it('--json prints each sample as one line, so samples that are only a newline stay apart', async () => {
    const r = await charnn(['sample', '--checkpoint', 'random.json', '--count', '1000', '--length', '1', '--seed', '6', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const samples = r.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).text);
    expect(samples).toHaveLength(1000);
    for (const text of samples) expect([...text]).toHaveLength(1);
    // the same seed, without --json: the same samples, joined by blank lines
    const plain = await charnn(['sample', '--checkpoint', 'random.json', '--count', '1000', '--length', '1', '--seed', '6'], dir);
    expect(plain.stdout.replace(/\n/g, '')).toBe(samples.join('').replace(/\n/g, ''));
  });

  it('--argmax and a tiny --temp give the same text; --top-k 1 too', async () => {
    const run = async (...extra: string[]) => (await charnn(['sample', '--checkpoint', 'random.json', '--length', '200', '--prime', 'ab', '--seed', '3', ...extra], dir)).stdout;
    const greedy = await run('--argmax');
    expect(await run('--temp', '1e-6')).toBe(greedy);
    expect(await run('--top-k', '1')).toBe(greedy);
  });

  it('rejects a temperature of 0 and other bad values with exit 2', async () => {
    const bads = [['--temp', '0'], ['--temp', '-1'], ['--temp', 'hot'], ['--top-k', '0'], ['--top-k', '2.5'], ['--top-p', '0'], ['--top-p', '1.5'],
      ['--length', '-3'], ['--count', '0'], ['--prime-unknown', 'ignore'], ['--backend', 'cuda'],
      ['--seed', '4294967296'], ['--seed', '-1'], ['--stop', '']];
    const runs = await Promise.all(bads.map((bad) => charnn(['sample', '--checkpoint', 'random.json', ...bad], dir)));
    for (const [i, bad] of bads.entries()) {
      const r = runs[i];
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.stderr, bad.join(' ')).toMatch(new RegExp(`option '${bad[0]} <[a-z]+>' argument '${bad[1]}' is invalid`));
      expect(r.stdout).toBe('');
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });

  it('refuses a prime with unknown characters, listing them; --prime-unknown skip warns and drops them', async () => {
    const refused = await charnn(['sample', '--checkpoint', 'random.json', '--prime', 'xyz', '--length', '5'], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/"x" "y" "z"/);
    const skipped = await charnn(['sample', '--checkpoint', 'random.json', '--prime', 'axb', '--prime-unknown', 'skip', '--length', '0'], dir);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toBe('ab\n');
    expect(skipped.stderr).toMatch(/dropped 1 prime character/);
  });

  it('streams: the first characters reach the pipe long before the sample ends', async () => {
    const child = startCharnn(['sample', '--checkpoint', 'random.json', '--length', '100000000', '--seed', '1'], dir);
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    expect(first.length).toBeGreaterThan(0);
    expect(child.exitCode).toBe(null); // still generating
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
  });

  it('a checkpoint that does not exist is a one-line error (exit 2)', async () => {
    const r = await charnn(['sample', '--checkpoint', 'nowhere.json'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('charnn: no checkpoint at nowhere.json — check the path\n');
  });

  it('a pipe closed early (| head -c 10) ends quietly with exit 0', async () => {
    // pipefail: the status is charnn's (head exits 0).
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" sample --checkpoint random.json --length 10000000 | head -c 10`], { cwd: dir });
    expect(r.status, String(r.stderr)).toBe(0);
    expect(r.stdout.length).toBe(10);
    expect(String(r.stderr)).toBe('');
  });
});

describe('any command', () => {
  it('help and info, written to a reader that has already gone, end quietly with exit 0 (no EPIPE stack)', async () => {
    for (const args of [['train', '--help'], ['info', 'random.json']]) {
      const child = startCharnn(args, dir);
      child.stdout.destroy(); // the reading end closes before charnn has started, so its first write fails
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
  });
});

describe('the library', () => {
  it("import { loadCheckpoint, sample } from 'charnn' runs the README example and gives the CLI's text", async () => {
    // A project that has charnn installed: node_modules/charnn is this package.
    const project = tempDir('library');
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(path.resolve(path.dirname(BIN), '..'), path.join(project, 'node_modules', 'charnn'), 'dir');
    fs.writeFileSync(path.join(project, 'generate.mjs'), `
import { loadCheckpoint, sample } from 'charnn';

const checkpoint = await loadCheckpoint(${JSON.stringify(path.join(dir, 'random.json'))});
for await (const char of sample(checkpoint, { temperature: 0.8, length: 300, prime: 'a b', seed: 1 })) {
  process.stdout.write(char);
}
`);
    const library = spawnSync(process.execPath, ['generate.mjs'], { cwd: project, encoding: 'utf8' });
    expect(library.status, library.stderr).toBe(0);
    const cli = await charnn(['sample', '--checkpoint', 'random.json', '--temp', '0.8', '--length', '300', '--prime', 'a b', '--seed', '1'], dir);
    expect([...library.stdout].length).toBe(303);
    expect(library.stdout + '\n').toBe(cli.stdout); // the command line ends its text with a newline
  });
});
