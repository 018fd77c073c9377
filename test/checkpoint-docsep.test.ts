import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../src/checkpoint/format.js';
import { charnn, hasStackTrace, jsonEvents, readJson, syntheticText, tempDir } from './helpers/cli.js';

/**
 * Checkpoints from before several inputs record no document separator: they read one file with none.
 * The loader fills that in once, so train --resume and eval agree on it.
 */
const TINY = ['--layers', '1', '--hidden', '8', '--seq-length', '8', '--batch-size', '2', '--threads', '1', '--eval-every', '3', '--max-iters', '3'];
let dir: string;
let legacy: string;

beforeAll(async () => {
  dir = tempDir('docsep');
  fs.writeFileSync(path.join(dir, 'a.txt'), syntheticText(2000, 4));
  fs.writeFileSync(path.join(dir, 'b.txt'), syntheticText(2000, 5));
  fs.writeFileSync(path.join(dir, 'ab.txt'), syntheticText(2000, 4) + syntheticText(2000, 5));
  const r = await charnn(['train', 'a.txt', ...TINY, '--checkpoint-dir', 'run'], dir);
  expect(r.code, r.stderr).toBe(0);
  // What a run from before several inputs wrote: the record holds name, chars and sha256 only.
  const ckpt = readJson(path.join(dir, 'run/latest.json'));
  const { name, chars, sha256 } = ckpt.training.corpus;
  ckpt.training.corpus = { name, chars, sha256 };
  legacy = JSON.stringify(ckpt);
  fs.writeFileSync(path.join(dir, 'run/latest.json'), legacy);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a checkpoint without corpus.docSep', () => {
  it('loads as having had no separator', () => {
    expect(parseCheckpoint(legacy, 'legacy.json').training.corpus.docSep).toBeNull();
    const current = JSON.parse(legacy);
    current.training.corpus.docSep = '\u001e';
    expect(parseCheckpoint(JSON.stringify(current), 'current.json').training.corpus.docSep).toBe('\u001e');
    current.training.corpus.docSep = ''; // what --doc-sep none recorded before the command line passed null
    expect(parseCheckpoint(JSON.stringify(current), 'none.json').training.corpus.docSep).toBeNull();
  });

  it('eval reads several files as training read them, with nothing between: the same loss as their concatenation', async () => {
    const scores = await Promise.all([['a.txt', 'b.txt'], ['ab.txt']].map(async (inputs) => {
      const r = await charnn(['eval', 'run/latest.json', ...inputs, '--json'], dir);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    }));
    expect(scores[0].files).toBe(2);
    expect(scores[0].chars).toBe(scores[1].chars);
    expect(scores[0].lossNats).toBe(scores[1].lossNats);
  });

  it('train --resume --doc-sep takes none as the run\'s separator and refuses another, naming none', async () => {
    const refused = await charnn(['train', 'a.txt', '--resume', 'run/latest.json', '--doc-sep', '\\x1e', '--max-iters', '6'], dir);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/^charnn: --doc-sep cannot change when resuming \(the run uses none\); drop it, or start a new run with --init-from run\/latest\.json\n$/);
    expect(hasStackTrace(refused.stderr)).toBe(false);

    const r = await charnn(['train', 'a.txt', '--resume', '--checkpoint-dir', 'run', '--doc-sep', 'none', '--max-iters', '6', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonEvents(r.stdout)[0]).toMatchObject({ type: 'start', files: 1 });
    const resumed = readJson(path.join(dir, 'run/latest.json')).training;
    expect(resumed.iteration).toBe(6);
    expect(resumed.corpus).toMatchObject({ docSep: null, files: [{ path: 'a.txt' }] });
  });
});

describe('--doc-sep none', () => {
  it('trains on several files with nothing between them, records none, and resumes with --doc-sep none', async () => {
    const r = await charnn(['train', 'a.txt', 'b.txt', ...TINY, '--doc-sep', 'none', '--checkpoint-dir', 'none'], dir);
    expect(r.code, r.stderr).toBe(0);
    const corpus = readJson(path.join(dir, 'none/latest.json')).training.corpus;
    expect(corpus.docSep).toBeNull();
    expect(corpus.chars).toBe(fs.statSync(path.join(dir, 'ab.txt')).size);
    const resumed = await charnn(['train', 'a.txt', 'b.txt', '--resume', '--doc-sep', 'none', '--checkpoint-dir', 'none', '--max-iters', '5'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});
