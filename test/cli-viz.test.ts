import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { charnnAsync as charnn, hasStackTrace, readJson, tempDir } from './helpers/cli.js';
import { quotedText } from './helpers/texts.js';

let dir: string;
const CKPT = 'checkpoints/corpus/best.json';
/** The page viz writes without --out: beside the checkpoint. */
const PAGE = 'checkpoints/corpus/charnn-viz.html';

/** The data the page carries, parsed from its JSON block. */
function pageData(file: string): any {
  const html = fs.readFileSync(file, 'utf8');
  return JSON.parse(/<script type="application\/json" id="viz-data">(.*?)<\/script>/s.exec(html)![1]);
}

beforeAll(async () => {
  dir = tempDir('viz');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), quotedText(6000));
  fs.writeFileSync(path.join(dir, 'text.txt'), quotedText(700, 5));
  const r = await charnn(['train', 'corpus.txt', '--layers', '2', '--hidden', '16', '--seq-length', '16', '--batch-size', '8', '--max-iters', '60', '--eval-every', '30', '--lr', '0.01', '--threads', '1'], dir);
  expect(r.code, r.stderr).toBe(0);
}, 180_000);

/** Each test runs the real command, some several times: room for a busy machine. */
const ROOM = { timeout: 180_000 };

describe('charnn viz writes one self-contained HTML page', ROOM, () => {
  it('from a text file, with the newest best.json under ./checkpoints, to charnn-viz.html beside it; the path on stderr', async () => {
    const r = await charnn(['viz', 'text.txt'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/showing checkpoints\/corpus\/best\.json/);
    expect(r.stderr).toMatch(/wrote checkpoints\/corpus\/charnn-viz\.html \(.+ bytes\): 700 characters, \d+\.\d{3} bits\/char/);
    const html = fs.readFileSync(path.join(dir, PAGE), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    // Nothing is fetched: no external script, style, font or image.
    expect(html).not.toMatch(/<script[^>]+src=|<link|@import|url\(|https?:\/\//);
    const data = pageData(path.join(dir, PAGE));
    expect(data.text).toBe(fs.readFileSync(path.join(dir, 'text.txt'), 'utf8'));
    expect(data).toMatchObject({ model: '2×16 LSTM', corpus: 'corpus', iteration: 60, layers: 2, hiddenSize: 16, topK: 5, stateLabel: 'tanh(c)' });
    expect(data.detections.map((d: { feature: string }) => d.feature)).toEqual(
      ['quote', 'brackets', 'column', 'word', 'word-start', 'upper', 'digit', 'sentence-end', 'line-start']);
    const quote = data.detections[0];
    expect(quote.cells).toHaveLength(3);
    expect(Math.abs(quote.cells[0].r)).toBeGreaterThanOrEqual(Math.abs(quote.cells[1].r));
    expect(html).toMatch(/Surprise<\/h2>[\s\S]*Cells<\/h2>[\s\S]*Training<\/h2>/);
    expect(html).toMatch(/<svg[^>]*aria-label="loss curves"/);
  });

  it('the header names model, corpus, iteration, validation loss and bits/char on this text', async () => {
    const html = fs.readFileSync(path.join(dir, PAGE), 'utf8');
    const best = readJson(path.join(dir, CKPT)).training.bestValLoss;
    const data = pageData(path.join(dir, PAGE));
    expect(html).toContain('model <b>2×16 LSTM</b>');
    expect(html).toContain('corpus <b>corpus</b>');
    expect(html).toContain('iteration <b>60</b>');
    expect(html).toContain(`validation loss <b>${best.toFixed(4)} nats`);
    expect(html).toContain(`this text <b>${data.bitsPerChar.toFixed(3)} bits/char</b> over 700 characters (text.txt)`);
  });

  it('--checkpoint, --text and --out', async () => {
    const r = await charnn(['viz', '--checkpoint', 'checkpoints/corpus/latest.json', '--text', 'The "lamp" rings (here).', '--out', 'quote.html'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/showing/);
    expect(pageData(path.join(dir, 'quote.html')).text).toBe('The "lamp" rings (here).');
  });

  it('--sample n --temp t --seed s shows a fresh sample of n characters; the same seed gives the same one', async () => {
    const a = await charnn(['viz', '--sample', '300', '--temp', '0.7', '--seed', '4', '--out', 'a.html'], dir);
    const b = await charnn(['viz', '--sample', '300', '--temp', '0.7', '--seed', '4', '--out', 'b.html'], dir);
    const c = await charnn(['viz', '--sample', '300', '--temp', '1.5', '--seed', '4', '--out', 'c.html'], dir);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    const [ta, tb, tc] = ['a', 'b', 'c'].map((f) => pageData(path.join(dir, `${f}.html`)).text);
    expect([...ta]).toHaveLength(300);
    expect(tb).toBe(ta);
    expect(tc).not.toBe(ta);
    expect(fs.readFileSync(path.join(dir, 'a.html'), 'utf8')).toContain('a sample of 300 characters at temperature 0.7');
  });

  it('--cell opens the page on that cell; otherwise on the cell the detectors found strongest', async () => {
    expect((await charnn(['viz', 'text.txt', '--cell', '1:7', '--out', 'cell.html'], dir)).code).toBe(0);
    expect(pageData(path.join(dir, 'cell.html')).cell).toEqual({ layer: 1, cell: 7 });
    const data = pageData(path.join(dir, PAGE));
    const strongest = data.detections.flatMap((d: any) => d.cells).sort((a: any, b: any) => Math.abs(b.r) - Math.abs(a.r))[0];
    expect(data.cell).toMatchObject({ layer: strongest.layer, cell: strongest.cell });
  });

  it('characters the model does not know are counted, listed on stderr and skipped', async () => {
    const r = await charnn(['viz', '--text', 'a lamp€ ~~ rings', '--out', 'unknown.html'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: 3 character\(s\) of --text are not in the model's vocabulary and were skipped: "€" "~"/);
    expect(pageData(path.join(dir, 'unknown.html'))).toMatchObject({ text: 'a lamp  rings', unknownChars: 3 });
  });
});

describe('charnn viz --terminal', ROOM, () => {
  const text = 'The lamp "rings" (and the sea).\n' + 'e'.repeat(250) + '\n';

  it('without colour (NO_COLOR, or a pipe) prints a table: character, surprisal, top guesses', async () => {
    const r = await charnn(['viz', '--text', text, '--terminal'], dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^char +bits +next: top guesses$/);
    expect(lines).toHaveLength(1 + [...text].length);
    expect(lines[1]).toMatch(/^"T" +\d+\.\d\d +(".+" \d+\.\d%  ){4}".+" \d+\.\d%$/);
    expect(lines[32]).toMatch(/^"\\n" +\d+\.\d\d /);
    expect(fs.existsSync(path.join(dir, PAGE))).toBe(true); // (written by an earlier test; --terminal writes no page)
  });

  it('FORCE_COLOR colours the backgrounds in true colour, with a one-line legend, wrapped to the width', async () => {
    const r = await charnn(['viz', '--text', text, '--terminal'], dir, { FORCE_COLOR: '3' });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain(lines[0])).toMatch(/^surprise, bits:  0  2  4  6  8\+ {3}\d+\.\d{3} bits\/char over 283 characters$/);
    expect(lines[1]).toMatch(/\x1b\[48;2;\d+;\d+;\d+m/);
    expect(plain(lines[1])).toBe('The lamp "rings" (and the sea).↵');
    // 250 e's wrapped at 100 columns (stdout is not a terminal, so its width is unknown).
    expect(lines.slice(2).map((l) => plain(l).length)).toEqual([100, 100, 51]);
  });

  it('--cell colours by one cell, with its legend; the table gets its column', async () => {
    const coloured = await charnn(['viz', '--text', text, '--terminal', '--cell', '2:3'], dir, { FORCE_COLOR: '3' });
    expect(coloured.code, coloured.stderr).toBe(0);
    expect(coloured.stdout.split('\n')[0].replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/^layer 2 cell 3, tanh\(c\):  −1  −0\.5  0  \+0\.5  \+1 /);
    const table = await charnn(['viz', '--text', text, '--terminal', '--cell', '2:3'], dir);
    expect(table.stdout.split('\n')[0]).toMatch(/^char +bits +2:3 +next: top guesses$/);
    expect(table.stdout.split('\n')[1]).toMatch(/^"T" +\d+\.\d\d +-?[01]\.\d{3} +"/);
  });
});

describe('charnn viz refuses bad input with one line and exit 2', ROOM, () => {
  const refuse = async (args: string[], message: RegExp, cwd = dir) => {
    const r = await charnn(['viz', ...args], cwd);
    expect(r.code, r.stderr).toBe(2);
    // One line (besides the name of the checkpoint found when none is given, and commander's hint after an option it refused).
    expect(r.stderr.trim().split('\n').filter((l) => !/^(showing |\(run with --help)/.test(l))).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(hasStackTrace(r.stderr)).toBe(false);
  };

  it('no checkpoint', async () => refuse(['--text', 'abc'], /no checkpoint found under \.\/checkpoints; train one first/, tempDir('viz-empty')));
  it('a corrupt checkpoint', async () => {
    fs.writeFileSync(path.join(dir, 'corrupt.json'), fs.readFileSync(path.join(dir, CKPT), 'utf8').slice(0, 500));
    await refuse(['text.txt', '--checkpoint', 'corrupt.json', '--out', 'x.html'], /corrupt\.json: the checkpoint is truncated/);
  });
  it('an empty text', async () => {
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    await refuse(['empty.txt', '--out', 'x.html'], /empty\.txt is empty/);
    await refuse(['--text', '', '--out', 'x.html'], /the --text is empty/);
  });
  it('a text without a character the model knows', async () => await refuse(['--text', '€€', '--out', 'x.html'], /no characters the model knows/));
  it('an output path that cannot be written, checked before the work (even before reading the checkpoint)', async () => {
    await refuse(['text.txt', '--out', 'no/such/folder/page.html', '--checkpoint', 'corrupt.json'], /cannot write no\/such\/folder\/page\.html: the folder .* does not exist/);
    await refuse(['text.txt', '--out', 'checkpoints'], /--out checkpoints is a directory; give a file name/);
  });
  it('no text, or more than one', async () => {
    await refuse([], /nothing to show: give a text file, --text "…" or --sample <n>/);
    await refuse(['text.txt', '--text', 'abc'], /give one text to show/);
  });
  it('a --cell that is malformed or not in the model', async () => {
    await refuse(['text.txt', '--cell', '2'], /expected LAYER:CELL, e\.g\. 2:117/);
    await refuse(['text.txt', '--cell', '3:0', '--out', 'x.html'], /--cell 3:0 is not in this model: it has 2 layers \(1–2\) of 16 cells \(0–15\)/);
    await refuse(['text.txt', '--cell', '1:16', '--terminal'], /--cell 1:16 is not in this model/);
  });
});
