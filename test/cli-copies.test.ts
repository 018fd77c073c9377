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

/** A text of twelve rotations of one sentence, which a small model learns by heart. */
function poem(): string {
  const words = 'the keeper lit the lamp at dusk and the sea was grey and the wind came from the north east and the bell rang twice before the boat came in under the cliff where the gulls sleep'.split(' ');
  return Array.from({ length: 12 }, (_, i) => [...words.slice(i), ...words.slice(0, i)].join(' ') + '.\n').join('');
}

describe('copies in samples', () => {
  const SAMPLE = ['sample', '--checkpoint', 'checkpoints/poem/best.json', '--seed', '1', '--length', '300', '--temp', '0.5'];

  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'poem.txt'), poem());
    const r = await charnn(['train', 'poem.txt', '--layers', '1', '--hidden', '64', '--seq-length', '32', '--batch-size', '4', '--max-iters', '400',
      '--lr', '0.01', '--eval-every', '100', '--val-frac', '0.05', '--threads', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it('--copies reports a memorising model\'s long copies, with file and line', async () => {
    const r = await charnn([...SAMPLE, '--copies', '--count', '2'], dir);
    expect(r.code, r.stderr).toBe(0);
    const reports = [...r.stderr.matchAll(/^sample (\d): longest copy (\d+) characters, ".*" \(poem\.txt:(\d+)\); (\d+)% of its 10-character windows are new$/gm)];
    expect(reports.map((m) => m[1])).toEqual(['1', '2']);
    for (const m of reports) expect(Number(m[2])).toBeGreaterThan(60);
    const json = await charnn([...SAMPLE, '--copies', '--json'], dir);
    const line = JSON.parse(json.stdout);
    expect(line.copies.longest.source.path).toBe('poem.txt');
    expect(poem()).toContain(line.copies.longest.text);
    expect(line.text).toContain(line.copies.longest.text);
  });

  it('--max-copy 20 samples hold no 21-character span of the training text (checked against the text itself)', async () => {
    const text = poem();
    for (const extra of [[], ['--argmax'], ['--prime', 'the keeper lit the lamp at dusk']]) {
      const r = await charnn([...SAMPLE, '--max-copy', '20', '--json', ...extra], dir);
      expect(r.code, r.stderr).toBe(0);
      const sample = JSON.parse(r.stdout).text as string;
      const generated = sample.slice(extra[0] === '--prime' ? extra[1].length - 20 : 0);
      for (let i = 0; i + 21 <= generated.length; i++) expect(text.includes(generated.slice(i, i + 21)), JSON.stringify(generated.slice(i, i + 21))).toBe(false);
    }
  });

  it('a missing or stale index is refused with one line (exit 2)', async () => {
    fs.mkdirSync(path.join(dir, 'stale'));
    fs.copyFileSync(path.join(dir, 'checkpoints/poem/best.json'), path.join(dir, 'stale/best.json'));
    const missing = await charnn(['sample', '--checkpoint', 'stale/best.json', '--copies'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^charnn: stale\/corpus\.index does not exist: build the corpus index with charnn index/);
    fs.copyFileSync(path.join(dir, 'checkpoints/notes/corpus.index'), path.join(dir, 'stale/corpus.index'));
    const stale = await charnn(['sample', '--checkpoint', 'stale/best.json', '--max-copy', '10'], dir);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/^charnn: stale\/corpus\.index indexes another text than the run's corpus \(stale or from another run\); build it again with charnn index\n$/);
  });
});
