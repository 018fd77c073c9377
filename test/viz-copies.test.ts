import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript module of scripts/, shared with the screenshot script
import { chromiumMissing, closeChromium, launchChromium, openVizPage } from '../scripts/chromium.mjs';
import { charnn, tempDir } from './helpers/cli.js';

/** A text of twelve rotations of one sentence, which a small model learns by heart (as in cli-copies.test.ts). */
function poem(): string {
  const words = 'the keeper lit the lamp at dusk and the sea was grey and the wind came from the north east and the bell rang twice before the boat came in under the cliff where the gulls sleep'.split(' ');
  return Array.from({ length: 12 }, (_, i) => [...words.slice(i), ...words.slice(0, i)].join(' ') + '.\n').join('');
}

/** Whether each character of `text` lies in a span of 20 or more characters found in the poem: what viz should mark, found without the index. */
function copiedChars(text: string): boolean[] {
  const chars = [...text], source = poem();
  const copied = chars.map(() => false);
  for (let i = 0; i + 20 <= chars.length; i++) {
    if (source.includes(chars.slice(i, i + 20).join(''))) copied.fill(true, i, i + 20);
  }
  return copied;
}

/** The data the page carries, parsed from its JSON block. */
function pageData(html: string): any {
  return JSON.parse(/<script type="application\/json" id="viz-data">(.*?)<\/script>/s.exec(html)![1]);
}

const SAMPLE = ['viz', '--sample', '300', '--seed', '1', '--temp', '0.5'];
const NOTE = /note: copies of the training text are not marked: (.+); charnn index builds it\n/g;
let dir: string;

beforeAll(async () => {
  dir = tempDir('viz-copies');
  fs.writeFileSync(path.join(dir, 'poem.txt'), poem());
  const r = await charnn(['train', 'poem.txt', '--layers', '1', '--hidden', '64', '--seq-length', '32', '--batch-size', '4', '--max-iters', '400',
    '--lr', '0.01', '--eval-every', '100', '--val-frac', '0.05', '--threads', '1', '--sample-every', '2', '--seed', '1'], dir);
  expect(r.code, r.stderr).toBe(0);
  // The same run without its index.
  fs.mkdirSync(path.join(dir, 'bare'));
  fs.copyFileSync(path.join(dir, 'checkpoints/poem/best.json'), path.join(dir, 'bare/best.json'));
}, 180_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ROOM = { timeout: 180_000 };

describe('charnn viz marks the spans of its samples copied from the training text', ROOM, () => {
  it('in the terminal without colour: a copy column, then the copied spans with file and line; exactly the copied characters marked', async () => {
    const r = await charnn([...SAMPLE, '--terminal'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(NOTE);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^char +bits +copy +next: top guesses$/);
    const rows = lines.slice(1, 301).map((l) => /^("(?:[^"\\]|\\.)*") +\d+\.\d\d +(\[\d+\])? +"/.exec(l)!);
    const text = rows.map((m) => JSON.parse(m[1])).join('');
    expect(rows.map((m) => m[2] !== undefined)).toEqual(copiedChars(text));
    expect(lines[301]).toBe('copied from the training text (spans of 20 or more characters found verbatim):');
    const spans = lines.slice(302).map((l) => /^ {2}\[(\d+)\] characters (\d+)–(\d+) \((\d+)\): ".+" from poem\.txt:(\d+)$/.exec(l)!);
    expect(spans.length).toBeGreaterThan(0);
    for (const [, k, from, to, length, line] of spans) {
      const span = text.slice(Number(from) - 1, Number(to));
      expect(span.length).toBe(Number(length));
      expect(span.length).toBeGreaterThanOrEqual(20);
      expect(poem().split('\n').slice(Number(line) - 1).join('\n')).toContain(span); // found from the line given on
      expect(rows[Number(to) - 1][2]).toBe(`[${k}]`); // (its first characters may be in the span before it, which they are marked with)
    }
  });

  it('in colour: copied characters underlined, the legend says so, the spans listed after the text', async () => {
    const r = await charnn([...SAMPLE, '--terminal'], dir, { FORCE_COLOR: '3' });
    expect(r.code, r.stderr).toBe(0);
    const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain.split('\n')[0]).toMatch(/ underlined: copied$/);
    expect(r.stdout).toMatch(/\x1b\[4m\x1b\[48;2;\d+;\d+;\d+m/); // underline, then the background
    expect(plain).toMatch(/^ {2}\[1\] characters \d+–\d+ \(\d+\): ".+" from poem\.txt:\d+$/m);
  });

  it('on the page: the sample\'s copied spans in its data with their source, a legend, and the training samples\' copies in <mark> with a title', async () => {
    const r = await charnn([...SAMPLE, '--out', 'page.html'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(NOTE);
    const html = fs.readFileSync(path.join(dir, 'page.html'), 'utf8');
    const data = pageData(html);
    const chars = [...data.text];
    const marked = chars.map(() => false);
    expect(data.copies.length).toBeGreaterThan(0);
    for (const { at, length, from } of data.copies) {
      expect(from).toMatch(/^poem\.txt:\d+$/);
      marked.fill(true, at, at + length);
    }
    expect(marked).toEqual(copiedChars(data.text));
    expect(html).toMatch(/<p class="help copy-legend"><span class="copy-key">Underlined<\/span>: copied, a span of 20 or more characters found verbatim in the training text \(\d+ spans?\)\./);
    const marks = [...html.matchAll(/<mark class="copy" title="copied: (\d+) characters verbatim from poem\.txt:\d+">([^<]*)<\/mark>/g)];
    expect(marks.length).toBeGreaterThan(0);
    for (const m of marks) expect(poem()).toContain(m[2].replace(/&#39;/g, "'"));
  });

  it('without the run\'s index, viz still works and says once that copies are not marked', async () => {
    const terminal = await charnn([...SAMPLE, '--terminal', '--checkpoint', 'bare/best.json'], dir);
    expect(terminal.code, terminal.stderr).toBe(0);
    expect([...terminal.stderr.matchAll(NOTE)].map((m) => m[1])).toEqual(['bare/corpus.index is missing']);
    expect(terminal.stdout.split('\n')[0]).toMatch(/^char +bits +next: top guesses$/);
    expect(terminal.stdout).not.toMatch(/copied from the training text/);
    fs.writeFileSync(path.join(dir, 'bare/corpus.index'), 'not an index');
    const page = await charnn([...SAMPLE, '--out', 'bare.html', '--checkpoint', 'bare/best.json'], dir);
    expect(page.code, page.stderr).toBe(0);
    expect([...page.stderr.matchAll(NOTE)]).toHaveLength(1);
    const html = fs.readFileSync(path.join(dir, 'bare.html'), 'utf8');
    expect(pageData(html).copies).toBeNull();
    expect(html).not.toMatch(/copy-legend|<mark/);
    // A text given (not a sample) is not looked at for copies: no note.
    const text = await charnn(['viz', '--text', 'the keeper lit the lamp', '--terminal', '--checkpoint', 'bare/best.json'], dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).not.toMatch(NOTE);
  });
});

const missing: string | null = chromiumMissing();

describe.skipIf(missing !== null)('the copy marks in a real browser (Chromium)', ROOM, () => {
  let browser: Browser;
  afterAll(async () => {
    if (browser) await closeChromium(browser);
  });

  it('underlines the copied characters, and hovering one names where it comes from', async () => {
    expect((await charnn([...SAMPLE, '--out', 'shown.html'], dir)).code).toBe(0);
    const data = pageData(fs.readFileSync(path.join(dir, 'shown.html'), 'utf8'));
    browser = await launchChromium();
    const { page, errors } = await openVizPage(browser, path.join(dir, 'shown.html'));
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
    expect(errors).toEqual([]);
    const underlined = await page.$$eval('#surprise-text span[data-i]', (spans) => spans.map((s) => getComputedStyle(s).textDecorationLine === 'underline'));
    expect(underlined).toEqual(copiedChars(data.text));
    const first = data.copies[0];
    await page.hover(`#surprise-text span[data-i="${first.at}"]`);
    expect(await page.$eval('#tip .tip-copy', (el) => el.textContent)).toBe(`copied: ${first.length} characters verbatim from ${first.from}`);
  });
});
