import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';
import { charnn, hasStackTrace, jsonEvents, readJson, syntheticText, tempDir } from './helpers/cli.js';

/** Small enough to train in well under a second per run. */
const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--eval-every', '5', '--max-iters', '5'];
const SEP = '\u001e';

let dir: string;
const write = (name: string, content: string | Uint8Array) => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  dir = tempDir('inputs');
  write('poems/spring/one.txt', syntheticText(3000, 1));
  write('poems/spring/two.md', syntheticText(2000, 2));
  write('poems/autumn.txt', syntheticText(3000, 3));
  write('poems/cover.png', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d));
  write('poems/old/latin1.txt', Buffer.concat([Buffer.from('line one\nhello caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  write('a.txt', syntheticText(3000, 4));
  write('b.txt', syntheticText(3000, 5));
});

function expectUsageError(r: Awaited<ReturnType<typeof charnn>>, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(hasStackTrace(r.stderr)).toBe(false);
}

describe('charnn train on a folder', () => {
  let run: Awaited<ReturnType<typeof charnn>>;
  beforeAll(async () => {
    run = await charnn(['train', 'poems', ...TINY], dir);
  });

  it('reads every text file below it in sorted order, into checkpoints/<folder name>', async () => {
    expect(run.code, run.stderr).toBe(0);
    const corpus = readJson(path.join(dir, 'checkpoints/poems/latest.json')).training.corpus;
    expect(corpus.files.map((f: { path: string }) => f.path)).toEqual(['poems/autumn.txt', 'poems/spring/one.txt', 'poems/spring/two.md']);
    expect(corpus.files[0]).toEqual({ path: 'poems/autumn.txt', bytes: Buffer.byteLength(syntheticText(3000, 3)), sha256: sha256(syntheticText(3000, 3)) });
    expect(corpus.docSep).toBe(SEP);
    const lengths = [3, 1, 2].map((seed, i) => syntheticText(i === 2 ? 2000 : 3000, seed).length);
    expect(corpus.chars).toBe(lengths.reduce((a, b) => a + b) + 2); // two separators
    expect(run.stderr).toMatch(/on poems \(3 files, /);
  });

  it('skips the binary and the invalid file with one warning line that names both', async () => {
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning: skipped'));
    expect(warnings).toEqual([
      'warning: skipped 2 files that are not readable UTF-8 text: poems/cover.png (binary: a NUL byte at offset 8), ' +
      'poems/old/latin1.txt (not UTF-8: byte 0xE9 at offset 18, line 2)',
    ]);
  });

  it('learns the document separator, so a sample can stop at the end of a document', async () => {
    const ckpt = readJson(path.join(dir, 'checkpoints/poems/latest.json'));
    expect(ckpt.vocab).toContain(SEP);
  });

  it('--include chooses the files', async () => {
    const r = await charnn(['train', 'poems', '--include', '*.md', ...TINY, '--batch-size', '2', '--checkpoint-dir', 'md-only'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(path.join(dir, 'md-only/latest.json')).training.corpus.files.map((f: { path: string }) => f.path)).toEqual(['poems/spring/two.md']);
  });

  it('--resume is refused once a file changed, naming what changed and pointing to --init-from; nothing is written', async () => {
    const latest = path.join(dir, 'checkpoints/poems/latest.json');
    const before = fs.readFileSync(latest);
    write('poems/spring/one.txt', syntheticText(3000, 9)); // the same size, other text: found while reading
    write('poems/winter.txt', 'snow\n');
    const r = await charnn(['train', 'poems', '--resume', '--max-iters', '10'], dir);
    expectUsageError(r, /^charnn: checkpoints\/poems\/latest\.json was trained on another corpus: poems\/winter\.txt added, poems\/spring\/one\.txt modified; .*use --init-from checkpoints\/poems\/latest\.json\n$/);
    fs.rmSync(path.join(dir, 'poems/spring/two.md'));
    expectUsageError(await charnn(['train', 'poems', '--resume'], dir), /poems\/winter\.txt added, poems\/spring\/two\.md removed, poems\/spring\/one\.txt modified;/);
    expect(fs.readFileSync(latest).equals(before)).toBe(true);
    // --init-from takes the weights on to the changed folder.
    const fine = await charnn(['train', 'poems', '--init-from', latest, '--checkpoint-dir', 'poems-v2', '--max-iters', '3'], dir);
    expect(fine.code, fine.stderr).toBe(0);
  });
});

describe('charnn train on several files', () => {
  it('reads them in the order given, names the run after the first, and resumes on the same files', async () => {
    const r = await charnn(['train', 'b.txt', 'a.txt', ...TINY], dir);
    expect(r.code, r.stderr).toBe(0);
    const corpus = readJson(path.join(dir, 'checkpoints/b/latest.json')).training.corpus;
    expect(corpus.files.map((f: { path: string }) => f.path)).toEqual(['b.txt', 'a.txt']);
    const resumed = await charnn(['train', 'b.txt', 'a.txt', '--resume', '--max-iters', '8'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readJson(path.join(dir, 'checkpoints/b/latest.json')).training.iteration).toBe(8);
    expectUsageError(await charnn(['train', 'a.txt', 'b.txt', '--resume', '--checkpoint-dir', 'checkpoints/b'], dir), /trained on another corpus: the same files are read in another order;/);
  });

  it('--doc-sep cannot change on resume', async () => {
    expectUsageError(await charnn(['train', 'b.txt', 'a.txt', '--resume', '--doc-sep', '\\n'], dir), /--doc-sep cannot change when resuming \(the run uses "\\u001e"\)/);
  });

  it('refuses when no file holds text, naming each', async () => {
    expectUsageError(await charnn(['train', 'poems/cover.png', 'poems/old/latin1.txt'], dir), /^charnn: no text to learn from: skipped 2 files .*cover\.png \(binary.*latin1\.txt \(not UTF-8: byte 0xE9 at offset 18, line 2\)/);
  });
});

describe('charnn train on standard input', () => {
  const text = syntheticText(6000, 7);

  it('reads a pipe into checkpoints/stdin, records it by hash, and resumes only on the same bytes', async () => {
    const r = await charnn(['train', '-', ...TINY], dir, {}, text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/on standard input \(/);
    const corpus = readJson(path.join(dir, 'checkpoints/stdin/latest.json')).training.corpus;
    expect(corpus.files).toEqual([{ path: '-', bytes: text.length, sha256: sha256(text) }]);
    expect(corpus.sha256).toBe(sha256(text));
    expect((await charnn(['train', '-', '--resume', '--max-iters', '7'], dir, {}, text)).code).toBe(0);
    expectUsageError(await charnn(['train', '-', '--resume', '--max-iters', '9'], dir, {}, text + 'more\n'),
      /trained on another corpus: standard input modified; .*--init-from/);
  });
});

describe('checkpoints from before several inputs', () => {
  it('still resume: a single-file record (name, chars, sha256) matches the same file, and gains its list of files', async () => {
    expect((await charnn(['train', 'a.txt', ...TINY, '--checkpoint-dir', 'legacy'], dir)).code).toBe(0);
    const file = path.join(dir, 'legacy/latest.json');
    const ckpt = readJson(file);
    ckpt.training.corpus = { name: 'a', chars: ckpt.training.corpus.chars, sha256: ckpt.training.corpus.sha256 };
    delete ckpt.config.valMaxChars; // runs before --val-max-chars scored all of the split
    fs.writeFileSync(file, JSON.stringify(ckpt));
    expectUsageError(await charnn(['train', 'b.txt', '--resume', 'legacy/latest.json'], dir), /trained on another corpus: it was trained on a \(\d+ characters\), this corpus differs;/);
    const r = await charnn(['train', 'a.txt', '--resume', '--checkpoint-dir', 'legacy', '--max-iters', '7', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonEvents(r.stdout)[0].config.valMaxChars).toBeNull();
    expect(readJson(file).training.corpus.files).toEqual([{ path: 'a.txt', bytes: Buffer.byteLength(syntheticText(3000, 4)), sha256: ckpt.training.corpus.sha256 }]);
  });
});

describe('validation', () => {
  it('says at the start how much of the held-out text it scores; the default is bounded, --val-max-chars all scores all', async () => {
    const r = await charnn(['train', 'a.txt', ...TINY, '--checkpoint-dir', 'val-default'], dir);
    const held = Math.floor(Buffer.byteLength(syntheticText(3000, 4)) * 0.1);
    expect(r.stderr).toMatch(new RegExp(`\nvalidation: all ${held} held-out characters at each evaluation\n`));
    const capped = await charnn(['train', 'a.txt', ...TINY, '--checkpoint-dir', 'val-capped', '--val-max-chars', '100'], dir);
    expect(capped.stderr).toMatch(/\nvalidation: 100 of the \d+ held-out characters at each evaluation, in windows spread over them \(--val-max-chars\)\n/);
    const all = await charnn(['train', 'a.txt', ...TINY, '--checkpoint-dir', 'val-all', '--val-max-chars', 'all', '--json'], dir);
    // All of it: 4 streams of ⌊(held − 1)/4⌋ characters.
    expect(jsonEvents(all.stdout)[0]).toMatchObject({ type: 'start', valChars: held, valScored: 4 * Math.floor((held - 1) / 4), config: { valMaxChars: null } });
    expect(readJson(path.join(dir, 'val-default/latest.json')).config.valMaxChars).toBe(250_000);
  });
});

describe('charnn eval on the same inputs', () => {
  it('scores a folder, several files and standard input', async () => {
    const ckpt = 'checkpoints/b/latest.json';
    const folder = await charnn(['eval', ckpt, 'poems', '--json'], dir);
    expect(folder.code, folder.stderr).toBe(0);
    expect(JSON.parse(folder.stdout)).toMatchObject({ inputs: ['poems'], files: 3 });
    expect(folder.stderr).toMatch(/^warning: skipped 2 files/);
    const several = JSON.parse((await charnn(['eval', ckpt, 'a.txt', 'b.txt', '--json'], dir)).stdout);
    expect(several.files).toBe(2);
    const piped = await charnn(['eval', ckpt, '-'], dir, {}, fs.readFileSync(path.join(dir, 'a.txt')));
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^\d\.\d{4} nats\/char {2}\d\.\d{4} bits\/char {2}over \d+ characters of -\n$/);
    expect(piped.stdout).toBe((await charnn(['eval', ckpt, 'a.txt'], dir)).stdout.replace('of a.txt', 'of -'));
  });
});

describe('charnn eval on text the model cannot read', () => {
  it('a text of characters all outside the vocabulary is a one-line error that lists them', async () => {
    write('snow.txt', '☃☃☃');
    write('snowy/a.txt', '☃');
    write('snowy/b.txt', '❄');
    for (const input of ['snow.txt', 'snowy']) {
      const r = await charnn(['eval', 'checkpoints/b/latest.json', input], dir);
      expectUsageError(r, /^charnn: no character of the corpus is in the model's vocabulary \("☃"/);
    }
  });
});

describe('charnn sample --stop with the document separator', () => {
  it("ends a sample at the end of a document with --stop '\\x1e'", async () => {
    await saveCheckpoint(path.join(dir, 'docs.json'), handMadeCheckpoint(['a', 'b', SEP], { decoderBias: [2, 2, 0] }));
    const r = await charnn(['sample', '--checkpoint', 'docs.json', '--length', '100000', '--seed', '3', '--stop', '\\x1e', '--count', '2'], dir);
    expect(r.code, r.stderr).toBe(0);
    const samples = r.stdout.split('\n\n');
    expect(samples).toHaveLength(2);
    for (const s of samples) expect(s).toMatch(/^[ab]*\u001e\n?$/);
  });
});
