import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndex } from '../src/data/copy-index.js';
import { charnn, readJson, syntheticText, tempDir } from './helpers/cli.js';

const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '10', '--threads', '1'];

let dir: string;

beforeAll(() => {
  dir = tempDir('copies');
  fs.mkdirSync(path.join(dir, 'notes'));
  fs.writeFileSync(path.join(dir, 'notes/a.txt'), syntheticText(3000, 1));
  fs.writeFileSync(path.join(dir, 'notes/b.txt'), syntheticText(3000, 2));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the corpus index', () => {
  it('training writes it beside the checkpoints, for the text it trained on', async () => {
    const r = await charnn(['train', 'notes', ...TINY, '--max-iters', '10'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('indexed the corpus for sample --copies and --max-copy: checkpoints/notes/corpus.index');
    const sha = readJson(path.join(dir, 'checkpoints/notes/latest.json')).training.corpus.sha256;
    const index = loadIndex(path.join(dir, 'checkpoints/notes/corpus.index'), sha);
    const b = fs.readFileSync(path.join(dir, 'notes/b.txt'), 'utf8');
    // Three lines of b.txt are found in b.txt, at their line (the same three lines occur nowhere else).
    const span = b.split('\n').slice(7, 10).join('\n');
    expect(index.copies(span).longest).toEqual({ length: [...span].length, at: 0, text: span, source: { path: 'notes/b.txt', line: 8 } });
  });

  it('charnn index builds it again for a run, and refuses files that changed since', async () => {
    fs.rmSync(path.join(dir, 'checkpoints/notes/corpus.index'));
    const r = await charnn(['index', 'checkpoints/notes/best.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^indexed \d+ characters in [\d.]+ s: checkpoints\/notes\/corpus\.index\n$/);
    expect(fs.existsSync(path.join(dir, 'checkpoints/notes/corpus.index'))).toBe(true);

    fs.appendFileSync(path.join(dir, 'notes/a.txt'), 'One more line.\n');
    const changed = await charnn(['index', 'checkpoints/notes/best.json'], dir);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/^charnn: the files checkpoints\/notes\/best\.json was trained on have changed since; an index of them would not be the text the model learned\n$/);
  });

  it('charnn index cannot read standard input again, and says so', async () => {
    const r = await charnn(['train', '-', ...TINY, '--max-iters', '10', '--no-index'], dir, {}, syntheticText(3000, 3));
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'checkpoints/stdin/corpus.index'))).toBe(false);
    const again = await charnn(['index', 'checkpoints/stdin/latest.json'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/trained on standard input, which cannot be read again; its index is written when training ends/);
  });
});
